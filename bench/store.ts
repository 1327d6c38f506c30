/**
 * Store benchmark: 4 concurrent claimers draining queued tasks (optionally next to BENCH_HISTORY
 * finished ones), and the ingest dedupe's latency (task inserts under ids derived from delivery keys)
 * with repeats mixed in, against the real server
 * (FerretDB unless MONGODB_URI is set).
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { openStore } from '../src/store/index.js';
import { ensureServices, percentile, round } from './services.js';

export async function benchStore(): Promise<Record<string, unknown>> {
  ensureServices('mongo');
  const url = new URL(process.env.MONGODB_URI ?? '');
  url.pathname = `/bench_${randomBytes(4).toString('hex')}`;
  const store = await openStore({ uri: url.toString() });
  try {
    const { server } = await store.ping();
    const tasks = Number(process.env.BENCH_TASKS ?? 400);
    const source = { platform: 'terminal' as const, channelId: 'bench' };
    // Finished tasks kept from before (BENCH_HISTORY): a claim should not slow down as they pile up.
    const history = Number(process.env.BENCH_HISTORY ?? 0);
    for (let done = 0; done < history; done += 500) {
      const finishedAt = new Date();
      await store.models.Task.insertMany(
        Array.from({ length: Math.min(500, history - done) }, (_, i) => ({
          kind: 'bench',
          source,
          payload: { old: done + i },
          status: 'succeeded',
          attempts: 1,
          finishedAt,
        })),
      );
    }
    const ids = new Set<string>();
    for (let i = 0; i < tasks; i++)
      ids.add((await store.enqueueTask({ kind: 'bench', source, payload: { i } })).id);

    const seen = new Map<string, number>();
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 4 }, async (_, w) => {
        for (;;) {
          const task = await store.claimNextTask(`bench-${w}`, 60_000, ['bench']);
          if (!task) return;
          seen.set(task.id, (seen.get(task.id) ?? 0) + 1);
          await store.completeTask(task.id, `bench-${w}`);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const duplicates = [...seen.values()].filter((n) => n > 1).length;
    const lost = [...ids].filter((id) => !seen.has(id)).length;

    const latencies: number[] = [];
    let dupesReported = 0;
    const deliveries = Number(process.env.BENCH_DELIVERIES ?? 500);
    for (let i = 0; i < deliveries; i++) {
      const key = i % 5 === 4 ? `ev-${i - 1}` : `ev-${i}`; // every fifth delivery is a retry
      const t0 = performance.now();
      // The ingest dedupe: the task's _id derives from the delivery key, a retry's insert conflicts.
      const [verdict] = await store.enqueueTasks([
        {
          id: store.taskIdForDelivery('slack', key),
          kind: 'bench-dedupe',
          source: { platform: 'slack', eventId: key },
        },
      ]);
      latencies.push(performance.now() - t0);
      if (verdict === 'conflict') dupesReported++;
    }
    console.log(
      `server: ${server}; ${tasks} tasks claimed+completed in ${round(seconds)} s; ${dupesReported} retries deduped`,
    );
    return {
      bench: 'store',
      history,
      claims_per_s: round(tasks / seconds, 1),
      dedupe_p50_ms: round(percentile(latencies, 50)),
      dedupe_p99_ms: round(percentile(latencies, 99)),
      duplicates,
      lost,
    };
  } finally {
    await store.dropDatabase().catch(() => undefined);
    await store.close();
  }
}
