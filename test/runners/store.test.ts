/** A sandbox run is recorded as a Run document linked to its task. */
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxRunner } from '../../src/runners/index.js';
import type { Store } from '../../src/store/index.js';
import { dropTestStore, openTestStore } from '../support/store.js';
import { ensureSandboxImage, leftovers, testDocker, testRunner } from './helpers.js';

let store: Store;
let docker: Docker;
let runner: SandboxRunner;
beforeAll(async () => {
  const imageId = ensureSandboxImage();
  expect(imageId).toMatch(/^sha256:/);
  store = await openTestStore();
  docker = testDocker();
  runner = testRunner(docker, { store, warmPool: 0, reapIntervalMs: 0 });
});
afterAll(async () => {
  await runner?.close();
  await dropTestStore(store);
  expect(await leftovers(docker)).toEqual([]);
});

describe('sandbox runs in the store', () => {
  it('stores the Run with its taskId, pinned image, limits and result', async () => {
    const task = await store.enqueueTask({
      kind: 'sandbox',
      source: { platform: 'terminal', channelId: 'tty' },
    });
    const result = await runner.run({ lang: 'python', code: 'print(1)', taskId: task.id });
    expect(result.runId).toBeDefined();
    const run = await store.getRun(result.runId ?? '');
    expect(run).toMatchObject({
      status: 'succeeded',
      exitCode: 0,
      stdout: '1\n',
      stderr: '',
      truncated: false,
      command: ['python3', '-u', 'main.py'],
      limits: { cpus: 1, memoryMb: 256, pids: 128, timeoutSeconds: 30, network: 'none' },
    });
    expect(String(run?.taskId)).toBe(task.id);
    expect(run?.image).toBe(runner.stats().imageId);
    expect(run?.image).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(run?.containerId).toMatch(/^[0-9a-f]{64}$/);
    expect(run?.durationMs).toBe(result.durationMs);
    expect(run?.finishedAt).toBeInstanceOf(Date);
  });

  it('stores a run killed at its time limit as timeout', async () => {
    const result = await runner.run({ lang: 'bash', code: 'echo start; sleep 60', timeoutSeconds: 1 });
    expect(result.timedOut).toBe(true);
    const run = await store.getRun(result.runId ?? '');
    expect(run).toMatchObject({ status: 'timeout', exitCode: null, stdout: 'start\n', taskId: null });
  });
});
