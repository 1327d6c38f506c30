/**
 * The sandbox runner: runs untrusted python, node or bash in a fresh Docker container with every
 * limit from limits.ts, records the Run when a store is given, and keeps a warm pool so most runs skip
 * container creation. One container per run, always removed afterwards. A run may carry a workspace
 * (a host folder copied in and, when asked, read back through checks: workspace.ts).
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type Docker from 'dockerode';
import {
  type Config,
  DeckhandError,
  isDeckhandError,
  type Logger,
  logger as sharedLogger,
} from '../core/index.js';
import type { RunStatus, Store } from '../store/index.js';
import { SandboxContainer } from './container.js';
import { createDockerClient } from './docker.js';
import { dockerUnreachable, pinImage } from './image.js';
import { type LanguageSpec, LanguageTable } from './languages.js';
import {
  type ContainerShape,
  limitsFromConfig,
  type SandboxLimits,
  type SandboxNetwork,
  workspaceMbOf,
} from './limits.js';
import { WarmPool } from './pool.js';
import { reapOrphans } from './reaper.js';
import { payloadFor, type RunResult, runOptionsSchema, type SandboxRunOptions } from './run-options.js';
import { COLLECT_TIMEOUT_MS, collectWorkspace } from './workspace.js';

export type { RunResult, SandboxRunOptions } from './run-options.js';

export type SandboxRunStore = Pick<Store, 'startRun' | 'finishRun'>;

export interface SandboxRunnerOptions {
  docker: Docker;
  /** Tag or ID; resolved to the image ID at start and used pinned from then on. */
  image: string;
  limits: SandboxLimits;
  /** What a run that asks for network gets; with 'none' such runs are refused. */
  network?: SandboxNetwork;
  /** Containers kept started and waiting; 0 makes every run cold. */
  warmPool?: number;
  languages?: Record<string, LanguageSpec>;
  store?: SandboxRunStore;
  logger?: Logger;
  /** Value of the deckhand.pool label. */
  pool?: string;
  maxIdleMs?: number;
  /** How often orphans are reaped and stale pool containers replaced; 0 = only at start. */
  reapIntervalMs?: number;
}

export interface SandboxRunner {
  start(): Promise<void>;
  run(options: SandboxRunOptions): Promise<RunResult>;
  stats(): { warm: number; active: number; imageId: string | undefined };
  /** Resolves true once `count` warm containers are ready. */
  waitWarm(count?: number, timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
}

/** What a caller of the sandbox needs: run(); the run's signal stops it when the task is cancelled. */
export type CodeRunner = Pick<SandboxRunner, 'run'>;

/** The Run schema caps stored output (maxlength 100 000); the full result goes back to the caller. */
const STORED_OUTPUT_CHARS = 100_000;
/** Added to a container's deadline label after its own time limit, before the reaper may take it. */
const DEADLINE_GRACE_MS = 60_000;
const MIB = 1024 * 1024;

function sandboxFailed(error: unknown): DeckhandError {
  if (isDeckhandError(error)) return error;
  return new DeckhandError('SANDBOX_FAILED', 'The sandbox could not run the code. Try again in a minute.', {
    cause: error,
    retryable: true,
    detail: error instanceof Error ? error.message : String(error),
  });
}

function statusOf(result: RunResult): RunStatus {
  if (result.timedOut) return 'timeout';
  if (result.cancelled) return 'killed';
  if (result.oomKilled) return 'killed';
  return result.exitCode === 0 ? 'succeeded' : 'failed';
}

export function createSandboxRunner(options: SandboxRunnerOptions): SandboxRunner {
  const { docker, limits, store } = options;
  const log = (options.logger ?? sharedLogger()).child({ part: 'sandbox' });
  const languages = new LanguageTable(options.languages);
  const poolName = options.pool ?? 'default';
  const maxIdleMs = options.maxIdleMs ?? 10 * 60_000;
  const reapIntervalMs = options.reapIntervalMs ?? 60_000;
  const pinned = new Map<string, string>();
  const background = new Set<Promise<unknown>>();
  const runs = new Set<Promise<unknown>>();
  let started: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  function track(promise: Promise<unknown>): void {
    const settled = promise.catch((error: unknown) => log.warn({ err: error }, 'sandbox cleanup failed'));
    background.add(settled);
    void settled.finally(() => background.delete(settled));
  }

  function prepare(image: string, shape: ContainerShape, lifetimeMs: number): Promise<SandboxContainer> {
    return SandboxContainer.prepare(docker, {
      image,
      limits,
      shape,
      pool: poolName,
      deadline: Date.now() + lifetimeMs + DEADLINE_GRACE_MS,
    });
  }

  const pool =
    (options.warmPool ?? 0) > 0
      ? new WarmPool({
          size: options.warmPool ?? 0,
          maxIdleMs,
          logger: log,
          prepare: () =>
            prepare(
              pinned.get(options.image) ?? options.image,
              { network: 'none' },
              maxIdleMs + limits.timeoutSeconds * 1000,
            ),
          discard: (container) => track(container.remove()),
        })
      : undefined;

  async function reap(): Promise<void> {
    try {
      await reapOrphans(docker, log);
    } catch (error) {
      log.warn({ err: error }, 'sandbox reaper could not list containers');
    }
  }

  async function doStart(): Promise<void> {
    try {
      await docker.ping();
    } catch (error) {
      throw dockerUnreachable(error);
    }
    for (const reference of [options.image, ...languages.images()]) {
      if (!pinned.has(reference)) pinned.set(reference, await pinImage(docker, reference));
    }
    await reap();
    if (reapIntervalMs > 0) {
      timer = setInterval(() => {
        void reap();
        pool?.dropStale();
        pool?.refill();
      }, reapIntervalMs);
      timer.unref();
    }
    pool?.refill();
    log.debug(
      { image: options.image, imageId: pinned.get(options.image), warmPool: pool?.size ?? 0 },
      'sandbox runner ready',
    );
  }

  function start(): Promise<void> {
    if (closed) return Promise.reject(new DeckhandError('SANDBOX_FAILED', 'The sandbox runner is closed.'));
    started ??= doStart().catch((error: unknown) => {
      started = undefined; // a later call may find Docker up
      throw error;
    });
    return started;
  }

  async function record(result: RunResult, runId: Promise<string | undefined>): Promise<string | undefined> {
    const id = await runId;
    if (!id || !store) return undefined;
    const clip = (text: string) =>
      text.length > STORED_OUTPUT_CHARS ? text.slice(0, STORED_OUTPUT_CHARS) : text;
    try {
      await store.finishRun(id, {
        status: statusOf(result),
        exitCode: result.exitCode,
        stdout: clip(result.stdout),
        stderr: clip(result.stderr),
        truncated:
          result.truncated ||
          result.stdout.length > STORED_OUTPUT_CHARS ||
          result.stderr.length > STORED_OUTPUT_CHARS,
        durationMs: result.durationMs,
      });
    } catch (error) {
      log.error({ err: error, runId: id }, 'could not record the sandbox run result');
    }
    return id;
  }

  async function runOnce({ signal, ...raw }: SandboxRunOptions): Promise<RunResult> {
    const began = performance.now();
    const parsed = runOptionsSchema.safeParse(raw);
    if (!parsed.success) {
      const problems = parsed.error.issues
        .map((i) => `${i.path.join('.') || 'options'}: ${i.message}`)
        .join('; ');
      throw new DeckhandError('BAD_REQUEST', `Invalid sandbox run: ${problems}`);
    }
    const input = parsed.data;
    await start();
    const { spec } = languages.resolve(input.lang);
    const imageId = pinned.get(spec.image ?? options.image) ?? options.image;
    if (input.network && (options.network ?? 'none') === 'none') {
      throw new DeckhandError(
        'NOT_CONFIGURED',
        'Network access for sandboxes is off. Set sandbox.network: bridge in the config to allow runs that ask for it.',
      );
    }
    const shape: ContainerShape = {
      network: input.network ? (options.network ?? 'none') : 'none',
      ...(input.workspace ? { workspace: true } : {}),
    };
    const timeoutSeconds = Math.min(input.timeoutSeconds ?? limits.timeoutSeconds, limits.timeoutSeconds);
    const nonce = randomBytes(12).toString('hex');
    const { payload, argv, keptLinks } = await payloadFor(input, spec, limits, nonce, timeoutSeconds);

    // Only the common shape is pooled; a network or a workspace needs its own container.
    const plain = shape.network === 'none' && !shape.workspace && imageId === pinned.get(options.image);
    const warm = plain ? pool?.take() : undefined;
    let container: SandboxContainer;
    try {
      // A workspace run's container also lives while its work folder is read back.
      const lifetimeMs = timeoutSeconds * 1000 + (shape.workspace ? COLLECT_TIMEOUT_MS : 0);
      container = warm ?? (await prepare(imageId, shape, lifetimeMs));
    } catch (error) {
      // 400: Docker refused this run's settings (say, a workspace folder that does not exist on the
      // engine's host); trying again will not help.
      if ((error as { statusCode?: unknown }).statusCode === 400) {
        throw new DeckhandError('BAD_REQUEST', 'Docker refused the sandbox settings for this run.', {
          cause: error,
          detail: error instanceof Error ? error.message : String(error),
        });
      }
      throw sandboxFailed(error);
    }

    const runId: Promise<string | undefined> = store
      ? store
          .startRun({
            image: imageId,
            command: argv,
            limits: {
              cpus: limits.cpus,
              memoryMb: limits.memoryMb,
              pids: limits.pids,
              timeoutSeconds,
              network: shape.network,
            },
            taskId: input.taskId ?? null,
            containerId: container.id,
          })
          .catch((error: unknown) => {
            log.error({ err: error }, 'could not record the sandbox run');
            return undefined;
          })
      : Promise.resolve(undefined);

    try {
      const execution = await container.execute(
        payload,
        nonce,
        limits.outputLimitBytes,
        timeoutSeconds * 1000,
        signal,
      );
      let workspace: RunResult['workspace'];
      if (input.workspace?.collect) {
        // Only a run the waiter saw to its end left the container up, and the tree quiet, to read.
        if (!execution.reported) workspace = 'discarded';
        else {
          await collectWorkspace(container, input.workspace.dir, workspaceMbOf(limits) * MIB, {
            sealed: input.workspace.sealed,
            keptLinks: keptLinks ?? new Map(),
          });
          workspace = 'saved';
        }
      }
      const stdout = execution.output.stdout.result();
      const stderr = execution.output.stderr.result();
      const result: RunResult = {
        exitCode: execution.exitCode,
        stdout: stdout.text,
        stderr: stderr.text,
        timedOut: execution.timedOut,
        ...(execution.cancelled ? { cancelled: true } : {}),
        oomKilled: execution.oomKilled,
        truncated: stdout.truncated || stderr.truncated,
        ...(execution.diskFull ? { diskFull: true } : {}),
        ...(workspace ? { workspace } : {}),
        durationMs: Math.round(performance.now() - began),
      };
      const id = await record(result, runId);
      if (id) result.runId = id;
      log.debug(
        {
          lang: input.lang,
          warm: warm !== undefined,
          container: container.id.slice(0, 12),
          exitCode: result.exitCode,
          timedOut: result.timedOut,
          oomKilled: result.oomKilled,
          diskFull: result.diskFull,
          durationMs: result.durationMs,
        },
        'sandbox run finished',
      );
      return result;
    } catch (error) {
      const id = await runId;
      if (id && store) {
        await store
          .finishRun(id, {
            status: 'error',
            exitCode: null,
            stdout: '',
            stderr: '',
            truncated: false,
            durationMs: Math.round(performance.now() - began),
          })
          .catch(() => undefined);
      }
      throw sandboxFailed(error);
    } finally {
      track(container.remove());
      pool?.refill();
    }
  }

  return {
    start,
    run(runOptions) {
      const promise = runOnce(runOptions);
      runs.add(promise);
      void promise.catch(() => undefined).finally(() => runs.delete(promise));
      return promise;
    },
    stats: () => ({ warm: pool?.warm ?? 0, active: runs.size, imageId: pinned.get(options.image) }),
    waitWarm: (count, timeoutMs) => (pool ? pool.waitWarm(count, timeoutMs) : Promise.resolve(count === 0)),
    async close() {
      closed = true;
      clearInterval(timer);
      // Pool first, so runs finishing now do not ask it for replacements.
      await pool?.close();
      await Promise.allSettled([...runs]);
      while (background.size > 0) await Promise.allSettled([...background]);
    },
  };
}

/** The runner as configured (config.sandbox), on DOCKER_HOST unless a client is given. */
export function sandboxRunnerFromConfig(
  config: Config,
  extra: { docker?: Docker; store?: SandboxRunStore; logger?: Logger; warmPool?: number } = {},
): SandboxRunner {
  const { sandbox } = config;
  return createSandboxRunner({
    docker: extra.docker ?? createDockerClient(),
    image: sandbox.image,
    limits: limitsFromConfig(sandbox),
    network: sandbox.network,
    warmPool: extra.warmPool ?? sandbox.warmPool,
    languages: sandbox.languages,
    ...(extra.store ? { store: extra.store } : {}),
    ...(extra.logger ? { logger: extra.logger } : {}),
  });
}
