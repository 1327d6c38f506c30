/**
 * The agent's tools go through the workspace's one policy, as a chat user meets it: a linked Slack
 * user with write access gets a pull request opened on GitHub; an unlinked user is told to link and
 * GitHub is never asked for the file; a repository not connected to the workspace is refused with the
 * command that connects it; a guest cannot use an MCP server's tools; a permission lookup that fails
 * refuses instead of guessing. Real orchestrator, store, GitHub tool port and MCP server; the model
 * APIs and GitHub's REST API are loopback stand-ins.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent, SchedulerToolPort } from '../../src/agents/index.js';
import { createGitHubAccess, createGitHubToolPort } from '../../src/github/index.js';
import type { Store } from '../../src/store/index.js';
import { bareRemote, git } from '../github/support.js';
import {
  answerPullRequests,
  type GitHubStandIn,
  githubStandIn,
  type StandInRequest,
} from '../support/platforms/github.js';
import { dropTestStore, openTestStore } from '../support/store.js';
import { ModelServer } from './model-server.js';
import { anthropic, chat, makeAgent, testConfig, testEvent } from './support.js';

const SERVER_SCRIPT = resolve(import.meta.dirname, 'fixtures/mcp-server.ts');
const TOKEN = 'ghp_toolPolicyTokenForTests0000000';
const WORKSPACE = { platform: 'slack', workspaceId: 'T1' } as const;

/** GitHub logins and their permission on every repository of the stand-in. */
const PERMISSIONS: Record<string, string> = { ana: 'write', rita: 'read' };

let store: Store;
let models: ModelServer;
let api: GitHubStandIn;
let remotes: string;
let bare: string;
let agent: Agent;
const scheduled: unknown[] = [];
/** Every request for a file's contents or a login's permission the stand-in answered. */
const contents: StandInRequest[] = [];
let permissionAsks: StandInRequest[] = [];

const scheduler: SchedulerToolPort = {
  async scheduleDigest(input) {
    scheduled.push(input);
    return { name: input.name, cron: input.cron, timezone: input.timezone, channelId: input.channelId };
  },
  async listSchedules() {
    return [];
  },
};

function routeGitHub(standIn: GitHubStandIn): void {
  // A login whose permission check fails upstream (registered first: the first matching route answers).
  standIn.route(
    'GET',
    '/repos/acme/api/collaborators/flaky/permission',
    502,
    { message: 'Bad Gateway' },
    true,
  );
  standIn.route(
    'GET',
    /^\/repos\/acme\/[^/]+\/contents\//,
    200,
    (req) => {
      contents.push(req);
      return { type: 'file', encoding: 'base64', content: Buffer.from('hello\n').toString('base64') };
    },
    true,
  );
  permissionAsks = answerPullRequests(standIn, {
    owner: 'acme',
    permissions: PERMISSIONS,
    pullNumber: 7,
  }).permissionAsks;
}

beforeAll(async () => {
  store = await openTestStore();
  models = await new ModelServer().start();
  api = await githubStandIn();
  routeGitHub(api);
  remotes = mkdtempSync(join(tmpdir(), 'deckhand-tool-policy-'));
  bare = bareRemote(remotes, 'acme/api', { 'README.md': 'typo\n' });
  const config = testConfig({
    default: 'anthropic:claude-sonnet-4-6',
    mcpServers: {
      tickets: {
        command: process.execPath,
        args: ['--import', 'tsx', SERVER_SCRIPT],
        env: {},
        mutates: false,
        startTimeoutMs: 20_000,
        callTimeoutMs: 10_000,
        roles: ['member', 'admin', 'owner'],
        channels: [],
      },
    },
  });
  const github = createGitHubToolPort({
    access: createGitHubAccess({
      token: TOKEN,
      baseUrl: api.url,
      throttle: { enabled: false },
      retry: { enabled: false },
    }),
    settings: { ...config.github, cloneBaseUrl: `file://${remotes}` },
  });
  agent = await makeAgent(config, { store, github, scheduler, baseURLs: { anthropic: models.url } });
  await store.linkGithub({ ...WORKSPACE, userId: 'U-ana' }, { login: 'ana', githubId: 101 });
  await store.linkGithub({ ...WORKSPACE, userId: 'U-rita' }, { login: 'rita', githubId: 102 });
  await store.linkGithub({ ...WORKSPACE, userId: 'U-flaky' }, { login: 'flaky', githubId: 103 });
  await store.setRole(WORKSPACE, 'U-guest', 'guest', 'slack:U-admin');
  await store.connectRepo(WORKSPACE, 'acme/api', 'slack:U-admin');
});

afterAll(async () => {
  await agent?.close();
  await models?.close();
  await api?.close();
  if (remotes) rmSync(remotes, { recursive: true, force: true });
  await dropTestStore(store);
});

/**
 * The model calls `tool` with `args`, then answers `answer`; returns what the user saw and the tool
 * result the model heard. `ask` names a profile (`ask digest-writer ...`) when the default lacks the tool.
 */
async function callTool(
  userId: string,
  threadId: string,
  tool: string,
  args: unknown,
  answer: string,
  ask = '',
) {
  models.requests.length = 0;
  models.reply(anthropic.callTool(`toolu_${threadId}`, tool, args), anthropic.answer([answer]));
  const outcome = await chat(store, agent, testEvent(`${ask}please use ${tool}`, { userId, threadId }));
  const result = JSON.stringify((models.requests[1]?.body.messages as unknown[] | undefined)?.at(-1));
  return { messages: outcome.messages, result };
}

const PR_ARGS = {
  repo: 'acme/api',
  title: 'Fix the typo',
  body: 'As asked in chat.',
  branch: 'deckhand/fix-typo',
  changes: [{ path: 'README.md', content: 'fixed\n' }],
};

describe("the agent's tools under the workspace policy", () => {
  it('opens the pull request on GitHub for a linked Slack user whose login has write access', async () => {
    const { messages } = await callTool('U-ana', 'pr-linked', 'open_pull_request', PR_ARGS, 'Opened #7.');

    // The pull request's link is shown whatever the model says after it.
    expect(messages).toEqual([
      '_open_pull_request: opened pull request #7: https://github.com/acme/api/pull/7_\n\nOpened #7.',
    ]);
    expect(permissionAsks.map((ask) => ask.path)).toContain('/repos/acme/api/collaborators/ana/permission');
    expect(git(['--git-dir', bare, 'show', 'deckhand/fix-typo:README.md'])).toBe('fixed\n');
    const audit = await store.listAudit({ action: 'tool.open_pull_request', actor: 'slack:U-ana' });
    expect(audit[0]).toMatchObject({ outcome: 'succeeded', target: 'acme/api#deckhand/fix-typo' });
    const decision = await store.listAudit({ action: 'policy.repo.write', actor: 'slack:U-ana' });
    expect(decision[0]).toMatchObject({ outcome: 'allowed', target: 'acme/api', workspace: 'slack:T1' });
  });

  it('refuses a pull request for a linked user with read access, naming the access needed', async () => {
    const { messages, result } = await callTool(
      'U-rita',
      'pr-read',
      'open_pull_request',
      {
        ...PR_ARGS,
        branch: 'deckhand/rita',
      },
      'I could not.',
    );
    expect(messages[0]).toContain(
      'open_pull_request refused: You need write access to acme/api on GitHub for this (yours: read access)._',
    );
    expect(result).toContain('Refused: You need write access to acme/api');
    expect(git(['--git-dir', bare, 'branch', '--list', 'deckhand/rita']).trim()).toBe('');
  });

  it('tells an unlinked Slack user to link GitHub, and never asks GitHub for the file', async () => {
    const before = { contents: contents.length, asks: permissionAsks.length };
    const { messages, result } = await callTool(
      'U-unlinked',
      'read-unlinked',
      'read_file',
      { repo: 'acme/api', path: 'README.md' },
      'You need to link GitHub first.',
    );
    expect(messages[0]).toContain('read_file refused: Link your GitHub account first: say `link github`._');
    expect(result).toContain('Refused: Link your GitHub account first: say `link github`. Nothing was done.');
    expect(contents).toHaveLength(before.contents);
    expect(permissionAsks).toHaveLength(before.asks);
    const decision = await store.listAudit({ action: 'policy.repo.read', actor: 'slack:U-unlinked' });
    expect(decision[0]).toMatchObject({ outcome: 'denied', detail: { missing: 'link' } });
  });

  it('reads a connected repository for a linked user with access', async () => {
    const before = contents.length;
    const { result } = await callTool(
      'U-rita',
      'read-ok',
      'read_file',
      { repo: 'acme/api', path: 'README.md' },
      'It says hello.',
    );
    expect(result).toContain('acme/api/README.md @ main\\nhello');
    expect(contents).toHaveLength(before + 1);
  });

  it('refuses a repository not connected to the workspace with the command that connects it', async () => {
    const before = contents.length;
    const { messages } = await callTool(
      'U-ana',
      'read-unconnected',
      'read_file',
      { repo: 'acme/other', path: 'README.md' },
      'That repository is not connected.',
    );
    expect(messages[0]).toContain(
      'read_file refused: acme/other is not connected to this workspace; a workspace admin can connect it with `repos connect acme/other`._',
    );
    expect(contents).toHaveLength(before);
  });

  it('refuses when GitHub cannot say what access the login has, instead of guessing', async () => {
    const before = contents.length;
    const { messages } = await callTool(
      'U-flaky',
      'read-flaky',
      'read_file',
      { repo: 'acme/api', path: 'README.md' },
      'I could not check.',
    );
    expect(messages[0]).toContain('read_file refused: your access to acme/api could not be checked (');
    expect(contents).toHaveLength(before);
  });

  it('refuses a digest over a repository not connected to the workspace; nothing is scheduled', async () => {
    const { messages } = await callTool(
      'U-ana',
      'digest-unconnected',
      'schedule_digest',
      { name: 'weekly', cron: '0 9 * * 1', repos: ['acme/api', 'acme/other'] },
      'Not scheduled.',
      'ask digest-writer ',
    );
    expect(messages[0]).toContain('schedule_digest refused: acme/other is not connected to this workspace');
    expect(scheduled).toEqual([]);
  });

  it("refuses a guest the MCP server's tools, and lets a member use them", async () => {
    const guest = await callTool('U-guest', 'mcp-guest', 'mcp_tickets_lookup_ticket', { id: 'DH-7' }, 'No.');
    expect(guest.messages[0]).toContain(
      'mcp_tickets_lookup_ticket refused: The tickets tools are for member, admin, owner in this workspace (yours: guest)._',
    );
    expect(guest.result).not.toContain('flaky sandbox test');

    const member = await callTool(
      'U-member',
      'mcp-member',
      'mcp_tickets_lookup_ticket',
      { id: 'DH-7' },
      'Found it.',
    );
    expect(member.result).toContain('DH-7: flaky sandbox test on ARM runners');
    expect(member.messages).toEqual(['Found it.']);
  });
});
