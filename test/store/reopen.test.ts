/**
 * A connection that stays disconnected is reopened by the store itself, so a process whose driver
 * never reconnected after a database restart does not fail every operation until someone restarts it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.js';
import { dropTestStore, openTestStore } from '../support/store.js';

let store: Store | undefined;

afterAll(async () => {
  await dropTestStore(store);
});

describe('store connection', () => {
  it('reopens a connection that has stayed disconnected, and operations work again', async () => {
    const outcomes: string[] = [];
    store = await openTestStore({
      reopenAfterMs: 300,
      onReopen: (outcome) => outcomes.push(outcome === 'reopened' ? outcome : outcome.message),
    });
    const before = await store.enqueueTask({ kind: 'event', source: { platform: 'terminal' } });
    // The underlying connection goes away and does not come back by itself.
    await store.models.Task.db.close();
    await expect(store.getTask(before.id)).rejects.toThrow();

    for (let i = 0; i < 50 && !outcomes.includes('reopened'); i++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(outcomes).toContain('reopened');
    expect((await store.getTask(before.id))?.id).toBe(before.id);
  });
});
