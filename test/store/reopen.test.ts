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
    // The driver's client goes away and does not come back by itself, and mongoose sees the server
    // as Unknown (what the stuck driver in npm run test:faults reported for minutes).
    const connection = store.models.Task.db;
    await connection.getClient().close();
    (connection as { readyState: number }).readyState = 0;
    await expect(store.getTask(before.id)).rejects.toThrow();

    for (let i = 0; i < 50 && !outcomes.includes('reopened'); i++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(outcomes).toContain('reopened');
    expect((await store.getTask(before.id))?.id).toBe(before.id);
    // Code holding the native database (Agenda's backend) works again too.
    expect(await store.db.collection('tasks').countDocuments()).toBe(1);
    expect(connection.readyState).toBe(1); // connected again: no further reopens
  });
});
