import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.js';
import { dropTestStore, openTestStore } from '../support/store.js';

let store: Store;
beforeAll(async () => {
  store = await openTestStore();
});
afterAll(() => dropTestStore(store));

describe('delivery dedupe on the real server', () => {
  it('reports a repeated delivery key as a duplicate and stores it once', async () => {
    expect(await store.recordDelivery('slack', 'Ev123')).toEqual({ duplicate: false });
    expect(await store.recordDelivery('slack', 'Ev123')).toEqual({ duplicate: true });
    expect(await store.models.Delivery.countDocuments({ platform: 'slack', key: 'Ev123' })).toBe(1);
  });

  it('treats the same key on another platform as a different delivery', async () => {
    expect(await store.recordDelivery('github', 'Ev123')).toEqual({ duplicate: false });
  });

  it('lets exactly one of many concurrent identical deliveries through', async () => {
    const outcomes = await Promise.all(
      Array.from({ length: 25 }, () => store.recordDelivery('discord', 'burst-1')),
    );
    expect(outcomes.filter((o) => !o.duplicate)).toHaveLength(1);
  });

  it('purges deliveries older than the cut-off and keeps newer ones', async () => {
    await store.models.Delivery.create({
      platform: 'github',
      key: 'old-1',
      receivedAt: new Date(Date.now() - 96 * 3600_000),
    });
    await store.recordDelivery('github', 'new-1');
    const purged = await store.purgeDeliveries(new Date(Date.now() - 72 * 3600_000));
    expect(purged).toBe(1);
    expect(await store.recordDelivery('github', 'old-1')).toEqual({ duplicate: false });
    expect(await store.recordDelivery('github', 'new-1')).toEqual({ duplicate: true });
  });

  it('refuses an empty delivery key with a readable error', async () => {
    await expect(store.recordDelivery('slack', '')).rejects.toMatchObject({
      code: 'STORE_VALIDATION',
      userMessage: expect.stringContaining('key'),
    });
  });
});
