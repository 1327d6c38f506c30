import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.js';
import { dropTestStore, openTestStore } from '../support/store.js';

let store: Store;
beforeAll(async () => {
  store = await openTestStore();
});
afterAll(() => dropTestStore(store));

// Deliveries written by earlier versions (ingest now dedupes on the task's derived _id) are purged.
describe('delivery records from earlier versions', () => {
  it('purges deliveries older than the cut-off and keeps newer ones', async () => {
    await store.models.Delivery.create({
      platform: 'github',
      key: 'old-1',
      receivedAt: new Date(Date.now() - 96 * 3600_000),
    });
    await store.models.Delivery.create({ platform: 'github', key: 'new-1' });
    const purged = await store.purgeDeliveries(new Date(Date.now() - 72 * 3600_000));
    expect(purged).toBe(1);
    expect(await store.models.Delivery.find({}).distinct('key')).toEqual(['new-1']);
  });
});
