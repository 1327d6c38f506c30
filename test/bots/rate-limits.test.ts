/**
 * What people see when they send more than Deckhand accepts: one "Slow down" reply per person per
 * window, however many events follow (on one process or on replicas sharing Redis), while everyone
 * else is still answered; and Discord DMs, which belong to no server, are limited per person.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventHandler } from '../../src/bots/index.js';
import {
  createRateLimits,
  MemorySink,
  type NormalizedEvent,
  type RateLimitSettings,
} from '../../src/core/index.js';
import type { Store } from '../../src/store/index.js';
import { dropTestStore, openTestStore } from '../support/store.js';

let store: Store;
let redis: Redis;
beforeAll(async () => {
  const url = process.env.REDIS_URL;
  if (!url) throw new Error('REDIS_URL is not set: run with the services (scripts/services.sh).');
  redis = new Redis(url, { maxRetriesPerRequest: 2 });
  store = await openTestStore();
});
afterAll(async () => {
  await redis?.quit();
  await dropTestStore(store);
});

/** Ids no earlier run used: Redis keeps its counts between runs. */
const fresh = (name: string) => `${name}-${randomBytes(4).toString('hex')}`;

let delivery = 0;
function event(fields: Pick<NormalizedEvent, 'platform' | 'workspaceId' | 'userId'>): NormalizedEvent {
  delivery += 1;
  return {
    ...fields,
    channelId: 'C1',
    threadId: `t-${delivery}`,
    text: 'help',
    mentions: [],
    deliveryKey: `rate-${delivery}-${randomBytes(3).toString('hex')}`,
    eventType: 'app_mention',
    replyTo: {},
    receivedAt: new Date().toISOString(),
  };
}

/** A replica: the command router with its own rate limits; every reply lands in its sender's sink. */
function replica(settings: RateLimitSettings, shared?: Redis) {
  const sinks = new Map<string, MemorySink>();
  const sinkOf = (userId: string): MemorySink => {
    const sink = sinks.get(userId) ?? new MemorySink();
    sinks.set(userId, sink);
    return sink;
  };
  const handle = createEventHandler({
    store,
    sinkFor: (e) => sinkOf(e.userId),
    rateLimits: createRateLimits(settings, shared),
  });
  return {
    sinkOf,
    async send(e: NormalizedEvent) {
      const task = await store.enqueueTask({
        kind: 'event',
        source: { platform: e.platform, channelId: e.channelId },
        payload: e,
      });
      return handle(task, { signal: new AbortController().signal, workerId: 'test' });
    },
  };
}

const slowDowns = (...sinks: MemorySink[]) =>
  sinks.flatMap((s) => s.messages).filter((m) => m.startsWith('Slow down'));
const answers = (sink: MemorySink) => sink.messages.filter((m) => !m.startsWith('Slow down'));

describe('a person who floods Deckhand', () => {
  it('gets exactly one "Slow down" reply for 20 events over the limit, and someone else is still answered', async () => {
    const deckhand = replica({ userPerMinute: 3, workspacePerMinute: 100 });
    const [flooder, other] = [fresh('U-flood'), fresh('U-other')];
    for (let i = 0; i < 23; i++)
      await deckhand.send(event({ platform: 'slack', workspaceId: 'T1', userId: flooder }));

    expect(answers(deckhand.sinkOf(flooder))).toHaveLength(3);
    expect(slowDowns(deckhand.sinkOf(flooder))).toEqual([
      expect.stringMatching(
        /^Slow down: you are sending more than I accept per minute\. Try again in \d+ s\.$/,
      ),
    ]);

    await deckhand.send(event({ platform: 'slack', workspaceId: 'T1', userId: other }));
    expect(answers(deckhand.sinkOf(other))).toHaveLength(1);
    expect(slowDowns(deckhand.sinkOf(other))).toEqual([]);
  });

  it('gets exactly one "Slow down" reply when two replicas share Redis', async () => {
    const settings = { userPerMinute: 3, workspacePerMinute: 100 };
    const [a, b] = [replica(settings, redis), replica(settings, redis)];
    const [flooder, other, workspace] = [fresh('U-flood'), fresh('U-other'), fresh('T')];
    const results: unknown[] = [];
    for (let i = 0; i < 23; i++) {
      results.push(
        await (i % 2 ? b : a).send(event({ platform: 'slack', workspaceId: workspace, userId: flooder })),
      );
    }

    expect(answers(a.sinkOf(flooder)).length + answers(b.sinkOf(flooder)).length).toBe(3);
    expect(slowDowns(a.sinkOf(flooder), b.sinkOf(flooder))).toHaveLength(1);
    // Every refusal is still recorded as one, told or not.
    expect(results.filter((r) => (r as { limited?: string }).limited === 'user')).toHaveLength(20);

    await b.send(event({ platform: 'slack', workspaceId: workspace, userId: other }));
    expect(answers(b.sinkOf(other))).toHaveLength(1);
  });
});

describe('Discord direct messages', () => {
  it('give each DM user their own budget instead of one shared by every DM', async () => {
    const deckhand = replica({ userPerMinute: 100, workspacePerMinute: 3 }, redis);
    const [alice, bob] = [fresh('111'), fresh('222')];
    for (let i = 0; i < 5; i++)
      await deckhand.send(event({ platform: 'discord', workspaceId: 'dm', userId: alice }));
    for (let i = 0; i < 3; i++)
      await deckhand.send(event({ platform: 'discord', workspaceId: 'dm', userId: bob }));

    expect(answers(deckhand.sinkOf(alice))).toHaveLength(3);
    expect(slowDowns(deckhand.sinkOf(alice))).toHaveLength(1);
    expect(answers(deckhand.sinkOf(bob))).toHaveLength(3);
    expect(slowDowns(deckhand.sinkOf(bob))).toEqual([]);
  });

  it('still share the server budget with everyone in the same server', async () => {
    const deckhand = replica({ userPerMinute: 100, workspacePerMinute: 3 }, redis);
    const [alice, bob, guild] = [fresh('111'), fresh('222'), fresh('G')];
    for (let i = 0; i < 3; i++)
      await deckhand.send(event({ platform: 'discord', workspaceId: guild, userId: alice }));
    await deckhand.send(event({ platform: 'discord', workspaceId: guild, userId: bob }));

    expect(slowDowns(deckhand.sinkOf(bob))).toEqual([
      expect.stringMatching(/^Slow down: this workspace is sending more than I accept per minute\./),
    ]);
  });
});
