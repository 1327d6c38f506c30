/**
 * What someone without write access to a repository can make Deckhand do from GitHub, and what a
 * replayed signed body does, against the real HTTP app, store, worker, router and Docker sandbox,
 * with the action gate `deckhand start` wires in. GitHub's REST API is a loopback stand-in.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipeline } from '../../src/bots/pipeline.js';
import { createEventHandler } from '../../src/bots/router.js';
import { createHttpApp, listen } from '../../src/bots/server.js';
import { createSinkFactory } from '../../src/bots/sinks.js';
import { createWorker, type Worker } from '../../src/bots/worker.js';
import { createLogger, loadConfig } from '../../src/core/index.js';
import {
  createGitHubAccess,
  createGitHubActionGate,
  createGitHubWork,
  sinkClientFor,
} from '../../src/github/index.js';
import type { SandboxRunner } from '../../src/runners/index.js';
import type { Store, TaskRecord } from '../../src/store/index.js';
import { ensureSandboxImage, testDocker, testRunner } from '../runners/helpers.js';
import { dropTestStore, openTestStore } from '../support/store.js';
import { examplePayload, type GitHubStandIn, githubStandIn, signedWebhook } from './support.js';

const SECRET = 'github-webhook-secret-for-outsider-tests';
const INSTALLATION = 5151;
const REPO = 'Codertocat/Hello-World';
const { privateKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});

let store: Store;
let server: Server;
let base: string;
let worker: Worker;
let runner: SandboxRunner;
let api: GitHubStandIn;
const comments: string[] = [];
let nextCommentId = 8_100_001;

beforeAll(async () => {
  ensureSandboxImage();
  api = await githubStandIn();
  store = await openTestStore();
  const logger = createLogger({ level: 'silent', pretty: false });
  runner = testRunner(testDocker(), { warmPool: 0 });
  await runner.start();
  const loaded = loadConfig({
    GITHUB_WEBHOOK_SECRET: SECRET,
    GITHUB_APP_ID: '123',
    GITHUB_PRIVATE_KEY: privateKey,
  });
  const config = { ...loaded, github: { ...loaded.github, apiUrl: api.url } };
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
    githubClientFor: (event) => sinkClientFor(access, event.workspaceId),
    retry: { sleep: async () => {} },
  });
  const pipeline = createPipeline(store);
  worker = createWorker({
    store,
    pipeline,
    pollMs: 50,
    logger,
    handler: createEventHandler({
      store,
      sinkFor,
      codeRunner: runner,
      github: createGitHubWork({ access, settings: config.github, runner, store, logger }),
      actionGate: createGitHubActionGate({ access, store, logger }),
    }),
  });
  worker.start();
  server = await listen(createHttpApp({ config, store, pipeline, logger }).app, 0, '127.0.0.1');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 300_000);

afterAll(async () => {
  await worker?.stop(5000);
  await new Promise((r) => server?.close(r));
  await runner?.close();
  await api?.close();
  await dropTestStore(store);
});

/** A fresh stand-in: the App's token, `user`'s role, and every comment Deckhand posts or edits. */
function githubApi(user: string, role: string): void {
  api.reset();
  comments.length = 0;
  api.route(
    'POST',
    `/app/installations/${INSTALLATION}/access_tokens`,
    201,
    () => ({ token: 'ghs_outsiders', expires_at: new Date(Date.now() + 3_600_000).toISOString() }),
    true,
  );
  api.route('GET', `/repos/${REPO}/collaborators/${user}/permission`, 200, {
    permission: role,
    role_name: role,
    user: { login: user },
  });
  api.route(
    'POST',
    /^\/repos\/Codertocat\/Hello-World\/issues\/\d+\/comments$/,
    201,
    (req) => {
      comments.push(String(req.body.body));
      return { id: 990 + comments.length };
    },
    true,
  );
  api.route(
    'PATCH',
    /^\/repos\/Codertocat\/Hello-World\/issues\/comments\/\d+$/,
    200,
    (req) => {
      comments.push(String(req.body.body));
      return { id: 1 };
    },
    true,
  );
}

/** A new issue comment by `user` saying `body`. */
function comment(user: string, body: string) {
  const payload = examplePayload('issue_comment', 'created') as {
    comment: { id: number; body: string; user: { login: string } };
    sender: { login: string };
    installation?: { id: number };
  };
  payload.comment.id = nextCommentId++;
  payload.comment.body = body;
  payload.comment.user.login = user;
  payload.sender.login = user;
  payload.installation = { id: INSTALLATION };
  return payload;
}

async function deliver(payload: unknown, deliveryId = randomUUID()) {
  const res = await signedWebhook(base, SECRET, 'issue_comment', payload, deliveryId);
  expect(res.status).toBe(202);
  return (await res.json()) as { task: string; duplicate: boolean };
}

async function finished(taskId: string): Promise<TaskRecord> {
  for (let i = 0; i < 600; i += 1) {
    const task = await store.getTask(taskId);
    if (task && (task.status === 'succeeded' || task.status === 'failed')) return task;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`task ${taskId} did not finish`);
}

const RUN = '@deckhand run bash\n```bash\necho "ran as $(id -u) on the sandbox"\n```';

describe('run and cancel from a GitHub comment', () => {
  it('refuses `run` from someone with read access, in one short reply, and runs nothing', async () => {
    githubApi('reader', 'read');
    const task = await finished((await deliver(comment('reader', RUN))).task);
    expect(task.status).toBe('succeeded');
    expect(comments).toEqual([
      expect.stringContaining(
        'Sorry @reader, I only run code for people with write access to Codertocat/Hello-World (yours: read).',
      ),
    ]);
    expect(comments.join('\n')).not.toContain('ran as');
    const audit = await store.listAudit({ actor: 'github:reader' });
    expect(audit[0]).toMatchObject({ action: 'github.run', outcome: 'denied' });
  }, 60_000);

  it('refuses `cancel` from someone with read access', async () => {
    githubApi('reader', 'triage');
    await finished((await deliver(comment('reader', '@deckhand cancel'))).task);
    expect(comments).toEqual([
      expect.stringContaining('Sorry @reader, I only `cancel` for people with write access'),
    ]);
  }, 60_000);

  it('runs code for someone with write access and posts the output', async () => {
    githubApi('writer', 'write');
    await finished((await deliver(comment('writer', RUN))).task);
    expect(comments.at(-1)).toContain('ran as');
  }, 60_000);
});

describe('a signed body replayed under new delivery ids', () => {
  it('is one task and one reply, whatever X-GitHub-Delivery says', async () => {
    githubApi('writer', 'write');
    const payload = comment('writer', '@deckhand help');
    const acks = [];
    for (let n = 0; n < 4; n++) acks.push(await deliver(payload));
    expect(new Set(acks.map((a) => a.task)).size).toBe(1);
    expect(acks.map((a) => a.duplicate)).toEqual([false, true, true, true]);
    await finished(acks[0]!.task);
    expect(comments).toHaveLength(1);
    expect(comments[0]).toContain('Deckhand commands');
  }, 60_000);
});
