/**
 * Dependency caches for setup runs (npm ci, pip install, go mod download), so a repository whose
 * lockfile did not change installs from disk instead of the registries. One Docker volume per
 * (repository, lockfile hash), labelled `deckhand.depcache=<key>`, mounted at DEPENDENCY_CACHE_DIR in
 * setup runs only (never in a test run). Last use is a stamp file in the volume, written by a short
 * helper container when a run takes the volume; after the run the caches are measured (`du`) and the
 * least recently used ones removed until the total is under the cap. Helpers run from the sandbox
 * image with no network, a read-only root and only the one capability each needs: CHOWN to hand a
 * fresh volume to the sandbox user, DAC_READ_SEARCH to measure what a setup program left.
 */
import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { DeckhandError, type Logger } from '../core/index.js';
import type { EgressAttachment } from './egress.js';
import { DEPENDENCY_CACHE_DIR, SANDBOX_PATH, SANDBOX_UID } from './limits.js';
import { sandboxLabels } from './reaper.js';

export const LABEL_DEPCACHE = 'deckhand.depcache';
/** Which DependencyCache owns the volume: sweeps only ever see their own scope's caches. */
export const LABEL_DEPCACHE_SCOPE = 'deckhand.depcache.scope';
/** Epoch ms the volume was created: the last use of a cache whose stamp is missing. */
export const LABEL_DEPCACHE_CREATED = 'deckhand.depcache.created';
const STAMP = '.deckhand-last-used';
const HELPER_POOL = 'depcache';
const HELPER_TIMEOUT_MS = 120_000;
const MIB = 1024 * 1024;

/** Same repository and lockfile hash (and scope), same key; anything else, another key. */
export function dependencyCacheKey(repository: string, lockfileHash: string, scope = 'default'): string {
  return createHash('sha256')
    .update(`${scope}\0${repository.trim().toLowerCase()}\0${lockfileHash.trim()}`)
    .digest('hex')
    .slice(0, 32);
}

export function dependencyCacheVolume(key: string): string {
  return `deckhand-depcache-${key}`;
}

/**
 * Where npm, pip and go keep their download caches in a setup run. The image's /etc/pip.conf says
 * `no-cache-dir`, which pip applies whatever PIP_CACHE_DIR says (and PIP_NO_CACHE_DIR=0 disables the
 * cache too), so pip is told to read no config file and its other setting is repeated here.
 */
export function dependencyCacheEnv(dir = DEPENDENCY_CACHE_DIR): Record<string, string> {
  return {
    npm_config_cache: `${dir}/npm`,
    PIP_CACHE_DIR: `${dir}/pip`,
    PIP_CONFIG_FILE: '/dev/null',
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
    GOMODCACHE: `${dir}/go-mod`,
    GOFLAGS: '-modcacherw',
  };
}

export interface CacheLease {
  key: string;
  volume: string;
  /** dependencyCacheEnv(): add it to the setup run's env. */
  env: Record<string, string>;
  /** The volume was made by this acquire (the cache starts empty). */
  created: boolean;
}

/** SandboxRunOptions.egress for a setup run: the session's network and env, plus the cache if any. */
export function setupRunEgress(
  session: EgressAttachment,
  lease?: CacheLease,
): { network: string; env: Record<string, string>; cacheVolume?: string } {
  if (!lease) return { network: session.network, env: { ...session.env } };
  return { network: session.network, env: { ...session.env, ...lease.env }, cacheVolume: lease.volume };
}

export interface CacheVolumeInfo {
  key: string;
  volume: string;
  sizeMb: number;
  /** Epoch ms. */
  lastUsed: number;
}

export interface CacheSweep {
  totalMb: number;
  /** Keys of the volumes removed, least recently used first. */
  evicted: string[];
  /** What is left, least recently used first. */
  kept: CacheVolumeInfo[];
}

export interface DependencyCacheOptions {
  docker: Docker;
  /** The sandbox image (tag or pinned ID), for the helper containers. */
  image: string;
  /** Total size of all caches after a sweep, in MB. */
  capMb: number;
  /** Separates caches sharing one engine (tests, several deployments); 'default' when absent. */
  scope?: string;
  logger?: Logger;
}

interface HelperRun {
  user: string;
  capAdd: string[];
  mounts: Docker.MountConfig;
  script: string;
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

export class DependencyCache {
  private readonly docker: Docker;
  private readonly scope: string;

  constructor(private readonly options: DependencyCacheOptions) {
    this.docker = options.docker;
    this.scope = options.scope ?? 'default';
  }

  /** The volume for this repository and lockfile, made (and handed to the sandbox user) if new. */
  async acquire(repository: string, lockfileHash: string): Promise<CacheLease> {
    const key = dependencyCacheKey(repository, lockfileHash, this.scope);
    const volume = dependencyCacheVolume(key);
    const existing = await this.docker.listVolumes({ filters: { label: [`${LABEL_DEPCACHE}=${key}`] } });
    const created = !(existing.Volumes ?? []).some((v) => v.Name === volume);
    if (created) {
      await this.docker.createVolume({
        Name: volume,
        Labels: {
          [LABEL_DEPCACHE]: key,
          [LABEL_DEPCACHE_SCOPE]: this.scope,
          [LABEL_DEPCACHE_CREATED]: String(Date.now()),
        },
      });
    }
    const mounts: Docker.MountConfig = [
      { Type: 'volume', Source: volume, Target: '/cache', ReadOnly: false },
    ];
    // A fresh volume's root belongs to root: root (with CHOWN only) stamps it and hands it over, once;
    // a volume already handed over is stamped by the sandbox user, without any capability.
    await this.helper({
      user: '0:0',
      capAdd: ['CHOWN'],
      mounts,
      script: `[ "$(stat -c %u /cache)" = ${SANDBOX_UID} ] || { date +%s%3N >/cache/${STAMP} && chmod 0755 /cache && chown ${SANDBOX_UID}:${SANDBOX_UID} /cache /cache/${STAMP}; }`,
    });
    await this.helper({
      user: `${SANDBOX_UID}:${SANDBOX_UID}`,
      capAdd: [],
      mounts,
      script: `rm -rf /cache/${STAMP} && date +%s%3N >/cache/${STAMP}`,
    });
    return { key, volume, env: dependencyCacheEnv(), created };
  }

  /** After a setup run: measures the caches and evicts least recently used ones (never this one). */
  release(lease: CacheLease): Promise<CacheSweep> {
    return this.sweep(lease.key);
  }

  /** Every cache volume of this scope with its size and last use, least recently used first. */
  async list(): Promise<CacheVolumeInfo[]> {
    const listed = await this.docker.listVolumes({
      filters: { label: [LABEL_DEPCACHE, `${LABEL_DEPCACHE_SCOPE}=${this.scope}`] },
    });
    const volumes = (listed.Volumes ?? []).filter((v) => v.Labels?.[LABEL_DEPCACHE]);
    if (volumes.length === 0) return [];
    // Read-only mounts; DAC_READ_SEARCH so a folder a setup program chmod'ed 000 is measured too.
    // A stamp that is not a plain file (a link, a FIFO) counts as never used.
    const script = volumes
      .map(
        (_, i) =>
          `s=$(du -sm /v/${i} | cut -f1); t=0; f=/v/${i}/${STAMP}; [ -f "$f" ] && [ ! -L "$f" ] && t=$(head -c 20 "$f" | tr -cd 0-9); echo "${i} \${s:-0} \${t:-0}"`,
      )
      .join('\n');
    const output = await this.helper({
      user: '0:0',
      capAdd: ['DAC_READ_SEARCH'],
      mounts: volumes.map((v, i) => ({ Type: 'volume', Source: v.Name, Target: `/v/${i}`, ReadOnly: true })),
      script,
    });
    const measured = new Map<number, { sizeMb: number; stamp: number }>();
    for (const line of output.split('\n')) {
      const fields = /^(\d+) (\d+) (\d+)$/.exec(line.trim());
      if (fields) measured.set(Number(fields[1]), { sizeMb: Number(fields[2]), stamp: Number(fields[3]) });
    }
    return volumes
      .map((v, i) => {
        const found = measured.get(i);
        const createdAt = Number(v.Labels?.[LABEL_DEPCACHE_CREATED] ?? 0);
        return {
          key: v.Labels?.[LABEL_DEPCACHE] ?? '',
          volume: v.Name,
          sizeMb: found?.sizeMb ?? 0,
          lastUsed: found?.stamp || createdAt || 0,
        };
      })
      .sort((a, b) => a.lastUsed - b.lastUsed);
  }

  /** Removes least recently used caches until the total is at most capMb; `keep` is never removed. */
  async sweep(keep?: string): Promise<CacheSweep> {
    const caches = await this.list();
    let totalMb = caches.reduce((sum, c) => sum + c.sizeMb, 0);
    const evicted: string[] = [];
    const kept: CacheVolumeInfo[] = [];
    for (const cache of caches) {
      if (totalMb <= this.options.capMb || cache.key === keep) {
        kept.push(cache);
        continue;
      }
      try {
        await this.docker.getVolume(cache.volume).remove();
        totalMb -= cache.sizeMb;
        evicted.push(cache.key);
        this.options.logger?.info(
          { volume: cache.volume, sizeMb: cache.sizeMb, capMb: this.options.capMb },
          'evicted dependency cache',
        );
      } catch (error) {
        // 409: in use by a setup run right now; 404: another process removed it.
        const status = statusOf(error);
        if (status === 404) totalMb -= cache.sizeMb;
        else if (status === 409) kept.push(cache);
        else throw error;
      }
    }
    return { totalMb, evicted, kept };
  }

  /** Runs a short helper container and returns its stdout; a non-zero exit throws. */
  private async helper(run: HelperRun): Promise<string> {
    const { docker } = this;
    const container = await docker.createContainer({
      Image: this.options.image,
      Entrypoint: ['/bin/sh', '-c'],
      Cmd: [run.script],
      User: run.user,
      Env: [`PATH=${SANDBOX_PATH}`],
      Labels: sandboxLabels(HELPER_POOL, Date.now() + HELPER_TIMEOUT_MS + 60_000),
      NetworkDisabled: true,
      AttachStdout: true,
      AttachStderr: true,
      HostConfig: {
        NetworkMode: 'none',
        ReadonlyRootfs: true,
        CapDrop: ['ALL'],
        CapAdd: run.capAdd,
        SecurityOpt: ['no-new-privileges'],
        PidsLimit: 32,
        Memory: 64 * MIB,
        MemorySwap: 64 * MIB,
        Tmpfs: { '/tmp': 'rw,noexec,nosuid,nodev,size=1m' },
        LogConfig: { Type: 'none', Config: {} },
        Mounts: run.mounts,
        AutoRemove: false,
      },
    });
    try {
      const stream = await container.attach({ stream: true, stdout: true, stderr: true });
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      docker.modem.demuxStream(stream, stdout, stderr);
      let out = '';
      let err = '';
      stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8');
      });
      stderr.on('data', (chunk: Buffer) => {
        if (err.length < 4096) err += chunk.toString('utf8');
      });
      const ended = new Promise<void>((resolve) => {
        stream.once('end', resolve);
        stream.once('close', resolve);
        stream.once('error', () => resolve());
      });
      await container.start();
      const result = (await container.wait({ abortSignal: AbortSignal.timeout(HELPER_TIMEOUT_MS) })) as {
        StatusCode?: number;
      };
      await ended;
      if (result.StatusCode !== 0) {
        throw new DeckhandError('SANDBOX_FAILED', 'The dependency cache could not be prepared.', {
          retryable: true,
          detail: `helper exited ${result.StatusCode}: ${err.trim().slice(0, 500)}`,
        });
      }
      return out;
    } finally {
      await container.remove({ force: true }).catch(() => undefined);
    }
  }
}
