/**
 * The policy rows only the agent's tools exercise (`repo.read`, `mcp`), run through the real command
 * router as a chat user meets them: the router and a real agent share one Access, so the same
 * decision that lets a message in also decides the model's tool call. repo.read: a linked member's
 * read_file reaches the reply; an unlinked member is told to link GitHub and a guest is told the
 * role needed, and GitHub is never asked for the file. mcp: a member's call to the tickets server
 * goes through; a guest's is refused; a server enabled for one channel refuses a call from another.
 * Real router, orchestrator, store, GitHub tool port and MCP server; the model API and GitHub's REST
 * API are loopback stand-ins.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agents/index.js';
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
import { ModelServer } from '../agents/model-server.js';
import { anthropic, makeAgent, testConfig, testEvent } from '../agents/support.js';
import {
  answerPullRequests,
  type GitHubStandIn,
  githubStandIn,
  type StandInRequest,
} from '../support/platforms/github.js';
import { dropTestStore, openTestStore } from '../support/store.js';

const SERVER_SCRIPT = resolve(import.meta.dirname, '../agents/fixtures/mcp-server.ts');
const TOKEN = 'ghp_toolRowsTokenForTheStandIn00000';
const WORKSPACE = { platform: 'slack', workspaceId: 'T1' } as const;
/** The file the stand-in serves: a line no default could produce. */
const FILE_TEXT = 'deckhand tool-rows fixture: the answer is 42';
const TICKET = 'DH-7: flaky sandbox test on ARM runners';

let store: Store;
let models: ModelServer;
let api: GitHubStandIn;
let agent: Agent;
let handle: ReturnType<typeof createEventHandler>;
/** Every request for a file's contents, and every permission lookup, the stand-in answered. */
const contents: StandInRequest[] = [];
let permissionAsks: StandInRequest[] = [];

/** A tickets server as test/agents/fixtures/mcp-server.ts runs it, for `channels`. */
function ticketsServer(channels: string[]) {
  return {
    command: process.execPath,
    args: ['--import', 'tsx', SERVER_SCRIPT],
    env: {},
    mutates: false,
    startTimeoutMs: 20_000,
    callTimeoutMs: 10_000,
    roles: ['member' as const, 'admin' as const, 'owner' as const],
    channels,
  };
}

function routeGitHub(standIn: GitHubStandIn): void {
  standIn.route(
    'GET',
    /^\/repos\/acme\/[^/]+\/contents\//,
    200,
    (req) => {
      contents.push(req);
      return { type: 'file', encoding: 'base64', content: Buffer.from(`${FILE_TEXT}\n`).toString('base64') };
    },
    true,
  );
  permissionAsks = answerPullRequests(standIn, {
    owner: 'acme',
    permissions: { rita: 'read', gus: 'read' },
  }).permissionAsks;
}

beforeAll(async () => {
  store = await openTestStore();
  models = await new ModelServer().start();
  api = await githubStandIn();
  routeGitHub(api);
  const base = testConfig({
    default: 'anthropic:claude-sonnet-4-6',
    mcpServers: { tickets: ticketsServer([]), opstickets: ticketsServer(['slack:C-OPS']) },
  });
  const config: Config = { ...base, access: { ...base.access, roles: { 'slack:T1:U-guest': 'guest' } } };
  const github = createGitHubToolPort({
    access: createGitHubAccess({
      token: TOKEN,
      baseUrl: api.url,
      throttle: { enabled: false },
      retry: { enabled: false },
    }),
    settings: config.github,
  });
  // One Access for the router and the agent: the same decision lets the message in and decides the tool.
  const access = createAccess(
    { ...accessPortsOf(store), permissionOf: (repo, login, at) => github.permissionOf(repo, login, at) },
    accessSettingsOf(config),
  );
  agent = await makeAgent(config, { store, github, access, baseURLs: { anthropic: models.url } });
  handle = createEventHandler({
    store,
    sinkFor: (event) => sinkOf(event),
    orchestrator: agent.orchestrator,
    access,
  });
  await store.linkGithub({ ...WORKSPACE, userId: 'U-rita' }, { login: 'rita', githubId: 102 });
  await store.linkGithub({ ...WORKSPACE, userId: 'U-guest' }, { login: 'gus', githubId: 103 });
  await store.connectRepo(WORKSPACE, 'acme/api', 'slack:U-admin');
});

afterAll(async () => {
  await agent?.close();
  await models?.close();
  await api?.close();
  await dropTestStore(store);
});

const sinks = new Map<string, MemorySink>();
function sinkOf(event: NormalizedEvent): MemorySink {
  const sink = sinks.get(event.deliveryKey) ?? new MemorySink();
  sinks.set(event.deliveryKey, sink);
  return sink;
}

/**
 * `userId` asks in `channelId`; the model calls `tool` with `args`, then answers `answer`. Runs the
 * message as its own task through the router, as the worker would; returns what the user saw (the
 * whole reply) and the tool result the model heard.
 */
async function ask(userId: string, tool: string, args: unknown, answer: string, channelId = 'C1') {
  const threadId = `rows-${randomBytes(4).toString('hex')}`;
  models.requests.length = 0;
  models.reply(anthropic.callTool(`toolu_${threadId}`, tool, args), anthropic.answer([answer]));
  const event = testEvent(`please use ${tool}`, { userId, channelId, threadId });
  const sink = sinkOf(event);
  const task = await store.enqueueTask({
    kind: 'event',
    source: { ...WORKSPACE, channelId, threadId, userId, eventId: event.deliveryKey },
    payload: event,
  });
  await handle(task, { signal: AbortSignal.timeout(60_000), workerId: 'test' });
  // Both scripted model turns were asked for: the tool call, then the answer after its result.
  expect(models.pending).toBe(0);
  const heard = JSON.stringify((models.requests[1]?.body.messages as unknown[] | undefined)?.at(-1));
  return { reply: sink.messages.join('\n'), heard };
}

const README = { repo: 'acme/api', path: 'README.md' };

describe('repo.read through the router: the read_file tool', () => {
  it("a linked member with read access: the file's content reaches the reply", async () => {
    const before = contents.length;
    const { reply, heard } = await ask('U-rita', 'read_file', README, `It says: ${FILE_TEXT}`);
    expect(heard).toContain(`acme/api/README.md @ main\\n${FILE_TEXT}`);
    expect(reply).toContain(`It says: ${FILE_TEXT}`);
    expect(reply).not.toContain('refused');
    expect(contents).toHaveLength(before + 1);
    expect(permissionAsks.map((a) => a.path)).toContain('/repos/acme/api/collaborators/rita/permission');
    const decision = await store.listAudit({ action: 'policy.repo.read', actor: 'slack:U-rita' });
    expect(decision[0]).toMatchObject({ outcome: 'allowed', target: 'acme/api', workspace: 'slack:T1' });
  }, 60_000);

  it('an unlinked member is told to link GitHub, and GitHub is never asked for the file', async () => {
    const before = { contents: contents.length, asks: permissionAsks.length };
    const { reply, heard } = await ask('U-unlinked', 'read_file', README, 'Please link GitHub.');
    expect(reply).toContain('read_file refused: Link your GitHub account first: say `link github`._');
    expect(heard).toContain('Refused: Link your GitHub account first');
    expect(heard).not.toContain(FILE_TEXT);
    expect(contents).toHaveLength(before.contents);
    expect(permissionAsks).toHaveLength(before.asks);
    const decision = await store.listAudit({ action: 'policy.repo.read', actor: 'slack:U-unlinked' });
    expect(decision[0]).toMatchObject({ outcome: 'denied', detail: { missing: 'link' } });
  }, 60_000);

  it('a linked guest (config access.roles) with read access is told the member role is needed; GitHub is never asked', async () => {
    const before = contents.length;
    const asksBefore = permissionAsks.length;
    const { reply, heard } = await ask('U-guest', 'read_file', README, 'You need a role.');
    expect(reply).toContain(
      'read_file refused: You need the member role in this workspace to read repositories (yours: guest); a workspace admin can grant it with `role @you member`._',
    );
    expect(heard).not.toContain(FILE_TEXT);
    // A role too low is refused before GitHub is asked anything: no permission lookup, no file.
    expect(contents).toHaveLength(before);
    expect(permissionAsks).toHaveLength(asksBefore);
    const decision = await store.listAudit({ action: 'policy.repo.read', actor: 'slack:U-guest' });
    expect(decision[0]).toMatchObject({ outcome: 'denied', detail: { missing: 'role' } });
  }, 60_000);
});

describe('mcp through the router: the tickets server', () => {
  const LOOKUP = { id: 'DH-7' };

  it("a member's call goes through: the ticket reaches the reply", async () => {
    const { reply, heard } = await ask('U-member', 'mcp_tickets_lookup_ticket', LOOKUP, `Found: ${TICKET}.`);
    expect(heard).toContain(TICKET);
    expect(reply).toContain(`Found: ${TICKET}.`);
    expect(reply).not.toContain('refused');
    const decision = await store.listAudit({ action: 'policy.mcp', actor: 'slack:U-member' });
    expect(decision[0]).toMatchObject({ outcome: 'allowed', target: 'mcp:tickets', workspace: 'slack:T1' });
  }, 60_000);

  it("a guest's call is refused with the roles the server is for; the tool never answers", async () => {
    const { reply, heard } = await ask('U-guest', 'mcp_tickets_lookup_ticket', LOOKUP, 'No.');
    expect(reply).toContain(
      'mcp_tickets_lookup_ticket refused: The tickets tools are for member, admin, owner in this workspace (yours: guest)._',
    );
    expect(heard).not.toContain(TICKET);
    const decision = await store.listAudit({ action: 'policy.mcp', actor: 'slack:U-guest' });
    expect(decision[0]).toMatchObject({
      outcome: 'denied',
      target: 'mcp:tickets',
      detail: { missing: 'role' },
    });
  }, 60_000);

  it('a server enabled only in slack:C-OPS refuses a call from another channel, and answers there', async () => {
    const elsewhere = await ask('U-member', 'mcp_opstickets_lookup_ticket', LOOKUP, 'Not here.', 'C-DEV');
    expect(elsewhere.reply).toContain(
      'mcp_opstickets_lookup_ticket refused: The opstickets tools are not enabled in this channel._',
    );
    expect(elsewhere.heard).not.toContain(TICKET);
    const decision = await store.listAudit({ action: 'policy.mcp', actor: 'slack:U-member' });
    expect(decision[0]).toMatchObject({
      outcome: 'denied',
      target: 'mcp:opstickets',
      detail: { missing: 'channel' },
    });

    const there = await ask('U-member', 'mcp_opstickets_lookup_ticket', LOOKUP, `Found: ${TICKET}.`, 'C-OPS');
    expect(there.heard).toContain(TICKET);
    expect(there.reply).toContain(`Found: ${TICKET}.`);
    expect(there.reply).not.toContain('refused');
  }, 60_000);
});
