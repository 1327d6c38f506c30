/**
 * An agent tool call under `access.approvals: { 'repo.write': admin }`, as a chat user meets it: a
 * linked member with write access asks, the model calls open_pull_request, and the turn waits for an
 * admin (config `access.roles`) to say `deny <id>` / `approve <id>` through the command router.
 * Denied, or nobody decides in time: the tool is refused, no branch reaches the remote and GitHub is
 * never asked to open the pull request. Approved: it is opened. Real orchestrator, store, command
 * router and GitHub tool port (on a bare local remote); the model and GitHub's REST API are loopback
 * stand-ins. The router and the agent share one Access.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Agent, GithubToolPort } from '../../src/agents/index.js';
import { createEventHandler } from '../../src/bots/index.js';
import {
  accessSettingsOf,
  type Config,
  createAccess,
  MemorySink,
  type NormalizedEvent,
} from '../../src/core/index.js';
import { createGitHubAccess, createGitHubToolPort } from '../../src/github/index.js';
import { accessPortsOf, type Store } from '../../src/store/index.js';
import { bareRemote, git } from '../github/support.js';
import {
  answerPullRequests,
  type GitHubStandIn,
  githubStandIn,
  type StandInRequest,
} from '../support/platforms/github.js';
import { dropTestStore, openTestStore } from '../support/store.js';
import { ModelServer } from './model-server.js';
import { anthropic, makeAgent, testConfig, testEvent } from './support.js';

const TOKEN = 'ghp_approvalToolsTokenForTests00000';
const WORKSPACE = { platform: 'slack', workspaceId: 'T1' } as const;

let store: Store;
let models: ModelServer;
let api: GitHubStandIn;
let remotes: string;
let bare: string;
let github: GithubToolPort;
const agents: Agent[] = [];
/** Every POST /pulls the stand-in answered. */
let pullsOpened: StandInRequest[] = [];

beforeAll(async () => {
  store = await openTestStore();
  models = await new ModelServer().start();
  api = await githubStandIn();
  pullsOpened = answerPullRequests(api, {
    owner: 'acme',
    permissions: { ana: 'write' },
    pullNumber: 9,
  }).pullsOpened;
  remotes = mkdtempSync(join(tmpdir(), 'deckhand-approval-tools-'));
  bare = bareRemote(remotes, 'acme/api', { 'README.md': 'typo\n' });
  const config = testConfig({ default: 'anthropic:claude-sonnet-4-6' });
  github = createGitHubToolPort({
    access: createGitHubAccess({
      token: TOKEN,
      baseUrl: api.url,
      throttle: { enabled: false },
      retry: { enabled: false },
    }),
    settings: { ...config.github, cloneBaseUrl: `file://${remotes}` },
  });
  await store.linkGithub({ ...WORKSPACE, userId: 'U-ana' }, { login: 'ana', githubId: 101 });
  await store.connectRepo(WORKSPACE, 'acme/api', 'slack:U-boss');
});

afterAll(async () => {
  for (const agent of agents) await agent.close();
  await models?.close();
  await api?.close();
  if (remotes) rmSync(remotes, { recursive: true, force: true });
  await dropTestStore(store);
});

/** The agent and the command router over one Access, with approvals for repository writes. */
async function deckhand(approvalTimeoutMinutes: number) {
  const base = testConfig({ default: 'anthropic:claude-sonnet-4-6' });
  const config: Config = {
    ...base,
    access: {
      ...base.access,
      roles: { 'slack:T1:U-boss': 'admin' },
      approvals: { 'repo.write': 'admin' },
      approvalTimeoutMinutes,
    },
  };
  const access = createAccess(
    { ...accessPortsOf(store), permissionOf: (repo, login, at) => github.permissionOf(repo, login, at) },
    accessSettingsOf(config),
  );
  const agent = await makeAgent(config, { store, github, access, baseURLs: { anthropic: models.url } });
  agents.push(agent);
  const sinks = new Map<string, MemorySink>();
  const handle = createEventHandler({
    store,
    sinkFor: (event) => sinks.get(event.deliveryKey) ?? new MemorySink(),
    orchestrator: agent.orchestrator,
    access,
  });

  /** One message as its own task, as the worker would run it; `done` resolves when the task ends. */
  function send(userId: string, threadId: string, text: string) {
    const event: NormalizedEvent = testEvent(text, {
      userId,
      threadId,
      deliveryKey: `approval-tools-${randomBytes(4).toString('hex')}`,
    });
    const sink = new MemorySink();
    sinks.set(event.deliveryKey, sink);
    const done = store
      .enqueueTask({
        kind: 'event',
        source: { ...WORKSPACE, channelId: event.channelId, threadId, userId, eventId: event.deliveryKey },
        payload: event,
      })
      .then((task) => handle(task, { signal: AbortSignal.timeout(60_000), workerId: 'test' }));
    return { sink, done };
  }
  return { send };
}

type Send = Awaited<ReturnType<typeof deckhand>>['send'];

const prArgs = (branch: string) => ({
  repo: 'acme/api',
  title: 'Fix the typo',
  body: 'As asked in chat.',
  branch,
  changes: [{ path: 'README.md', content: 'fixed\n' }],
});

/** Ana asks; the model calls open_pull_request on `branch`, then answers `answer`. */
function askForPullRequest(send: Send, threadId: string, branch: string, answer: string) {
  models.requests.length = 0;
  models.reply(
    anthropic.callTool(`toolu_${threadId}`, 'open_pull_request', prArgs(branch)),
    anthropic.answer([answer]),
  );
  return send('U-ana', threadId, 'please open a pull request fixing the typo');
}

/** The approval request the waiting turn posted, and its id. */
async function approvalOf(sink: MemorySink): Promise<{ text: string; id: string }> {
  let text = '';
  await vi.waitFor(
    () => {
      text = sink.messages.find((m) => m.includes('Approval id:')) ?? '';
      expect(text).not.toBe('');
    },
    { timeout: 20_000, interval: 50 },
  );
  const id = /Approval id: `([\w-]+)`/.exec(text)?.[1];
  if (!id) throw new Error(`no approval id in: ${text}`);
  return { text, id };
}

/** What the model heard back from the tool (the last message of its second request). */
const toolResult = () => JSON.stringify((models.requests[1]?.body.messages as unknown[] | undefined)?.at(-1));
const branchInRemote = (branch: string) => git(['--git-dir', bare, 'branch', '--list', branch]).trim();

describe('open_pull_request waiting for an admin’s approval', () => {
  it('shows the repository, branch and files; denied by the admin: nothing is pushed or opened', async () => {
    const { send } = await deckhand(1);
    const pullsBefore = pullsOpened.length;
    const asked = askForPullRequest(send, 'pr-deny', 'deckhand/denied', 'It was not approved.');
    const { text, id } = await approvalOf(asked.sink);
    expect(text).toContain('asked to write to a repository');
    expect(text).toContain('open a pull request on acme/api: branch deckhand/denied');
    expect(text).toContain('write README.md');
    expect(text).toContain('Who may approve: a workspace admin or above, other than the person who asked.');

    const decision = send('U-boss', 'pr-deny', `deny ${id}`);
    await decision.done;
    expect(decision.sink.messages.at(-1)).toBe(`Denied request ${id}: nothing runs.`);
    await asked.done;

    expect(toolResult()).toContain('Not approved (denied). Nothing was done.');
    expect(asked.sink.messages.join('\n')).toContain('Denied by <@U-boss>: nothing ran.');
    expect(asked.sink.messages.join('\n')).toContain('It was not approved.');
    expect(branchInRemote('deckhand/denied')).toBe('');
    expect(pullsOpened).toHaveLength(pullsBefore);
    const toolAudit = await store.listAudit({ action: 'tool.open_pull_request', actor: 'slack:U-ana' });
    expect(toolAudit[0]).toMatchObject({
      outcome: 'denied',
      target: 'acme/api#deckhand/denied',
      detail: { note: 'not approved: denied' },
    });
    const denial = await store.listAudit({ action: 'approval.deny', actor: 'slack:U-boss' });
    expect(denial[0]).toMatchObject({ outcome: 'denied', target: `approval:${id}` });
  }, 60_000);

  it('nobody decides in time: the approval expires and nothing is pushed or opened', async () => {
    const { send } = await deckhand(0.02);
    const pullsBefore = pullsOpened.length;
    const asked = askForPullRequest(send, 'pr-expire', 'deckhand/expired', 'Nobody approved it.');
    const { id } = await approvalOf(asked.sink);
    await asked.done;

    expect(toolResult()).toContain('Not approved (expired). Nothing was done.');
    expect(asked.sink.messages.join('\n')).toContain('No one approved within 1 second: nothing ran.');
    expect(branchInRemote('deckhand/expired')).toBe('');
    expect(pullsOpened).toHaveLength(pullsBefore);
    const toolAudit = await store.listAudit({ action: 'tool.open_pull_request', actor: 'slack:U-ana' });
    expect(toolAudit[0]).toMatchObject({
      outcome: 'denied',
      target: 'acme/api#deckhand/expired',
      detail: { note: 'not approved: expired' },
    });
    // A late approve changes nothing.
    const late = send('U-boss', 'pr-expire', `approve ${id}`);
    await late.done;
    expect(late.sink.messages.at(-1)).toBe(`Request ${id} was already expired before anyone decided.`);
    expect(branchInRemote('deckhand/expired')).toBe('');
  }, 60_000);

  it('approved by the admin: the branch is pushed and the pull request opened', async () => {
    const { send } = await deckhand(1);
    const pullsBefore = pullsOpened.length;
    const asked = askForPullRequest(send, 'pr-approve', 'deckhand/approved', 'Opened #9.');
    const { id } = await approvalOf(asked.sink);
    // The asker cannot approve their own request.
    const own = send('U-ana', 'pr-approve', `approve ${id}`);
    await own.done;
    expect(own.sink.messages.at(-1)).toBe('Someone else has to approve your own request.');

    const decision = send('U-boss', 'pr-approve', `approve ${id}`);
    await decision.done;
    expect(decision.sink.messages.at(-1)).toBe(`Approved request ${id}: it goes ahead now.`);
    await asked.done;

    expect(asked.sink.messages.join('\n')).toContain('Approved by <@U-boss>.');
    expect(asked.sink.messages.join('\n')).toContain(
      '_open_pull_request: opened pull request #9: https://github.com/acme/api/pull/9_',
    );
    expect(pullsOpened).toHaveLength(pullsBefore + 1);
    expect(pullsOpened.at(-1)?.body).toMatchObject({ head: 'deckhand/approved', base: 'main' });
    expect(git(['--git-dir', bare, 'show', 'deckhand/approved:README.md'])).toBe('fixed\n');
    const toolAudit = await store.listAudit({ action: 'tool.open_pull_request', actor: 'slack:U-ana' });
    expect(toolAudit[0]).toMatchObject({ outcome: 'succeeded', target: 'acme/api#deckhand/approved' });
  }, 60_000);
});
