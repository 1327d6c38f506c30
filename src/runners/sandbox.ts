/**
 * The sandbox runner: runs untrusted python, node or bash in a fresh Docker container with every
 * limit from limits.ts, records the Run when a store is given, and keeps a warm pool so most runs skip
 * container creation. One container per run, always removed afterwards. A run may carry a workspace
 * (a host folder copied in and, when asked, read back through checks: workspace.ts).
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { type Config, DeckhandError, type Logger, logger as sharedLogger } from '../core/index.js';
import type { Store } from '../store/index.js';
import { SandboxContainer } from './container.js';
import { createDockerClient } from './docker.js';
import { assertEgressTarget, egressShapeOf, reapEgressNetworks } from './egress.js';
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
import { type ParsedRunOptions, payloadFor, type RunResult, type SandboxRunOptions } from './run-options.js';
import {
  containerFailed,
  parseRunOptions,
  recordResult,
  resultOf,
  sandboxFailed,
  storedError,
} from './sandbox-run.js';
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

/** Added to a container's deadline label after its own time limit, before the reaper may take it. */
const DEADLINE_GRACE_MS = 60_000;
const MIB = 1024 * 1024;

/** One run's container settings and the bytes handed to it, decided before a container is taken. */
interface RunPlan {
  imageId: string;
  shape: ContainerShape;
  timeoutSeconds: number;
  nonce: string;
  payload: Buffer | Readable;
  argv: string[];
  keptLinks?: Map<string, string> | undefined;
}

/** The runner's state (pinned images, warm pool, runs and cleanups in flight) and its steps. */
class Sandbox {
  private readonly docker: Docker;
  private readonly limits: SandboxLimits;
  private readonly store: SandboxRunStore | undefined;
  private readonly log: Logger;
  private readonly languages: LanguageTable;
  private readonly poolName: string;
  private readonly reapIntervalMs: number;
  private readonly pinned = new Map<string, string>();
  private readonly background = new Set<Promise<unknown>>();
  private readonly runs = new Set<Promise<unknown>>();
  private readonly pool: WarmPool | undefined;
  private started: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: SandboxRunnerOptions) {
    this.docker = options.docker;
    this.limits = options.limits;
    this.store = options.store;
    this.log = (options.logger ?? sharedLogger()).child({ part: 'sandbox' });
    this.languages = new LanguageTable(options.languages);
    this.poolName = options.pool ?? 'default';
    const maxIdleMs = options.maxIdleMs ?? 10 * 60_000;
    this.reapIntervalMs = options.reapIntervalMs ?? 60_000;
    this.pool =
      (options.warmPool ?? 0) > 0
        ? new WarmPool({
            size: options.warmPool ?? 0,
            maxIdleMs,
            logger: this.log,
            prepare: () =>
              this.prepare(
                this.pinned.get(options.image) ?? options.image,
                { network: 'none' },
                maxIdleMs + this.limits.timeoutSeconds * 1000,
              ),
            discard: (container) => this.track(container.remove()),
          })
        : undefined;
  }

  private track(promise: Promise<unknown>): void {
    const settled = promise.catch((error: unknown) =>
      this.log.warn({ err: error }, 'sandbox cleanup failed'),
    );
    this.background.add(settled);
    void settled.finally(() => this.background.delete(settled));
  }

  private prepare(image: string, shape: ContainerShape, lifetimeMs: number): Promise<SandboxContainer> {
    return SandboxContainer.prepare(this.docker, {
      image,
      limits: this.limits,
      shape,
      pool: this.poolName,
      deadline: Date.now() + lifetimeMs + DEADLINE_GRACE_MS,
    });
  }

  private async reap(): Promise<void> {
    try {
      await reapOrphans(this.docker, this.log);
      // Egress sessions' networks (their proxies are sandbox-labelled, so reapOrphans took those).
      await reapEgressNetworks(this.docker, this.log);
    } catch (error) {
      this.log.warn({ err: error }, 'sandbox reaper could not list containers');
    }
  }

  private async doStart(): Promise<void> {
    const { image } = this.options;
    try {
      await this.docker.ping();
    } catch (error) {
      throw dockerUnreachable(error);
    }
    for (const reference of [image, ...this.languages.images()]) {
      if (!this.pinned.has(reference)) this.pinned.set(reference, await pinImage(this.docker, reference));
    }
    await this.reap();
    if (this.reapIntervalMs > 0) {
      this.timer = setInterval(() => {
        void this.reap();
        this.pool?.dropStale();
        this.pool?.refill();
      }, this.reapIntervalMs);
      this.timer.unref();
    }
    this.pool?.refill();
    this.log.debug(
      { image, imageId: this.pinned.get(image), warmPool: this.pool?.size ?? 0 },
      'sandbox runner ready',
    );
  }

  start(): Promise<void> {
    if (this.closed) {
      return Promise.reject(new DeckhandError('SANDBOX_FAILED', 'The sandbox runner is closed.'));
    }
    this.started ??= this.doStart().catch((error: unknown) => {
      this.started = undefined; // a later call may find Docker up
      throw error;
    });
    return this.started;
  }

  run(runOptions: SandboxRunOptions): Promise<RunResult> {
    const promise = this.runOnce(runOptions);
    this.runs.add(promise);
    void promise.catch(() => undefined).finally(() => this.runs.delete(promise));
    return promise;
  }

  stats(): ReturnType<SandboxRunner['stats']> {
    return {
      warm: this.pool?.warm ?? 0,
      active: this.runs.size,
      imageId: this.pinned.get(this.options.image),
    };
  }

  waitWarm(count?: number, timeoutMs?: number): Promise<boolean> {
    return this.pool ? this.pool.waitWarm(count, timeoutMs) : Promise.resolve(count === 0);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    // Pool first, so runs finishing now do not ask it for replacements.
    await this.pool?.close();
    await Promise.allSettled([...this.runs]);
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  private async runOnce({ signal, ...raw }: SandboxRunOptions): Promise<RunResult> {
    const began = performance.now();
    const input = parseRunOptions(raw);
    await this.start();
    const plan = await this.plan(input);
    const { container, warm } = await this.acquire(plan);
    const runId = this.recordStart(input, plan, container);
    try {
      const result = await this.execute(input, plan, container, began, signal);
      const id = await recordResult(this.store, this.log, result, runId);
      if (id) result.runId = id;
      this.log.debug(
        {
          lang: input.lang,
          warm,
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
      if (id && this.store) await this.store.finishRun(id, storedError(began)).catch(() => undefined);
      throw sandboxFailed(error);
    } finally {
      this.track(container.remove());
      this.pool?.refill();
    }
  }

  /** The image, container shape, time limit and payload of a run; refuses network when it is off. */
  private async plan(input: ParsedRunOptions): Promise<RunPlan> {
    const { options, limits } = this;
    const { spec } = this.languages.resolve(input.lang);
    const imageId = this.pinned.get(spec.image ?? options.image) ?? options.image;
    if (input.network && (options.network ?? 'none') === 'none') {
      throw new DeckhandError(
        'NOT_CONFIGURED',
        'Network access for sandboxes is off. Set sandbox.network: bridge in the config to allow runs that ask for it.',
      );
    }
    if (input.egress && input.network) {
      throw new DeckhandError(
        'BAD_REQUEST',
        'A setup run reaches the network only through its egress proxy.',
      );
    }
    if (input.egress) await assertEgressTarget(this.docker, input.egress);
    const shape: ContainerShape = {
      network: input.network ? (options.network ?? 'none') : 'none',
      ...(input.workspace ? { workspace: true } : {}),
      ...(input.egress ? { egress: egressShapeOf(input.egress) } : {}),
    };
    const timeoutSeconds = Math.min(input.timeoutSeconds ?? limits.timeoutSeconds, limits.timeoutSeconds);
    const nonce = randomBytes(12).toString('hex');
    const { payload, argv, keptLinks } = await payloadFor(input, spec, limits, nonce, timeoutSeconds);
    return { imageId, shape, timeoutSeconds, nonce, payload, argv, keptLinks };
  }

  /** A warm container when the run has the common shape, else a new one; `warm` says which. */
  private async acquire(plan: RunPlan): Promise<{ container: SandboxContainer; warm: boolean }> {
    const { shape, imageId } = plan;
    // Only the common shape is pooled; a network or a workspace needs its own container.
    const plain =
      shape.network === 'none' &&
      !shape.workspace &&
      !shape.egress &&
      imageId === this.pinned.get(this.options.image);
    const warm = plain ? this.pool?.take() : undefined;
    try {
      // A workspace run's container also lives while its work folder is read back.
      const lifetimeMs = plan.timeoutSeconds * 1000 + (shape.workspace ? COLLECT_TIMEOUT_MS : 0);
      return {
        container: warm ?? (await this.prepare(imageId, shape, lifetimeMs)),
        warm: warm !== undefined,
      };
    } catch (error) {
      throw containerFailed(error);
    }
  }

  /** Stores the Run as started; its id, or undefined without a store or when storing failed. */
  private recordStart(
    input: ParsedRunOptions,
    plan: RunPlan,
    container: SandboxContainer,
  ): Promise<string | undefined> {
    const { store, limits } = this;
    if (!store) return Promise.resolve(undefined);
    return store
      .startRun({
        image: plan.imageId,
        command: plan.argv,
        limits: {
          cpus: limits.cpus,
          memoryMb: limits.memoryMb,
          pids: limits.pids,
          timeoutSeconds: plan.timeoutSeconds,
          network: plan.shape.egress ? 'egress' : plan.shape.network,
        },
        taskId: input.taskId ?? null,
        containerId: container.id,
      })
      .catch((error: unknown) => {
        this.log.error({ err: error }, 'could not record the sandbox run');
        return undefined;
      });
  }

  /** Runs the payload; a collecting workspace run that finished has its work folder read back. */
  private async execute(
    input: ParsedRunOptions,
    plan: RunPlan,
    container: SandboxContainer,
    began: number,
    signal: AbortSignal | undefined,
  ): Promise<RunResult> {
    const { limits } = this;
    const execution = await container.execute(
      plan.payload,
      plan.nonce,
      limits.outputLimitBytes,
      plan.timeoutSeconds * 1000,
      signal,
    );
    let workspace: RunResult['workspace'];
    if (input.workspace?.collect) {
      // Only a run the waiter saw to its end left the container up, and the tree quiet, to read.
      if (!execution.reported) workspace = 'discarded';
      else {
        await collectWorkspace(container, input.workspace.dir, workspaceMbOf(limits) * MIB, {
          sealed: input.workspace.sealed,
          keptLinks: plan.keptLinks ?? new Map(),
        });
        workspace = 'saved';
      }
    }
    return resultOf(execution, workspace, began);
  }
}

export function createSandboxRunner(options: SandboxRunnerOptions): SandboxRunner {
  const sandbox = new Sandbox(options);
  return {
    start: () => sandbox.start(),
    run: (runOptions) => sandbox.run(runOptions),
    stats: () => sandbox.stats(),
    waitWarm: (count, timeoutMs) => sandbox.waitWarm(count, timeoutMs),
    close: () => sandbox.close(),
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
