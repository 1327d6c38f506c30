/**
 * Assembles a running Deckhand from config: store (MONGODB_URI or the embedded FerretDB), Redis (or
 * in-memory coordination), rate limits, pipeline, and the event handler's dependencies.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { type Agent, orchestratorFromConfig } from '../agents/index.js';
import { createPipeline, type GithubLinker, type Pipeline, recordModelUsage } from '../bots/index.js';
import type { Access, Orchestrator } from '../core/index.js';
import {
  accessSettingsOf,
  type Config,
  createAccess,
  createRateLimits,
  DeckhandError,
  type Logger,
  type RateLimits,
} from '../core/index.js';
import {
  createGitHubToolPort,
  type GitHubAccess,
  githubAccessFromConfig,
  githubLinker,
} from '../github/index.js';
import type { CodeRunner, DependencyInstaller } from '../runners/index.js';
import {
  createDependencyInstaller,
  createDockerClient,
  dockerConfigured,
  imageExists,
  type SandboxRunner,
  sandboxRunnerFromConfig,
} from '../runners/index.js';
import { schedulerToolPort } from '../scheduler/index.js';
import { accessPortsOf, openStore, type Store } from '../store/index.js';
import { progressLine } from './sandbox.js';

const run = promisify(execFile);
const SERVICES_SCRIPT = resolve(import.meta.dirname, '../../scripts/services.sh');

/**
 * Shows, on `progress`, the first thing scripts/services.sh says it does (building or starting
 * FerretDB) as `store: ... ready in 3.1 s`; nothing when the service was already up.
 */
function storeProgress(stderr: NodeJS.ReadableStream | null, progress: NodeJS.WritableStream | undefined) {
  let line: ReturnType<typeof progressLine> | undefined;
  stderr?.on('data', (chunk: Buffer | string) => {
    const said = /^services: (?!FAILED)(.*)$/m.exec(String(chunk))?.[1];
    if (progress && !line && said) line = progressLine(progress, `store: ${said}`);
  });
  return (ok: boolean) => (ok ? line?.done() : line?.failed());
}

/** MONGODB_URI, or the local FerretDB that scripts/services.sh builds and starts. */
export async function resolveStoreUri(
  config: Config,
  log: Logger,
  progress?: NodeJS.WritableStream,
): Promise<string> {
  if (config.store.uri) return config.store.uri;
  let finish: ((ok: boolean) => void) | undefined;
  try {
    const started = run('bash', [SERVICES_SCRIPT, 'up', 'mongo'], { timeout: 10 * 60_000 });
    finish = storeProgress(started.child.stderr, progress);
    const { stdout } = await started;
    finish(true);
    const uri = /^export MONGODB_URI='(.*)'$/m.exec(stdout)?.[1];
    if (!uri) throw new Error('services.sh printed no MONGODB_URI');
    log.info(
      { store: uri },
      'MONGODB_URI is not set: using the embedded FerretDB started by scripts/services.sh',
    );
    return uri;
  } catch (error) {
    finish?.(false);
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new DeckhandError(
      'STORE_UNREACHABLE',
      `MONGODB_URI is not set and the embedded FerretDB could not be started${stderr ? `: ${stderr.split('\n').pop()}` : ''}. Set MONGODB_URI=mongodb://host:27017/deckhand or install Go so scripts/services.sh can build FerretDB.`,
      { cause: error },
    );
  }
}

export interface Runtime {
  config: Config;
  store: Store;
  redis?: Redis;
  rateLimits: RateLimits;
  pipeline: Pipeline;
  codeRunner?: CodeRunner;
  /** Installs a GitHub change's dependencies through the registry proxy (sandbox.egress), with the sandbox. */
  dependencyInstaller?: DependencyInstaller;
  orchestrator?: Orchestrator;
  /** The model agent, when configured: also the GitHub work's WorkspaceAgent and Reviewer. */
  agent?: Agent;
  /** GitHub App or personal token access, when configured. */
  githubAccess?: GitHubAccess;
  /** The one policy with its facts (roles, links, connections, GitHub permissions): router and agent share it. */
  access: Access;
  /** `link github` (GitHub's device flow), when GITHUB_CLIENT_ID is set. */
  linker?: GithubLinker;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** Where `deckhand chat` shows what it brings up (store, sandbox), one line per step. */
  progress?: NodeJS.WritableStream;
  /** Asked once the store is up, before the sandbox opens: false leaves code execution off. */
  prepareSandbox?: () => Promise<boolean>;
}

export async function openRuntime(
  config: Config,
  log: Logger,
  options: RuntimeOptions = {},
): Promise<Runtime> {
  const uri = await resolveStoreUri(config, log, options.progress);
  const store = await openStore({
    uri,
    retries: config.store.connectRetries,
    retryBaseMs: config.tasks.retryBaseMs,
    defaultMaxAttempts: config.tasks.maxAttempts,
    secretKey: config.secrets.DECKHAND_SECRET_KEY,
    // Keys that still read (a rotation in progress); values they open are re-sealed with the key above.
    previousSecretKeys: config.secrets.DECKHAND_SECRET_KEY_PREVIOUS,
    onRetry: (attempt, error) => log.warn({ attempt, err: error }, 'database not reachable yet; retrying'),
    onReopen: (outcome) =>
      outcome === 'reopened'
        ? log.warn('database connection was down for 30 s; reopened it')
        : log.warn({ err: outcome }, 'database connection is still down; will try reopening again'),
  });
  if (config.secrets.SLACK_CLIENT_ID && !config.secrets.DECKHAND_SECRET_KEY)
    log.warn(
      'Slack installs are on (SLACK_CLIENT_ID) and DECKHAND_SECRET_KEY is not set: bot tokens are stored unencrypted; set it, e.g. export DECKHAND_SECRET_KEY="$(openssl rand -base64 32)"',
    );
  let redis: Redis | undefined;
  if (config.redis.url) {
    redis = new Redis(config.redis.url, { maxRetriesPerRequest: 2, enableOfflineQueue: true });
    redis.on('error', (error) => log.warn({ err: error }, 'Redis connection error'));
  } else {
    log.info('REDIS_URL is not set: rate limits and locks are in memory (run a single process)');
  }
  const rateLimits = createRateLimits(
    { userPerMinute: config.tasks.userPerMinute, workspacePerMinute: config.tasks.workspacePerMinute },
    redis,
  );
  const pipeline = createPipeline(store, { logger: log });
  const sandbox = (await (options.prepareSandbox?.() ?? true))
    ? await openSandbox(config, store, log)
    : undefined;
  // GitHub App (or GITHUB_TOKEN): mentions, tracking comments and the agent's repository tools. With
  // Redis, every process's GitHub clients share one throttling state (write spacing, rate limits).
  const githubAccess = githubAccessFromConfig(config, { logger: log, ...(redis ? { redis } : {}) });
  const githubTools = githubAccess
    ? createGitHubToolPort({ access: githubAccess, settings: config.github })
    : undefined;
  // Who may do what: one Access for the router and the agent's tools (src/core/policy.ts).
  const access = createAccess(
    {
      ...accessPortsOf(store),
      ...(githubTools
        ? {
            permissionOf: (repo: string, login: string, at?: string) =>
              githubTools.permissionOf(repo, login, at),
          }
        : {}),
    },
    accessSettingsOf(config),
    log,
  );
  // The agent when a model provider is configured (ANTHROPIC_API_KEY, OPENAI_API_KEY or OPENAI_BASE_URL).
  const agent = await orchestratorFromConfig(config, {
    store,
    logger: log,
    access,
    ...(sandbox ? { codeRunner: sandbox } : {}),
    ...(githubTools ? { github: githubTools } : {}),
    // schedule_digest / list_schedules: the same schedules `digest add` and `deckhand schedules` use.
    scheduler: schedulerToolPort(store, undefined, { minIntervalMinutes: config.digests.minIntervalMinutes }),
    // deckhand_model_tokens_total / _cost_usd_total on /metrics, per provider and model.
    onModelCall: (call) => {
      recordModelUsage({
        provider: call.provider,
        model: call.model,
        workspaceId: call.workspaceKey,
        tokensIn: call.tokensIn,
        tokensOut: call.tokensOut,
        costUsd: call.costUsd,
      });
    },
  });
  return {
    config,
    store,
    ...(redis ? { redis } : {}),
    rateLimits,
    pipeline,
    ...(sandbox ? { codeRunner: sandbox } : {}),
    ...(sandbox && config.sandbox.egress.enabled
      ? {
          dependencyInstaller: createDependencyInstaller({
            runner: sandbox,
            docker: createDockerClient(),
            image: config.sandbox.image,
            settings: config.sandbox.egress,
            logger: log,
          }),
        }
      : {}),
    ...(agent ? { orchestrator: agent.orchestrator, agent } : {}),
    ...(githubAccess ? { githubAccess } : {}),
    access,
    ...(config.secrets.GITHUB_CLIENT_ID
      ? { linker: githubLinker({ clientId: config.secrets.GITHUB_CLIENT_ID, apiUrl: config.github.apiUrl }) }
      : {}),
    async close() {
      await agent?.close();
      await sandbox?.close();
      redis?.disconnect();
      await store.close();
    },
  };
}

/** The Docker sandbox when an engine and the image are there; otherwise code execution is off (and said so). */
async function openSandbox(config: Config, store: Store, log: Logger): Promise<SandboxRunner | undefined> {
  if (!dockerConfigured()) {
    log.info('no Docker engine: code execution is off (deckhand doctor says how to enable it)');
    return undefined;
  }
  try {
    const docker = createDockerClient();
    if (!(await imageExists(docker, config.sandbox.image))) {
      log.info(
        { image: config.sandbox.image },
        'sandbox image not built: code execution is off (run deckhand sandbox build)',
      );
      return undefined;
    }
    const runner = sandboxRunnerFromConfig(config, { docker, store, logger: log });
    await runner.start();
    return runner;
  } catch (error) {
    log.warn({ err: error }, 'Docker sandbox unavailable: code execution is off');
    return undefined;
  }
}
