/**
 * The fences around every sandbox container. Each one is here, not in the image, so an image
 * configured by an operator (or a mistake in ours) cannot loosen them: read-only root, no network
 * unless a run asks for it, no capabilities, no privilege gain, a non-root user, bounded pids, memory
 * (with no swap), CPU, writable space and open files. No host folder is ever mounted: a workspace
 * (a checkout) is copied in and read back (workspace.ts), so every byte a run writes lands on a
 * size-limited tmpfs.
 */
import type Docker from 'dockerode';
import type { Config } from '../core/index.js';

/** The uid/gid sandboxed code runs as. */
export const SANDBOX_UID = 10001;
/** The work folder: cwd of every run, always a size-limited tmpfs. */
export const WORK_DIR = '/work';
/** Size of the work folder of a run that carries a workspace, when the limits do not say. */
export const DEFAULT_WORKSPACE_MB = 512;
/** Files, folders and links a workspace may hold (the work folder's tmpfs has this many inodes). */
export const WORKSPACE_MAX_ENTRIES = 200_000;
export const SANDBOX_PATH = '/usr/local/bin:/usr/bin:/bin';
/**
 * The whole environment a sandboxed program gets. Nothing is copied from Deckhand's environment,
 * so no token, key or connection string can reach untrusted code.
 */
export const SANDBOX_ENV: readonly string[] = [`PATH=${SANDBOX_PATH}`, `HOME=${WORK_DIR}`, 'LANG=C.UTF-8'];

export interface SandboxLimits {
  cpus: number;
  memoryMb: number;
  pids: number;
  /** Wall clock, from the moment the code is handed over until the container is killed. */
  timeoutSeconds: number;
  /** Per stream (stdout, stderr); the rest is read and dropped. */
  outputLimitBytes: number;
  /** Size of each writable tmpfs (/tmp, the work folder, /dev/shm); counted in the memory limit too. */
  tmpfsMb: number;
  /**
   * Size of the work folder of a run that carries a workspace (a checkout); DEFAULT_WORKSPACE_MB when
   * absent. Such a container's memory limit grows by as much, since tmpfs pages count there too.
   */
  workspaceMb?: number;
}

export type SandboxNetwork = 'none' | 'bridge';

/** Where a setup run's dependency cache volume is mounted (dependency-cache.ts). */
export const DEPENDENCY_CACHE_DIR = '/cache';

/** A setup run's way out (egress.ts): only this internal network, and its cache volume if any. */
export interface EgressShape {
  network: string;
  cacheVolume?: string;
}

export function limitsFromConfig(sandbox: Config['sandbox']): SandboxLimits {
  return {
    cpus: sandbox.cpus,
    memoryMb: sandbox.memoryMb,
    pids: sandbox.pids,
    timeoutSeconds: sandbox.timeoutSeconds,
    outputLimitBytes: sandbox.outputLimitBytes,
    tmpfsMb: sandbox.tmpfsMb,
    workspaceMb: sandbox.workspaceMb,
  };
}

export function workspaceMbOf(limits: SandboxLimits): number {
  return limits.workspaceMb ?? DEFAULT_WORKSPACE_MB;
}

const MIB = 1024 * 1024;

export interface ContainerShape {
  network: SandboxNetwork;
  /** The work folder holds a workspace: workspaceMb large, with an inode cap, memory raised to match. */
  workspace?: boolean;
  /** A setup run: attached only to an egress session's internal network (never pooled). */
  egress?: EgressShape;
}

export function hostConfigFor(limits: SandboxLimits, shape: ContainerShape): Docker.HostConfig {
  const workMb = shape.workspace ? workspaceMbOf(limits) : limits.tmpfsMb;
  const memory = (limits.memoryMb + (shape.workspace ? workMb : 0)) * MIB;
  // exec: scripts written to /tmp or the work folder must run; nosuid/nodev: nothing there may gain
  // privileges or reach devices.
  const tmpfs = (mb: number, extra = '') => `rw,exec,nosuid,nodev,size=${mb}m${extra}`;
  const inodes = shape.workspace ? `,nr_inodes=${WORKSPACE_MAX_ENTRIES + 16}` : '';
  return {
    NetworkMode: shape.egress ? shape.egress.network : shape.network,
    ReadonlyRootfs: true,
    CapDrop: ['ALL'],
    SecurityOpt: ['no-new-privileges'],
    PidsLimit: limits.pids,
    Memory: memory,
    // Equal to Memory: no swap, so a memory bomb meets the OOM killer instead of thrashing the disk.
    MemorySwap: memory,
    NanoCpus: Math.round(limits.cpus * 1e9),
    ShmSize: limits.tmpfsMb * MIB,
    Tmpfs: {
      '/tmp': tmpfs(limits.tmpfsMb),
      [WORK_DIR]: tmpfs(workMb, `${inodes},uid=${SANDBOX_UID},gid=${SANDBOX_UID},mode=0755`),
    },
    // Output travels over the attach stream only; the default json-file driver would also write
    // every byte (100 MB for an output bomb) to the daemon's disk.
    LogConfig: { Type: 'none', Config: {} },
    // Under host memory pressure, the kernel kills sandboxed code before anything else.
    OomScoreAdj: 1000,
    // No core dumps onto the tmpfs; a bounded number of open files.
    Ulimits: [
      { Name: 'core', Soft: 0, Hard: 0 },
      { Name: 'nofile', Soft: 1024, Hard: 1024 },
    ],
    IpcMode: 'private',
    // Removal is explicit (after the result is read) and, for anything left behind, the reaper's.
    AutoRemove: false,
    // The only writable path that is not a tmpfs, and only in a setup run that has a cache.
    ...(shape.egress?.cacheVolume
      ? {
          Mounts: [
            {
              Type: 'volume',
              Source: shape.egress.cacheVolume,
              Target: DEPENDENCY_CACHE_DIR,
              ReadOnly: false,
            },
          ],
        }
      : {}),
  };
}
