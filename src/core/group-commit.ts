/**
 * Group commit: callers submit one item each and wait for its own result, while the writes go to the
 * server in batches. No timer decides a batch: the first item is written at once (after the current
 * turn of the event loop, so items arriving together travel together), and whatever arrives while a
 * write is in flight goes in the next one. Light load costs one round trip; heavy load makes batches
 * bigger instead of making a queue of round trips. Every caller still waits for its own durable
 * write, so an ack sent after `submit` resolves is as safe as one sent after a single insert.
 */
export type ItemResult<O> = { ok: true; value: O } | { ok: false; error: unknown };

export interface GroupCommit<I, O> {
  submit(item: I): Promise<O>;
  /** Resolves once everything submitted so far is written. */
  drain(): Promise<void>;
}

export function createGroupCommit<I, O>(
  write: (items: I[]) => Promise<ItemResult<O>[]>,
  options: { maxBatch?: number; maxInFlight?: number; writeTimeoutMs?: number; lingerMs?: number } = {},
): GroupCommit<I, O> {
  const maxBatch = options.maxBatch ?? 256;
  const maxInFlight = options.maxInFlight ?? 1;
  // For writes nobody waits on (queue entries after the ack): waiting a few ms for more items makes
  // fewer, bigger writes, and each write costs the server far more than each document in it.
  const lingerMs = options.lingerMs ?? 0;
  // One write that never settles (a connection lost mid-reply) would hold the only slot and stall
  // every later item for good. Past this, its items fail (not acked, so the platform retries and
  // the unique keys dedupe whatever did land) and the slot moves on.
  const writeTimeoutMs = options.writeTimeoutMs ?? 10_000;
  type Waiting = { item: I; resolve: (value: O) => void; reject: (error: unknown) => void };
  let pending: Waiting[] = [];
  let inFlight = 0;
  let scheduled = false;
  const idle: (() => void)[] = [];

  function schedule(): void {
    if (scheduled || inFlight >= maxInFlight || pending.length === 0) return;
    scheduled = true;
    const go = () => {
      scheduled = false;
      void flush();
    };
    if (lingerMs > 0 && pending.length < maxBatch) setTimeout(go, lingerMs);
    else setImmediate(go);
  }

  async function flush(): Promise<void> {
    if (inFlight >= maxInFlight || pending.length === 0) return;
    const batch = pending.slice(0, maxBatch);
    pending = pending.slice(batch.length);
    inFlight++;
    let timer: NodeJS.Timeout | undefined;
    try {
      const timedOut = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(
          () => reject(new Error(`group commit: the write did not settle within ${writeTimeoutMs} ms`)),
          writeTimeoutMs,
        );
      });
      const results = await Promise.race([write(batch.map((w) => w.item)), timedOut]);
      batch.forEach((waiting, i) => {
        const result = results[i];
        if (!result) waiting.reject(new Error('group commit: the writer returned no result for an item'));
        else if (result.ok) waiting.resolve(result.value);
        else waiting.reject(result.error);
      });
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
    } finally {
      clearTimeout(timer);
      inFlight--;
      if (pending.length > 0) schedule();
      else if (inFlight === 0) for (const done of idle.splice(0)) done();
    }
  }

  return {
    submit(item: I): Promise<O> {
      return new Promise<O>((resolve, reject) => {
        pending.push({ item, resolve, reject });
        schedule();
      });
    },
    drain(): Promise<void> {
      if (pending.length === 0 && inFlight === 0) return Promise.resolve();
      return new Promise((resolve) => idle.push(resolve));
    },
  };
}
