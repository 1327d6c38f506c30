/**
 * Dependency caches against the real engine and image: one volume per (repository, lockfile hash),
 * writable by the sandbox user in setup runs only, kept between runs with the same key, and evicted
 * least recently used first when the total passes the cap.
 */
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CacheLease,
  DependencyCache,
  dependencyCacheKey,
  EgressProxy,
  LABEL_DEPCACHE,
  LABEL_DEPCACHE_SCOPE,
  type SandboxRunner,
  setupRunEgress,
} from '../../src/runners/index.js';
import { ensureSandboxImage, leftovers, SANDBOX_IMAGE, testDocker, testRunner } from './helpers.js';

let docker: Docker;
let runner: SandboxRunner;
let outbound: string;
let session: EgressProxy | undefined;
const repo = 'octo/widgets';
/** This file's own caches: a sweep here never sees a running Deckhand's on the same engine. */
const scope = `test-${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  ensureSandboxImage();
  docker = testDocker();
  runner = testRunner(docker, { warmPool: 0, reapIntervalMs: 0 });
  await runner.start();
  // The proxy's outbound side: a network of the test's own, where nothing answers.
  outbound = `deckhand-test-out-${randomBytes(4).toString('hex')}`;
  await docker.createNetwork({ Name: outbound, Labels: { 'deckhand.test': '1' } });
  session = await EgressProxy.open({
    docker,
    image: SANDBOX_IMAGE,
    allow: ['registry.deckhand.test'],
    outboundNetwork: outbound,
  });
});

async function removeAllCaches(): Promise<void> {
  const listed = await docker.listVolumes({ filters: { label: [`${LABEL_DEPCACHE_SCOPE}=${scope}`] } });
  for (const volume of listed.Volumes ?? []) await docker.getVolume(volume.Name).remove({ force: true });
}

afterAll(async () => {
  await session?.close();
  await runner?.close();
  if (outbound) await docker.getNetwork(outbound).remove();
  await removeAllCaches();
  expect(await leftovers(docker)).toEqual([]);
});

function setup(code: string, lease: CacheLease) {
  if (!session) throw new Error('no session');
  return runner.run({ lang: 'bash', code, egress: setupRunEgress(session.attachment, lease) });
}

describe('dependency cache', () => {
  it('keys a cache by repository and lockfile hash', async () => {
    expect(dependencyCacheKey(repo, 'abc')).toBe(dependencyCacheKey(repo, 'abc'));
    expect(dependencyCacheKey(repo, 'abc')).not.toBe(dependencyCacheKey(repo, 'abd'));
    expect(dependencyCacheKey(repo, 'abc')).not.toBe(dependencyCacheKey(`${repo}x`, 'abc'));
    expect(dependencyCacheKey(repo, 'abc')).not.toBe(dependencyCacheKey(repo, 'abc', 'other'));
    const cache = new DependencyCache({ docker, image: SANDBOX_IMAGE, capMb: 1024, scope });
    const first = await cache.acquire(repo, 'lock-1');
    const again = await cache.acquire(repo, 'lock-1');
    const other = await cache.acquire(repo, 'lock-2');
    expect(first.created).toBe(true);
    expect(again).toMatchObject({ created: false, volume: first.volume, key: first.key });
    expect(other.volume).not.toBe(first.volume);
    expect(first.key).toBe(dependencyCacheKey(repo, 'lock-1', scope));
    const volume = await docker.getVolume(first.volume).inspect();
    expect(volume.Labels?.[LABEL_DEPCACHE]).toBe(first.key);
    expect(volume.Labels?.[LABEL_DEPCACHE_SCOPE]).toBe(scope);
  });

  it('keeps what one setup run wrote for the next run with the same key, and only for it', async () => {
    const cache = new DependencyCache({ docker, image: SANDBOX_IMAGE, capMb: 1024, scope });
    const lease = await cache.acquire(repo, 'lock-keep');
    const write = await setup(
      [
        'set -e',
        'id -u; stat -c %u /cache',
        'mkdir -p "$npm_config_cache" && echo kept >"$npm_config_cache/marker"',
        // Each tool sees its cache there (pip despite the image's no-cache-dir).
        'python3 -m pip cache dir; go env GOMODCACHE GOFLAGS',
        // The cache is the only writable place that is not a tmpfs.
        'touch /usr/local/x 2>/dev/null && echo root-writable || echo root-read-only',
        'awk \'$2 == "/cache" { print "mounted" }\' /proc/mounts',
      ].join('\n'),
      lease,
    );
    expect(write.stderr).toBe('');
    expect(write.stdout).toBe(
      '10001\n10001\n/cache/pip\n/cache/go-mod\n-modcacherw\nroot-read-only\nmounted\n',
    );
    const again = await cache.acquire(repo, 'lock-keep');
    const read = await setup('cat /cache/npm/marker', again);
    expect(read.stdout).toBe('kept\n');
    const other = await cache.acquire(repo, 'lock-other');
    const empty = await setup('ls -A /cache', other);
    expect(empty.stdout).toBe('.deckhand-last-used\n');
    // A test run (no egress) never has the cache.
    const plain = await runner.run({ lang: 'bash', code: 'ls /cache 2>&1; grep -c " /cache " /proc/mounts' });
    expect(plain.stdout).toContain('No such file or directory');
    expect(plain.stdout.trim().endsWith('0')).toBe(true);
  });

  it('evicts the least recently used caches down to the cap, never the one just used', async () => {
    await removeAllCaches();
    const cache = new DependencyCache({ docker, image: SANDBOX_IMAGE, capMb: 6, scope });
    const fill = 'head -c 2097152 /dev/zero >/cache/blob';
    const a = await cache.acquire(repo, 'lru-a');
    expect(await setup(fill, a)).toMatchObject({ exitCode: 0, stderr: '' });
    const b = await cache.acquire(repo, 'lru-b');
    expect(await setup(fill, b)).toMatchObject({ exitCode: 0, stderr: '' });
    const c = await cache.acquire(repo, 'lru-c');
    expect(await setup(fill, c)).toMatchObject({ exitCode: 0, stderr: '' });
    // a is used again: b is now the least recently used.
    await cache.acquire(repo, 'lru-a');
    const before = await cache.list();
    expect(before.map((entry) => entry.key)).toEqual([b.key, c.key, a.key]);
    expect(before.map((entry) => entry.sizeMb)).toEqual([3, 3, 3]);
    const sweep = await cache.release(c);
    expect(sweep.evicted).toEqual([b.key]);
    expect(sweep.totalMb).toBeLessThanOrEqual(6);
    const after = (await cache.list()).map((entry) => entry.key).sort();
    expect(after).toEqual([a.key, c.key].sort());
    // Under a cap smaller than any cache, everything goes except the one just used.
    const tiny = new DependencyCache({ docker, image: SANDBOX_IMAGE, capMb: 1, scope });
    expect((await tiny.release(c)).evicted).toEqual([a.key]);
    expect((await tiny.list()).map((entry) => entry.key)).toEqual([c.key]);
  });
});
