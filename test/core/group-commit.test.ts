/**
 * Group commit as the ingest path relies on it: items that arrive together share one write, each
 * caller gets its own item's verdict, and one write that never settles cannot stall later items.
 */
import { describe, expect, it } from 'vitest';
import { createGroupCommit, type ItemResult } from '../../src/core/index.js';

describe('group commit', () => {
  it('writes items that arrive together in one batch and gives each caller its own verdict', async () => {
    const batches: number[][] = [];
    const commits = createGroupCommit(async (items: number[]): Promise<ItemResult<string>[]> => {
      batches.push(items);
      return items.map((n) =>
        n % 2 ? { ok: true, value: `wrote ${n}` } : { ok: false, error: new Error(`${n} is even`) },
      );
    });
    const outcomes = await Promise.allSettled([1, 2, 3].map((n) => commits.submit(n)));
    expect(batches).toEqual([[1, 2, 3]]);
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message))).toEqual([
      'wrote 1',
      '2 is even',
      'wrote 3',
    ]);
  });

  it('fails the items of a write that never settles and goes on writing later items', async () => {
    let calls = 0;
    const commits = createGroupCommit(
      (items: string[]): Promise<ItemResult<string>[]> => {
        calls++;
        // The first write hangs for good, like a request on a connection that died mid-reply.
        if (calls === 1) return new Promise(() => undefined);
        return Promise.resolve(items.map((item) => ({ ok: true as const, value: item })));
      },
      { writeTimeoutMs: 50 },
    );
    const stuck = commits.submit('first');
    await expect(stuck).rejects.toThrow(/did not settle within 50 ms/);
    await expect(commits.submit('second')).resolves.toBe('second');
    await commits.drain();
  });

  it('with a linger, writes items that arrive a few milliseconds apart together', async () => {
    const batches: number[][] = [];
    const commits = createGroupCommit(
      async (items: number[]): Promise<ItemResult<number>[]> => {
        batches.push(items);
        return items.map((n) => ({ ok: true, value: n }));
      },
      { lingerMs: 40 },
    );
    const first = commits.submit(1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = commits.submit(2);
    expect(await Promise.all([first, second])).toEqual([1, 2]);
    expect(batches).toEqual([[1, 2]]);
  });
});
