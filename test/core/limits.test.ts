/**
 * The rate limits' decisions: a refused person is told once per window (on every replica together
 * when Redis holds the counts), and a direct message outside any workspace is counted in the
 * person's own bucket, not in one bucket shared by every DM.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRateLimits, type RateDecision, rateLimitKeys } from '../../src/core/index.js';

let redis: Redis;
beforeAll(() => {
  const url = process.env.REDIS_URL;
  if (!url) throw new Error('REDIS_URL is not set: run with the services (scripts/services.sh).');
  redis = new Redis(url, { maxRetriesPerRequest: 2 });
});
afterAll(async () => {
  await redis?.quit();
});
afterEach(() => {
  vi.useRealTimers();
});

/** A key no earlier run has used: Redis outlives the test. */
const fresh = (name: string) => `test:${name}-${randomBytes(4).toString('hex')}`;

const refusals = (decisions: RateDecision[]) => decisions.filter((d) => !d.ok);
const notices = (decisions: RateDecision[]) => decisions.filter((d) => !d.ok && d.notify);

describe('a person over their limit', () => {
  it('is refused every time over the limit but told only on the first refusal (in memory)', async () => {
    const limits = createRateLimits({ userPerMinute: 3, workspacePerMinute: 100 });
    const user = fresh('u');
    const decisions: RateDecision[] = [];
    for (let i = 0; i < 20; i++) decisions.push(await limits.consume(user, fresh('ws')));
    expect(decisions.slice(0, 3).every((d) => d.ok)).toBe(true);
    expect(refusals(decisions)).toHaveLength(17);
    expect(notices(decisions)).toHaveLength(1);
    expect(decisions[3]).toMatchObject({ ok: false, scope: 'user', notify: true });
  });

  it('is told again in the next window, once', async () => {
    vi.useFakeTimers();
    const limits = createRateLimits({ userPerMinute: 1, workspacePerMinute: 100 });
    const user = fresh('u');
    const burst = async () => {
      const decisions: RateDecision[] = [];
      for (let i = 0; i < 5; i++) decisions.push(await limits.consume(user, 'ws'));
      return decisions;
    };
    expect(notices(await burst())).toHaveLength(1);
    vi.advanceTimersByTime(61_000);
    const next = await burst();
    expect(next[0]).toEqual({ ok: true });
    expect(notices(next)).toHaveLength(1);
  });

  it('is told once across two replicas sharing Redis', async () => {
    const replicaA = createRateLimits({ userPerMinute: 3, workspacePerMinute: 100 }, redis);
    const replicaB = createRateLimits({ userPerMinute: 3, workspacePerMinute: 100 }, redis);
    const user = fresh('u');
    const workspace = fresh('ws');
    const decisions: RateDecision[] = [];
    for (let i = 0; i < 20; i++) {
      decisions.push(await (i % 2 === 0 ? replicaA : replicaB).consume(user, workspace));
    }
    expect(decisions.filter((d) => d.ok)).toHaveLength(3);
    expect(notices(decisions)).toHaveLength(1);
    // The notice lapses with the refusing window, so the next window's first refusal is told again.
    const ttlMs = await redis.pttl(`deckhand:rl:notice:${user}`);
    expect(ttlMs).toBeGreaterThan(0);
    expect(ttlMs).toBeLessThanOrEqual(60_000);
  });

  it('does not silence another person', async () => {
    const limits = createRateLimits({ userPerMinute: 2, workspacePerMinute: 100 }, redis);
    const [flooder, other, workspace] = [fresh('u'), fresh('u'), fresh('ws')];
    for (let i = 0; i < 10; i++) await limits.consume(flooder, workspace);
    expect(await limits.consume(other, workspace)).toEqual({ ok: true });
    expect(await limits.consume(other, workspace)).toEqual({ ok: true });
    expect(await limits.consume(other, workspace)).toMatchObject({ ok: false, scope: 'user', notify: true });
  });

  it('tells each person refused by a full workspace once', async () => {
    const limits = createRateLimits({ userPerMinute: 100, workspacePerMinute: 2 });
    const [a, b, workspace] = [fresh('u'), fresh('u'), fresh('ws')];
    const decisions: RateDecision[] = [];
    for (let i = 0; i < 6; i++) decisions.push(await limits.consume(i % 2 === 0 ? a : b, workspace));
    expect(refusals(decisions).every((d) => !d.ok && d.scope === 'workspace')).toBe(true);
    expect(notices(decisions)).toHaveLength(2);
  });
});

describe('the buckets of an event', () => {
  it('a Discord DM (no guild) is counted in the person’s own workspace bucket', () => {
    expect(rateLimitKeys({ platform: 'discord', workspaceId: 'dm', userId: '111' })).toEqual({
      userKey: 'discord:111',
      workspaceKey: 'discord:dm:111',
    });
  });

  it('a message in a server or workspace is counted in that workspace’s bucket', () => {
    expect(rateLimitKeys({ platform: 'discord', workspaceId: 'G1', userId: '111' }).workspaceKey).toBe(
      'discord:G1',
    );
    expect(rateLimitKeys({ platform: 'slack', workspaceId: 'T1', userId: 'U1' })).toEqual({
      userKey: 'slack:U1',
      workspaceKey: 'slack:T1',
    });
  });

  it('two DM users each get their own budget', async () => {
    const limits = createRateLimits({ userPerMinute: 100, workspacePerMinute: 2 }, redis);
    const [alice, bob] = [fresh('alice'), fresh('bob')];
    const take = (userId: string) => {
      const keys = rateLimitKeys({ platform: 'discord', workspaceId: 'dm', userId });
      return limits.consume(keys.userKey, keys.workspaceKey);
    };
    expect([await take(alice), await take(alice)]).toEqual([{ ok: true }, { ok: true }]);
    expect(await take(alice)).toMatchObject({ ok: false, scope: 'workspace' });
    expect([await take(bob), await take(bob)]).toEqual([{ ok: true }, { ok: true }]);
  });
});
