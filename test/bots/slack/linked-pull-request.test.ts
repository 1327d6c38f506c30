/**
 * A pull request asked for in Slack, the whole way through as `deckhand start` wires it: signed Slack
 * events into the real HTTP app, the store (FerretDB), a worker running the router with the one
 * Access, GitHub's device flow for `link github`, the agent (scripted model) with the GitHub tool
 * port and the real Docker sandbox. GitHub's API is the loopback stand-in, the git remote a local
 * bare repository, slack.com a loopback fake that records what Deckhand posted. The tests run in
 * order, as one workspace's story: a member links, the admin links and connects acme/api, then the
 * member, a stranger and the member again (on another repository) ask for a change.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Agent } from '../../../src/agents/index.js';
import {
  createEventHandler,
  createHttpApp,
  createPipeline,
  createSinkFactory,
  createWorker,
  listen,
  type Worker,
} from '../../../src/bots/index.js';
import { accessSettingsOf, createAccess, createLogger, loadConfig } from '../../../src/core/index.js';
import { createGitHubToolPort, githubAccessFromConfig, githubLinker } from '../../../src/github/index.js';
import { LABEL_MANAGED, LABEL_OWNER, ownerId, type SandboxRunner } from '../../../src/runners/index.js';
import { accessPortsOf, type Store } from '../../../src/store/index.js';
import { ModelServer } from '../../agents/model-server.js';
import { anthropic, makeAgent } from '../../agents/support.js';
import { bareRemote, git } from '../../github/support.js';
import { ensureSandboxImage, testDocker, testRunner } from '../../runners/helpers.js';
import {
  answerDeviceFlow,
  answerPullRequests,
  type FakeApi,
  type GitHubStandIn,
  githubStandIn,
  type StandInRequest,
  startFakeApi,
} from '../../support/platforms/index.js';
import { dropTestStore, openTestStore } from '../../support/store.js';
import { postSlack, SLACK_SECRET } from './harness.js';

const TEAM = 'T0LINK';
const BOT = 'U0DECKHAND';
const MEMBER = 'U0MEMBER';
const ADMIN = 'U0ADMIN';
const STRANGER = 'U0STRANGER';
/** GitHub logins and their permission on acme/*. */
const PERMISSIONS: Record<string, string> = { 'member-gh': 'write', 'admin-gh': 'admin' };
const PR_URL = 'https://github.com/acme/api/pull/42';

const docker = testDocker();
let store: Store;
let slack: FakeApi;
let api: GitHubStandIn;
let models: ModelServer;
let runner: SandboxRunner;
let agent: Agent;
let worker: Worker;
let server: Server;
let base: string;
let remotes: string;
let bare: string;
/** Every POST /repos/…/pulls and permission lookup the stand-in answered since the last deviceFlowFor. */
let pullPosts: StandInRequest[] = [];
let permissionAsks: StandInRequest[] = [];

beforeAll(async () => {
  ensureSandboxImage();
  store = await openTestStore();
  api = await githubStandIn();
  models = await new ModelServer().start();
  let nextTs = 1;
  slack = await startFakeApi((call) => ({
    status: 200,
    body: call.path === '/api/chat.postMessage' ? { ok: true, ts: `1736942500.${nextTs++}` } : { ok: true },
  }));
  remotes = mkdtempSync(join(tmpdir(), 'deckhand-linked-pr-'));
  bare = bareRemote(remotes, 'acme/api', { 'README.md': 'typo\n' });
  const yaml = join(remotes, 'deckhand.yaml');
  writeFileSync(
    yaml,
    `access: { roles: { 'slack:${TEAM}:${ADMIN}': owner } }\ngithub: { cloneBaseUrl: 'file://${remotes}' }\nmodels: { maxRetries: 0 }\n`,
  );
  const config = loadConfig({
    SLACK_SIGNING_SECRET: SLACK_SECRET,
    SLACK_BOT_TOKEN: 'xoxb-linked-pr-token',
    ANTHROPIC_API_KEY: 'sk-ant-test-key',
    GITHUB_TOKEN: 'ghp_linkedPullRequestToken000000000',
    GITHUB_API_URL: api.url,
    GITHUB_CLIENT_ID: 'Iv1.linkedpr',
    DECKHAND_CONFIG: yaml,
  });
  const logger = createLogger({ level: (process.env.E2E_LOG as 'warn') ?? 'silent', pretty: false });
  // As src/cli/runtime.ts composes it: one Access for the router and the agent's tools.
  const githubAccess = githubAccessFromConfig(config, { logger });
  if (!githubAccess) throw new Error('GitHub access expected from GITHUB_TOKEN');
  const github = createGitHubToolPort({ access: githubAccess, settings: config.github });
  const access = createAccess(
    { ...accessPortsOf(store), permissionOf: (repo, login, at) => github.permissionOf(repo, login, at) },
    accessSettingsOf(config),
    logger,
  );
  runner = testRunner(docker, { warmPool: 0, store });
  await runner.start();
  const deps = { store, access, codeRunner: runner, github, baseURLs: { anthropic: models.url } };
  agent = await makeAgent(config, deps);
  const pipeline = createPipeline(store);
  const slackApi = { SLACK_API_URL: `${slack.url}/api` };
  const sinkFor = createSinkFactory({ config, logger, env: slackApi, installations: store, threads: store });
  const linker = githubLinker({ clientId: 'Iv1.linkedpr', apiUrl: config.github.apiUrl });
  const { orchestrator } = agent;
  const handler = createEventHandler({ store, sinkFor, access, linker, codeRunner: runner, orchestrator });
  worker = createWorker({ store, pipeline, logger, pollMs: 50, handler });
  worker.start();
  server = await listen(createHttpApp({ config, store, pipeline, logger }).app, 0, '127.0.0.1');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 180_000);

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await worker?.stop(5000);
  await agent?.close();
  await runner?.close();
  await Promise.all([slack?.close(), api?.close(), models?.close()]);
  if (remotes) rmSync(remotes, { recursive: true, force: true });
  await dropTestStore(store);
});

let nextEvent = 1;

/**
 * `user` says `text` to the bot in a thread of its own, as a signed app_mention through the HTTP app;
 * waits until the worker finished it. Returns what Deckhand posted or edited in Slack meanwhile, its
 * task, and the sandbox containers the runner created meanwhile (Docker's own event log).
 */
async function say(user: string, text: string) {
  const n = nextEvent++;
  const eventId = `Ev0LINK${n}`;
  const ts = `1736942400.${String(n).padStart(6, '0')}`;
  const mark = slack.calls.length;
  const since = Date.now();
  const event = { type: 'app_mention', user, text: `<@${BOT}> ${text}`, ts, channel: 'C0DEV', event_ts: ts };
  const body = JSON.stringify({
    type: 'event_callback',
    team_id: TEAM,
    api_app_id: 'A0DECKHAND',
    event_id: eventId,
    event_time: Math.floor(since / 1000),
    authorizations: [{ user_id: BOT, team_id: TEAM, is_bot: true }],
    event,
  });
  expect((await postSlack(base, body)).status).toBe(200);
  const task = await vi.waitFor(
    async () => {
      const found = await store.models.Task.findOne({ 'source.eventId': eventId }).lean();
      if (found?.status !== 'succeeded' && found?.status !== 'failed') throw new Error('not finished yet');
      return found;
    },
    { timeout: 60_000, interval: 50 },
  );
  const posted = slack.calls
    .slice(mark)
    .filter((call) => call.path === '/api/chat.postMessage' || call.path === '/api/chat.update');
  for (const call of posted.filter((c) => c.path === '/api/chat.postMessage')) {
    expect(call.body).toMatchObject({ channel: 'C0DEV', thread_ts: ts });
  }
  return {
    task,
    texts: posted.map((call) => String(call.body.text)),
    reply: String(posted.at(-1)?.body.text ?? ''),
    containers: await sandboxContainersCreated(since),
  };
}

/** Containers with this process's sandbox labels whose `create` Docker logged since `sinceMs`. */
async function sandboxContainersCreated(sinceMs: number): Promise<number> {
  const stream = await docker.getEvents({
    // Seconds with a fraction: Docker reads the digits after the point as a fraction of a second.
    since: sinceMs / 1000,
    until: Date.now() / 1000,
    filters: {
      type: ['container'],
      event: ['create'],
      label: [`${LABEL_MANAGED}=true`, `${LABEL_OWNER}=${ownerId()}`],
    },
  });
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text.split('\n').filter((line) => line.trim()).length;
}

/**
 * GitHub's device flow proves `login` next (the stand-in's first matching route answers: start afresh),
 * and acme/* answers pull requests again, recording into fresh `pullPosts` and `permissionAsks`.
 */
function deviceFlowFor(login: string, id: number): StandInRequest[] {
  api.reset();
  const seen = answerDeviceFlow(api, { login, id, pendingPolls: 1 });
  ({ pullsOpened: pullPosts, permissionAsks } = answerPullRequests(api, {
    owner: 'acme',
    permissions: PERMISSIONS,
    pullNumber: 42,
  }));
  return seen;
}

/** The model asks for a pull request on `repo`, then answers `answer`. */
function modelOpensPullRequest(repo: string, branch: string, answer: string): void {
  models.requests.length = 0;
  const args = {
    repo,
    title: 'Fix the README typo',
    body: 'As asked in Slack.',
    branch,
    changes: [{ path: 'README.md', content: 'fixed\n' }],
  };
  models.reply(
    anthropic.callTool(`toolu_${branch.replace(/\W/g, '_')}`, 'open_pull_request', args),
    anthropic.answer([answer]),
  );
}

const linked = (login: string) =>
  `Linked: you are @${login} on GitHub. Repository tools now act with your GitHub access.`;
/** What the model heard back from its tool call. */
const toolResult = () => JSON.stringify((models.requests[1]?.body.messages as unknown[] | undefined)?.at(-1));
const branches = () =>
  git(['--git-dir', bare, 'branch', '--list', '--format=%(refname:short)']).trim().split('\n');

describe('a pull request asked for in Slack, under the workspace policy', () => {
  it('a member links their GitHub account with `link github` through the device flow', async () => {
    const seen = deviceFlowFor('member-gh', 501);
    const { texts, reply } = await say(MEMBER, 'link github');
    expect(texts[0]).toMatch(
      /open <http:\/\/127\.0\.0\.1:\d+\/login\/device> and enter the code `WDJB-MJHT`/,
    );
    expect(reply).toBe(linked('member-gh'));
    expect(seen.map((req) => `${req.method} ${req.path}`)).toContain('GET /user');
    const link = await store.githubLinkOf({ platform: 'slack', workspaceId: TEAM, userId: MEMBER });
    expect(link).toMatchObject({ login: 'member-gh' });
  }, 60_000);

  it('the admin named in the config links too and connects acme/api to the workspace', async () => {
    deviceFlowFor('admin-gh', 502);
    expect((await say(ADMIN, 'link github')).reply).toBe(linked('admin-gh'));
    expect((await say(ADMIN, 'repos connect acme/api')).reply).toBe('Connected acme/api to this workspace.');
    expect(permissionAsks.map((ask) => ask.path)).toContain(
      '/repos/acme/api/collaborators/admin-gh/permission',
    );
    expect(await store.connectedRepos({ platform: 'slack', workspaceId: TEAM })).toEqual(['acme/api']);
  }, 60_000);

  it('the sandbox is wired in: a member’s `run python` creates a container and a Run record', async () => {
    const { task, reply, containers } = await say(MEMBER, 'run python\n```\nprint(6 * 7)\n```');
    expect(reply).toMatch(/^`python` exited 0 in \d+ ms\n```\n42\n```$/);
    expect(containers).toBeGreaterThanOrEqual(1);
    expect(await store.models.Run.countDocuments({ taskId: task._id })).toBe(1);
  }, 60_000);

  it('opens the pull request the linked member asked for: branch pushed, POST /pulls, URL in the reply', async () => {
    modelOpensPullRequest('acme/api', 'deckhand/fix-readme', `Opened ${PR_URL}.`);
    const { texts } = await say(MEMBER, 'please fix the typo in the acme/api README');

    expect(toolResult()).toContain(`opened pull request #42: ${PR_URL}`);
    expect(texts.join('\n')).toContain(PR_URL);
    expect(pullPosts).toHaveLength(1);
    expect(pullPosts[0]?.path).toBe('/repos/acme/api/pulls');
    expect(pullPosts[0]?.body).toMatchObject({ head: 'deckhand/fix-readme', base: 'main' });
    expect(git(['--git-dir', bare, 'show', 'deckhand/fix-readme:README.md'])).toBe('fixed\n');
    const audit = await store.listAudit({ action: 'tool.open_pull_request', actor: `slack:${MEMBER}` });
    expect(audit[0]).toMatchObject({ outcome: 'succeeded', target: 'acme/api#deckhand/fix-readme' });
  }, 60_000);

  it('refuses the same request from an unlinked Slack user: nothing pushed, no pull request, no sandbox', async () => {
    const before = { branches: branches(), asks: permissionAsks.length };
    modelOpensPullRequest('acme/api', 'deckhand/stranger', 'I could not open it.');
    const { task, texts, containers } = await say(STRANGER, 'please fix the typo in the acme/api README');

    expect(texts.join('\n')).toContain(
      'open_pull_request refused: Link your GitHub account first: say `link github`._',
    );
    expect(toolResult()).toContain('Refused: Link your GitHub account first: say `link github`.');
    expect(branches()).toEqual(before.branches);
    expect(pullPosts).toHaveLength(1);
    expect(permissionAsks).toHaveLength(before.asks);
    expect(containers).toBe(0);
    expect(await store.models.Run.countDocuments({ taskId: task._id })).toBe(0);
    const [decision] = await store.listAudit({ action: 'policy.repo.write', actor: `slack:${STRANGER}` });
    expect(decision).toMatchObject({ outcome: 'denied', detail: { missing: 'link' } });
    const [tool] = await store.listAudit({ action: 'tool.open_pull_request', actor: `slack:${STRANGER}` });
    expect(tool).toMatchObject({ outcome: 'denied', target: 'acme/api#deckhand/stranger' });
  }, 60_000);

  it('refuses the linked member a repository not connected to the workspace, naming the command', async () => {
    const before = { branches: branches() };
    modelOpensPullRequest('acme/other', 'deckhand/other', 'That repository is not connected.');
    const { texts, containers } = await say(MEMBER, 'please fix the typo in the acme/other README');

    expect(texts.join('\n')).toContain(
      'open_pull_request refused: acme/other is not connected to this workspace; a workspace admin can connect it with `repos connect acme/other`._',
    );
    expect(branches()).toEqual(before.branches);
    expect(pullPosts).toHaveLength(1);
    expect(containers).toBe(0);
    const [decision] = await store.listAudit({ action: 'policy.repo.write', actor: `slack:${MEMBER}` });
    expect(decision).toMatchObject({
      outcome: 'denied',
      target: 'acme/other',
      detail: { missing: 'connection' },
    });
  }, 60_000);
});
