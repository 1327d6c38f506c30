import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipeline } from '../../src/bots/index.js';
import type { NormalizedEvent } from '../../src/core/index.js';
import type { Store } from '../../src/store/index.js';
import { dropTestStore, openTestStore } from '../support/store.js';

function slackEvent(key: string, text = 'status'): NormalizedEvent {
  return {
    platform: 'slack',
    workspaceId: 'T1',
    channelId: 'C1',
    threadId: '1.1',
    userId: 'U1',
    text,
    mentions: [],
    deliveryKey: key,
    eventType: 'app_mention',
    replyTo: {},
    receivedAt: new Date().toISOString(),
  };
}

describe('ingest pipeline (group commit)', () => {
  let store: Store;
  beforeAll(async () => {
    store = await openTestStore();
  });
  afterAll(async () => {
    await dropTestStore(store);
  });

  it('makes exactly one task per event from a burst of concurrent deliveries and redeliveries', async () => {
    const pipeline = createPipeline(store);
    const keys = Array.from({ length: 50 }, (_, i) => `burst-${i}`);
    // Each event arrives four times at once, interleaved, as platform retries would.
    const results = await Promise.all(
      [...keys, ...keys, ...keys, ...keys].map((key) => pipeline.ingest(slackEvent(key))),
    );
    expect(results.filter((r) => !r.duplicate)).toHaveLength(50);
    const tasks = await store.models.Task.find({ 'source.eventId': /^burst-/ }).lean();
    expect(tasks).toHaveLength(50);
    expect(new Set(tasks.map((t) => t.source.eventId)).size).toBe(50);
    // Every copy of an event is answered with the same task.
    for (const key of keys) {
      const ids = new Set(results.filter((_, i) => i % 50 === keys.indexOf(key)).map((r) => r.taskId));
      expect(ids.size).toBe(1);
    }
  });

  it('answers a redelivery of an event whose task is done with that task, and starts nothing', async () => {
    const pipeline = createPipeline(store);
    const event = slackEvent('done-then-redelivered');
    const first = await pipeline.ingest(event);
    await store.models.Task.updateOne({ _id: first.taskId }, { $set: { status: 'succeeded' } });
    const retry = await pipeline.ingest(event);
    expect(retry).toEqual({ duplicate: true, taskId: first.taskId });
    expect(await store.getTask(retry.taskId)).toMatchObject({ status: 'succeeded' });
    expect(await store.models.Task.countDocuments({ 'source.eventId': event.deliveryKey })).toBe(1);
  });

  it('refuses only the malformed event of a batch and keeps the others', async () => {
    const pipeline = createPipeline(store);
    const bad = { ...slackEvent('x'), deliveryKey: '' }; // the store refuses an empty key
    const outcomes = await Promise.allSettled([
      pipeline.ingest(slackEvent('good-1')),
      pipeline.ingest(bad),
      pipeline.ingest(slackEvent('good-2')),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(await store.models.Task.countDocuments({ 'source.eventId': /^good-/ })).toBe(2);
    expect(await store.models.Task.countDocuments({ 'source.eventId': '' })).toBe(0);
  });
});
