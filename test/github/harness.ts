/**
 * The whole way through for the GitHub tests that drive Docker, built once here rather than in each
 * file: GitHub's REST API as a loopback stand-in (support.ts), the real store, a Docker sandbox
 * runner, the App's access with its own key, the reply sinks, pipeline, worker and command router,
 * and the HTTP app on loopback. Also what the tests ask of it: a fresh stand-in answering for the
 * App's token and recording the tracking comment, a signed delivery, a task waited for.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { expect } from 'vitest';
import {
  createEventHandler,
  createHttpApp,
  createPipeline,
  createSinkFactory,
  createWorker,
  listen,
} from '../../src/bots/index.js';
import {
  type Access,
  accessSettingsOf,
  type Config,
  createAccess,
  createLogger,
  loadConfig,
} from '../../src/core/index.js';
import {
  createGitHubAccess,
  createGitHubToolPort,
  createGitHubWork,
  type Reviewer,
  sinkClientFor,
  type WorkspaceAgent,
} from '../../src/github/index.js';
import {
  createDependencyInstaller,
  LABEL_DEPCACHE_SCOPE,
  type SandboxRunnerOptions,
} from '../../src/runners/index.js';
import { accessPortsOf, type Store, type TaskRecord } from '../../src/store/index.js';
import { ensureSandboxImage, testDocker, testRunner } from '../runners/helpers.js';
import { type GitHubStandIn, githubStandIn } from '../support/platforms/index.js';
import { dropTestStore, openTestStore } from '../support/store.js';
import { examplePayload, signedWebhook } from './support.js';

/** The repository of the @octokit/webhooks-examples payloads. */
export const REPO = 'Codertocat/Hello-World';
const SECRET = 'github-webhook-secret-for-github-harness';
const INSTALLATION = 4242;

export interface GitHubHarnessOptions {
  /** The model that changes a checkout, asked at each task (undefined: none is configured). */
  agent?: () => WorkspaceAgent | undefined;
  /** The model that reviews a pull request, asked at each task (undefined: none is configured). */
  reviewer?: () => Reviewer | undefined;
  /** Over the test runner's options (warm pool 0, no reaper), e.g. other limits. */
  runner?: Partial<SandboxRunnerOptions>;
  /**
   * Dependency installs through the egress proxy (sandbox.egress), with caches in a scope of this
   * harness's own; absent: installs are off, as with no engine for them.
   */
  egress?: Partial<Config['sandbox']['egress']>;
}

/** What Deckhand sent to the stand-in's issue comment routes since `githubApi()`. */
export interface CommentLog {
  /** Comments posted: on which issue, and the body. */
  comments: { issue: number; body: string }[];
  /** Bodies of comment edits, in order. */
  edits: string[];
  /** Every body posted or edited, in order. */
  sent: string[];
}

/** What `conversation()` serves: written by `user` (Codertocat) unless a comment says otherwise. */
export interface ConversationData {
  title?: string;
  body?: string;
  user?: string;
  labels?: string[];
  comments?: { user: string; body: string }[];
  files?: { filename: string; status: string; patch?: string }[];
}

/** An issue_comment.created example, as edited by the tests (a type alias: examplePayload's record casts to it). */
export type IssueCommentPayload = {
  issue: { number: number; title: string; pull_request?: { url: string } };
  comment: { id: number; body: string; user: { login: string } };
  sender: { login: string };
  installation?: { id: number };
};

export interface GitHubHarness {
  api: GitHubStandIn;
  store: Store;
  /** The one Access the GitHub work decides with (GitHub's permission answers from the stand-in). */
  access: Access;
  docker: Docker;
  /** What `cloneBaseUrl` points at (file://): bare remotes go at `<remotes>/<owner>/<repo>.git`. */
  remotes: string;
  /** Where checkouts are made. */
  workspaces: string;
  /** The installation token the stand-in hands out. */
  token: string;
  installation: number;
  /** Resets the stand-in to the App's token and the issue comment routes, recording the latter. */
  githubApi(): CommentLog;
  /** `user`'s role in REPO, answered once. */
  permission(user: string, role: string): void;
  /** REPO with `main` as its default branch, answered once. */
  repository(): void;
  /**
   * Issue or pull request `number` of REPO as the model's context is read from it (persisting until
   * the next `githubApi()`): the issue, its comments by page, and with `files` the pull request's.
   */
  conversation(number: number, data: ConversationData): void;
  /** A new comment on issue 1 of REPO (a new comment id each time), by `user` (Codertocat). */
  issueComment(body: string, options?: { user?: string }): IssueCommentPayload;
  /** A number no earlier call returned, for ids GitHub would make unique. */
  nextId(): number;
  /** POSTs `payload` as GitHub signs a webhook, and expects it accepted (202). */
  deliver(
    name: string,
    payload: unknown,
    deliveryId?: string,
  ): Promise<{ task: string; duplicate: boolean; ignored?: string }>;
  /** Waits for the worker to finish the task (bounded; not a timing assertion). */
  finished(taskId: string, timeoutMs?: number): Promise<TaskRecord>;
  close(): Promise<void>;
}

export async function startGitHubHarness(options: GitHubHarnessOptions = {}): Promise<GitHubHarness> {
  const cleanups: (() => unknown)[] = [];
  const close = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  };
  try {
    const harness = await start(options, cleanups);
    return { ...harness, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Starts each part, pushing how to stop it onto `cleanups` (undone last first). */
async function start(
  options: GitHubHarnessOptions,
  cleanups: (() => unknown)[],
): Promise<Omit<GitHubHarness, 'close'>> {
  ensureSandboxImage();
  const api = await githubStandIn();
  cleanups.push(() => api.close());
  const store = await openTestStore();
  cleanups.push(() => dropTestStore(store));
  const logger = createLogger({
    level: process.env.TEST_LOG_LEVEL === 'warn' ? 'warn' : 'silent',
    pretty: false,
  });
  const docker = testDocker();
  const runner = testRunner(docker, { warmPool: 0, reapIntervalMs: 0, logger, ...options.runner });
  await runner.start();
  cleanups.push(() => runner.close());
  const remotes = mkdtempSync(join(tmpdir(), 'deckhand-remotes-'));
  const workspaces = mkdtempSync(join(tmpdir(), 'deckhand-ws-'));
  cleanups.push(() => {
    for (const dir of [remotes, workspaces]) rmSync(dir, { recursive: true, force: true });
  });

  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const loaded = loadConfig({
    GITHUB_WEBHOOK_SECRET: SECRET,
    GITHUB_APP_ID: '123',
    GITHUB_PRIVATE_KEY: privateKey,
  });
  const config: Config = {
    ...loaded,
    github: {
      ...loaded.github,
      apiUrl: api.url,
      cloneBaseUrl: `file://${remotes}`,
      workspaceDir: workspaces,
    },
  };
  const access = createGitHubAccess({
    appId: '123',
    privateKey,
    baseUrl: api.url,
    throttle: { enabled: false },
    retry: { enabled: false },
  });
  const sinkFor = createSinkFactory({
    config,
    logger,
    // The store remembers each task's tracking comment, as `deckhand start` wires it.
    installations: store,
    githubClientFor: (event) => sinkClientFor(access, event.workspaceId),
    retry: { sleep: async () => {} },
  });
  // The policy `deckhand start` wires in: on GitHub a role is the repository permission.
  const policy = createAccess(
    {
      ...accessPortsOf(store),
      permissionOf: (repo, login, at) =>
        createGitHubToolPort({ access, settings: config.github }).permissionOf(repo, login, at),
    },
    accessSettingsOf(config),
    logger,
  );
  // The dependency caches this harness made are removed with it.
  const cacheScope = `test-${randomUUID().slice(0, 8)}`;
  cleanups.push(async () => {
    const { Volumes } = await docker.listVolumes({
      filters: { label: [`${LABEL_DEPCACHE_SCOPE}=${cacheScope}`] },
    });
    for (const volume of Volumes ?? [])
      await docker
        .getVolume(volume.Name)
        .remove()
        .catch(() => undefined);
  });
  const pipeline = createPipeline(store);
  const worker = createWorker({
    store,
    pipeline,
    pollMs: 50,
    leaseMs: 120_000,
    logger,
    handler: createEventHandler({
      store,
      sinkFor,
      codeRunner: runner,
      github: createGitHubWork({
        access,
        settings: config.github,
        runner,
        ...(options.egress
          ? {
              installer: createDependencyInstaller({
                runner,
                docker,
                image: config.sandbox.image,
                settings: { ...config.sandbox.egress, ...options.egress },
                cacheScope,
                logger,
              }),
            }
          : {}),
        store,
        logger,
        policy,
        // Getters: each test decides whether a model is there.
        get agent() {
          return options.agent?.();
        },
        get reviewer() {
          return options.reviewer?.();
        },
      }),
      access: policy,
    }),
  });
  worker.start();
  cleanups.push(() => worker.stop(5000));
  const server = await listen(createHttpApp({ config, store, pipeline, logger }).app, 0, '127.0.0.1');
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const token = `ghs_${randomUUID().replaceAll('-', '')}`;
  let lastId = 7_000_000;
  const nextId = () => ++lastId;
  return {
    api,
    store,
    access: policy,
    docker,
    remotes,
    workspaces,
    token,
    installation: INSTALLATION,
    nextId,

    githubApi() {
      api.reset();
      const log: CommentLog = { comments: [], edits: [], sent: [] };
      api.route(
        'POST',
        `/app/installations/${INSTALLATION}/access_tokens`,
        201,
        () => ({ token, expires_at: new Date(Date.now() + 3_600_000).toISOString() }),
        true,
      );
      api.route(
        'POST',
        /^\/repos\/Codertocat\/Hello-World\/issues\/\d+\/comments$/,
        201,
        (req) => {
          const issue = Number(/issues\/(\d+)\/comments/.exec(req.path)?.[1]);
          log.comments.push({ issue, body: String(req.body.body) });
          log.sent.push(String(req.body.body));
          return { id: 900 + log.comments.length };
        },
        true,
      );
      api.route(
        'PATCH',
        /^\/repos\/Codertocat\/Hello-World\/issues\/comments\/\d+$/,
        200,
        (req) => {
          log.edits.push(String(req.body.body));
          log.sent.push(String(req.body.body));
          return { id: 1 };
        },
        true,
      );
      return log;
    },

    permission(user, role) {
      api.route('GET', `/repos/${REPO}/collaborators/${user}/permission`, 200, {
        permission: role === 'maintain' ? 'write' : role,
        role_name: role,
        user: { login: user },
      });
    },

    repository() {
      api.route('GET', `/repos/${REPO}`, 200, { full_name: REPO, default_branch: 'main' });
    },

    conversation(number, data) {
      const user = (login: string) => ({ login });
      const comments = (data.comments ?? []).map((c, i) => ({
        id: 500_000 + number * 1000 + i,
        body: c.body,
        user: user(c.user),
        created_at: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
      }));
      api.route(
        'GET',
        `/repos/${REPO}/issues/${number}`,
        200,
        {
          number,
          title: data.title ?? `Issue ${number}`,
          body: data.body ?? '',
          state: 'open',
          user: user(data.user ?? 'Codertocat'),
          labels: (data.labels ?? []).map((name) => ({ name })),
          comments: comments.length,
        },
        true,
      );
      api.route(
        'GET',
        `/repos/${REPO}/issues/${number}/comments`,
        200,
        (req) => {
          const perPage = Number(req.query.get('per_page') ?? 30);
          const page = Number(req.query.get('page') ?? 1);
          return comments.slice((page - 1) * perPage, page * perPage);
        },
        true,
      );
      if (data.files) api.route('GET', `/repos/${REPO}/pulls/${number}/files`, 200, data.files, true);
    },

    issueComment(body, { user = 'Codertocat' } = {}) {
      const payload = examplePayload('issue_comment', 'created') as IssueCommentPayload;
      // Each call is a new comment: the dedupe key comes from the signed body's comment id.
      payload.comment.id = nextId();
      payload.comment.body = body;
      payload.comment.user.login = user;
      payload.sender.login = user;
      payload.installation = { id: INSTALLATION };
      return payload;
    },

    async deliver(name, payload, deliveryId = randomUUID()) {
      const res = await signedWebhook(base, SECRET, name, payload, deliveryId);
      expect(res.status).toBe(202);
      return (await res.json()) as { task: string; duplicate: boolean; ignored?: string };
    },

    async finished(taskId, timeoutMs = 60_000) {
      for (let waited = 0; waited < timeoutMs; waited += 100) {
        const task = await store.getTask(taskId);
        if (task && (task.status === 'succeeded' || task.status === 'failed')) return task;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`task ${taskId} did not finish`);
    },
  };
}
