/** Orphaned sandbox containers are removed; live ones of other processes are left alone. */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownerId, reapOrphans, sandboxLabels } from '../../src/runners/index.js';
import { ensureSandboxImage, leftovers, testDocker, testRunner } from './helpers.js';

let docker: Docker;
let imageId: string;
const created: string[] = [];

/**
 * A pid no process can have: one above the kernel's pid_max. (A pid that existed a moment ago can be
 * handed out again while the suite spawns processes, which made this test flaky.)
 */
function deadPid(): number {
  const pid = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8').trim()) + 1;
  expect(() => process.kill(pid, 0)).toThrow();
  return pid;
}

async function labelled(owner: string, deadline: number): Promise<string> {
  const container = await docker.createContainer({
    Image: imageId,
    Cmd: ['sleep', '60'],
    Labels: sandboxLabels('reaper-test', deadline, owner),
    HostConfig: { NetworkMode: 'none', AutoRemove: false },
  });
  created.push(container.id);
  return container.id;
}

async function exists(id: string): Promise<boolean> {
  return docker
    .getContainer(id)
    .inspect()
    .then(() => true)
    .catch(() => false);
}

beforeAll(() => {
  imageId = ensureSandboxImage();
  docker = testDocker();
});
afterAll(async () => {
  await Promise.all(
    created.map((id) =>
      docker
        .getContainer(id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
  expect(await leftovers(docker)).toEqual([]);
});

describe('sandbox reaper', () => {
  it('removes containers whose owner process is gone or whose deadline passed, and no others', async () => {
    const future = Date.now() + 10 * 60_000;
    const orphan = await labelled(`${hostname()}/${deadPid()}`, future);
    const expired = await labelled(ownerId(), Date.now() - 1000);
    const live = await labelled(ownerId(), future);
    const otherHost = await labelled('some-other-host/1', future);
    await docker.getContainer(orphan).start();

    await reapOrphans(docker);
    expect(await exists(orphan)).toBe(false);
    expect(await exists(expired)).toBe(false);
    expect(await exists(live)).toBe(true);
    expect(await exists(otherHost)).toBe(true);
  });

  it('reaps orphans when a runner starts', async () => {
    const orphan = await labelled(`${hostname()}/${deadPid()}`, Date.now() + 60_000);
    const runner = testRunner(docker, { warmPool: 0, reapIntervalMs: 0 });
    try {
      await runner.start();
      expect(await exists(orphan)).toBe(false);
    } finally {
      await runner.close();
    }
  });
});
