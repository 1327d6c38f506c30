/**
 * Sandbox benchmark on the real engine and image: `print(1)` in python.
 *   warm: a started container waits in the pool (the common case for a bot answering in chat)
 *   cold: the run creates and starts its own container (pool empty or disabled)
 *   runs_per_s: two callers back to back with a pool of 2, so container churn (create, start,
 *   remove) is included; this is what the engine sustains, not the latency of one run.
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createLogger } from '../src/core/index.js';
import { createDockerClient, createSandboxRunner, type SandboxLimits } from '../src/runners/index.js';
import { ensureServices, percentile, round } from './services.js';

const LIMITS: SandboxLimits = {
  cpus: 1,
  memoryMb: 256,
  pids: 128,
  timeoutSeconds: 30,
  outputLimitBytes: 65_536,
  tmpfsMb: 32,
};
const pause = (ms: number) => new Promise((done) => setTimeout(done, ms));

export async function benchSandbox(): Promise<Record<string, unknown>> {
  ensureServices('docker');
  execFileSync('bash', [resolve(import.meta.dirname, '../scripts/sandbox-image.sh')], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const docker = createDockerClient();
  const logger = createLogger({ level: 'warn', pretty: false });
  const runnerWith = (warmPool: number) =>
    createSandboxRunner({ docker, image: 'deckhand-sandbox:latest', limits: LIMITS, warmPool, logger });
  const code = 'print(1)';
  const runs = Number(process.env.BENCH_RUNS ?? 30);

  const check = (stdout: string) => {
    if (stdout !== '1\n') throw new Error(`unexpected sandbox output ${JSON.stringify(stdout)}`);
  };

  const warm: number[] = [];
  const warmRunner = runnerWith(1);
  try {
    await warmRunner.start();
    for (let i = 0; i < runs; i++) {
      if (!(await warmRunner.waitWarm(1, 30_000))) throw new Error('the warm pool did not fill');
      await pause(150); // let the previous container's removal finish: measure the run, not the churn
      const result = await warmRunner.run({ lang: 'python', code });
      check(result.stdout);
      warm.push(result.durationMs);
    }
  } finally {
    await warmRunner.close();
  }

  const cold: number[] = [];
  const coldRunner = runnerWith(0);
  try {
    await coldRunner.start();
    for (let i = 0; i < Math.ceil(runs / 2); i++) {
      await pause(150);
      const result = await coldRunner.run({ lang: 'python', code });
      check(result.stdout);
      cold.push(result.durationMs);
    }
  } finally {
    await coldRunner.close();
  }

  const busyRunner = runnerWith(2);
  let seconds: number;
  try {
    await busyRunner.start();
    await busyRunner.waitWarm(2, 30_000);
    let left = runs;
    const started = performance.now();
    await Promise.all(
      [0, 1].map(async () => {
        while (left-- > 0) check((await busyRunner.run({ lang: 'python', code })).stdout);
      }),
    );
    seconds = (performance.now() - started) / 1000;
  } finally {
    await busyRunner.close();
  }

  console.error(
    `sandbox: warm ${warm.join(' ')} ms; cold ${cold.join(' ')} ms; ${runs} runs by 2 callers in ${round(seconds)} s`,
  );
  return {
    bench: 'sandbox',
    warm_p50_ms: round(percentile(warm, 50), 1),
    cold_p50_ms: round(percentile(cold, 50), 1),
    runs_per_s: round(runs / seconds, 1),
    warm_p90_ms: round(percentile(warm, 90), 1),
    cold_p90_ms: round(percentile(cold, 90), 1),
  };
}
