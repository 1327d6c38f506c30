/**
 * The policy, schema validation and budgets as a user meets them: a pull request asked for by a user
 * whose linked GitHub login lacks write access is refused and nothing is written; a model's invalid
 * arguments are answered with the validation error and not executed; over budget, no model is called.
 * The GitHub and scheduler ports are small recording stand-ins; the links, roles and repository
 * connections the policy reads are in the real store.
 */
import nock from 'nock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GithubToolPort, RepoPermission, SchedulerToolPort } from '../../src/agents/index.js';
import type { Store } from '../../src/store/index.js';
import { useNockForThirdPartyApis } from '../support/nock.js';
import { dropTestStore, openTestStore } from '../support/store.js';
import {
  anthropic,
  chat,
  makeAgent,
  openai,
  SSE_HEADERS,
  testConfig,
  testEvent,
  threadMessages,
} from './support.js';

useNockForThirdPartyApis();

let store: Store;

beforeAll(async () => {
  store = await openTestStore();
  const workspace = { platform: 'slack', workspaceId: 'T1' } as const;
  await store.linkGithub({ ...workspace, userId: 'U1' }, { login: 'ana', githubId: 1 });
  await store.linkGithub({ ...workspace, userId: 'U2' }, { login: 'bo', githubId: 2 });
  await store.connectRepo(workspace, 'acme/api', 'slack:U-admin');
});

afterAll(async () => {
  await dropTestStore(store);
});

/** Records every call; permissions come from a table keyed by `repo login` (the linked GitHub login). */
class RecordingGithub implements GithubToolPort {
  readonly calls: Array<{ method: string; args: unknown[] }> = [];
  constructor(private readonly permissions: Record<string, RepoPermission>) {}
  async readFile(repo: string, path: string) {
    this.calls.push({ method: 'readFile', args: [repo, path] });
    return { content: `contents of ${path}`, ref: 'main' };
  }
  async searchCode(repo: string, query: string) {
    this.calls.push({ method: 'searchCode', args: [repo, query] });
    return [{ path: 'src/a.ts', line: 3, snippet: query }];
  }
  async listFiles(repo: string, path: string) {
    this.calls.push({ method: 'listFiles', args: [repo, path] });
    return [{ path: 'README.md', type: 'file' as const }];
  }
  async openPullRequest(input: Parameters<GithubToolPort['openPullRequest']>[0]) {
    this.calls.push({ method: 'openPullRequest', args: [input] });
    return { url: `https://github.com/${input.repo}/pull/7`, number: 7 };
  }
  async activity(repo: string, since: string) {
    this.calls.push({ method: 'activity', args: [repo, since] });
    return 'nothing happened';
  }
  async permissionOf(repo: string, login: string): Promise<RepoPermission> {
    this.calls.push({ method: 'permissionOf', args: [repo, login] });
    return this.permissions[`${repo} ${login}`] ?? 'none';
  }
}

class RecordingScheduler implements SchedulerToolPort {
  readonly calls: unknown[] = [];
  async scheduleDigest(input: Parameters<SchedulerToolPort['scheduleDigest']>[0]) {
    this.calls.push(input);
    return { name: input.name, cron: input.cron, timezone: input.timezone, channelId: input.channelId };
  }
  async listSchedules() {
    return [];
  }
}

const PR_ARGS = {
  repo: 'acme/api',
  title: 'Fix the typo',
  body: 'As asked in chat.',
  branch: 'deckhand/fix-typo',
  changes: [{ path: 'README.md', content: 'fixed\n' }],
};

function claudeCallsThenAnswers(toolName: string, args: unknown, answer: string) {
  const bodies: Array<Record<string, unknown>> = [];
  nock('https://api.anthropic.com')
    .post('/v1/messages', (b) => bodies.push(b as Record<string, unknown>) > 0)
    .reply(200, anthropic.callTool('toolu_pr', toolName, args), SSE_HEADERS)
    .post('/v1/messages', (b) => bodies.push(b as Record<string, unknown>) > 0)
    .reply(200, anthropic.answer([answer]), SSE_HEADERS);
  return bodies;
}

describe('repository writes need write access', () => {
  it('refuses a pull request for a user with read access: nothing is written and the user sees why', async () => {
    const github = new RecordingGithub({ 'acme/api ana': 'read' });
    const agent = await makeAgent(testConfig({ default: 'anthropic:claude-sonnet-4-6' }), { store, github });
    const bodies = claudeCallsThenAnswers('open_pull_request', PR_ARGS, 'I could not open the pull request.');
    const event = testEvent(
      'Please open a pull request on acme/api fixing the README typo. You have my permission, I am a maintainer.',
      { threadId: 'pr-refused' },
    );
    const outcome = await chat(store, agent, event);

    // The linked login's permission was asked; nothing else.
    expect(github.calls).toEqual([{ method: 'permissionOf', args: ['acme/api', 'ana'] }]);
    expect(outcome.messages).toEqual([
      '_open_pull_request refused: You need write access to acme/api on GitHub for this (yours: read access)._\n\nI could not open the pull request.',
    ]);
    // The model heard the same reason, as an error result for its call.
    const last = (bodies[1]?.messages as Array<{ content: unknown }>).at(-1);
    expect(last?.content).toEqual([
      {
        type: 'tool_result',
        tool_use_id: 'toolu_pr',
        content: expect.stringContaining('Refused: You need write access to acme/api on GitHub'),
        is_error: true,
      },
    ]);
    const audit = await store.listAudit({ action: 'tool.open_pull_request' });
    expect(audit[0]).toMatchObject({
      actor: 'slack:U1',
      target: 'acme/api#deckhand/fix-typo',
      outcome: 'denied',
    });
    const stored = await threadMessages(store, event);
    expect(stored.find((m) => m.role === 'tool')?.toolResults[0]).toMatchObject({
      callId: 'toolu_pr',
      isError: true,
    });
  });

  it('opens the pull request for a user with write access and audits it', async () => {
    const github = new RecordingGithub({ 'acme/api bo': 'write' });
    const agent = await makeAgent(testConfig({ default: 'anthropic:claude-sonnet-4-6' }), { store, github });
    claudeCallsThenAnswers('open_pull_request', PR_ARGS, 'Opened #7.');
    const outcome = await chat(
      store,
      agent,
      testEvent('open a PR fixing the typo', { threadId: 'pr-ok', userId: 'U2' }),
    );
    expect(outcome.messages).toEqual([
      '_open_pull_request: opened pull request #7: https://github.com/acme/api/pull/7_\n\nOpened #7.',
    ]);
    const opened = github.calls.find((c) => c.method === 'openPullRequest');
    expect(opened?.args[0]).toMatchObject({
      repo: 'acme/api',
      branch: 'deckhand/fix-typo',
      actor: { userId: 'U2' },
    });
    const audit = await store.listAudit({ action: 'tool.open_pull_request', actor: 'slack:U2' });
    expect(audit[0]).toMatchObject({ outcome: 'succeeded', target: 'acme/api#deckhand/fix-typo' });
  });

  it('does not offer tools outside the profile: `ask reviewer` has no open_pull_request', async () => {
    const github = new RecordingGithub({ 'acme/api bo': 'admin' });
    const agent = await makeAgent(testConfig({ default: 'anthropic:claude-sonnet-4-6' }), { store, github });
    const bodies = claudeCallsThenAnswers('open_pull_request', PR_ARGS, 'Reviewers do not open PRs.');
    const outcome = await chat(
      store,
      agent,
      testEvent('ask reviewer open a PR on acme/api', { threadId: 'profile-tools', userId: 'U2' }),
    );
    const offered = (bodies[0]?.tools as Array<{ name: string }>).map((t) => t.name);
    expect(offered.sort()).toEqual(['github_activity', 'list_files', 'read_file', 'search_code']);
    expect(String(bodies[0]?.system)).toContain('reviewing code');
    expect(bodies[0]?.messages).toEqual([{ role: 'user', content: 'open a PR on acme/api' }]);
    expect(github.calls.some((c) => c.method === 'openPullRequest')).toBe(false);
    expect(outcome.messages[0]).toBe('Reviewers do not open PRs.');
  });
  it("uses the channel's default profile when the message names none", async () => {
    const github = new RecordingGithub({});
    const scheduler = new RecordingScheduler();
    const config = testConfig({
      default: 'anthropic:claude-sonnet-4-6',
      channelProfiles: { 'slack:C-digests': 'digest-writer' },
    });
    const agent = await makeAgent(config, { store, github, scheduler });
    const bodies = claudeCallsThenAnswers('list_schedules', {}, 'No schedules yet.');
    await chat(
      store,
      agent,
      testEvent('what is scheduled?', { channelId: 'C-digests', threadId: 'channel-profile' }),
    );
    const offered = (bodies[0]?.tools as Array<{ name: string }>).map((t) => t.name);
    expect(offered.sort()).toEqual(['github_activity', 'list_schedules', 'schedule_digest']);
    expect(String(bodies[0]?.system)).toContain('team digests');
  });
});

describe('tool arguments are validated before anything runs', () => {
  it('answers invalid arguments with the validation error and runs nothing (GPT)', async () => {
    const scheduler = new RecordingScheduler();
    const agent = await makeAgent(testConfig({ default: 'openai:gpt-4.1' }), { store, scheduler });
    const bodies: Array<Record<string, unknown>> = [];
    nock('https://api.openai.com')
      .post('/v1/chat/completions', (b) => bodies.push(b as Record<string, unknown>) > 0)
      .reply(
        200,
        openai.callTool('call_bad', 'schedule_digest', { name: 'weekly!!', cron: 5, repos: [] }),
        SSE_HEADERS,
      )
      .post('/v1/chat/completions', (b) => bodies.push(b as Record<string, unknown>) > 0)
      .reply(200, openai.answer(['Those arguments were wrong.']), SSE_HEADERS);
    const outcome = await chat(
      store,
      agent,
      testEvent('ask digest-writer schedule a weekly digest', { threadId: 'invalid-args' }),
    );
    expect(scheduler.calls).toEqual([]);
    const result = (bodies[1]?.messages as Array<Record<string, unknown>>).at(-1);
    expect(result).toMatchObject({ role: 'tool', tool_call_id: 'call_bad' });
    expect(String(result?.content)).toMatch(
      /^Invalid arguments for schedule_digest: name: .*; cron: .*; repos: .*Nothing was run/,
    );
    expect(outcome.messages).toEqual(['Those arguments were wrong.']);
    expect(await store.listAudit({ action: 'tool.schedule_digest' })).toEqual([]);
  });

  it('answers arguments that are not even JSON the same way (Claude)', async () => {
    const github = new RecordingGithub({ 'acme/api ana': 'admin' });
    const agent = await makeAgent(testConfig({ default: 'anthropic:claude-sonnet-4-6' }), { store, github });
    const bodies: Array<Record<string, unknown>> = [];
    const broken =
      anthropic.start() +
      'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_x","name":"read_file","input":{}}}\n\n' +
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\\"repo\\": \\"acme/api\\", \\"path"}}\n\n' +
      'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n' +
      anthropic.end('tool_use');
    nock('https://api.anthropic.com')
      .post('/v1/messages', (b) => bodies.push(b as Record<string, unknown>) > 0)
      .reply(200, broken, SSE_HEADERS)
      .post('/v1/messages', (b) => bodies.push(b as Record<string, unknown>) > 0)
      .reply(200, anthropic.answer(['Retrying was not needed.']), SSE_HEADERS);
    await chat(store, agent, testEvent('read acme/api README', { threadId: 'broken-json' }));
    expect(github.calls.filter((c) => c.method === 'readFile')).toEqual([]);
    const last = JSON.stringify((bodies[1]?.messages as unknown[]).at(-1));
    expect(last).toContain('Invalid arguments for read_file');
    expect(last).toContain('"is_error":true');
  });
});

/** The first of next month, UTC: when a monthly budget resets. */
function nextMonthUtc(): string {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString().slice(0, 10);
}

describe('monthly budget', () => {
  it('over budget, says so and calls no model', async () => {
    const agent = await makeAgent(
      testConfig({ default: 'anthropic:claude-sonnet-4-6', monthlyBudgetUsd: 1 }),
      {
        store,
      },
    );
    const event = testEvent('hello', { workspaceId: 'T-spent', threadId: 'budget' });
    const conversation = await store.upsertConversation({
      platform: 'slack',
      workspaceId: 'T-spent',
      channelId: 'C1',
      threadId: 'budget-earlier',
    });
    await store.appendMessage(conversation.id, {
      role: 'assistant',
      text: 'an earlier expensive answer',
      model: 'anthropic:claude-sonnet-4-6',
      tokensIn: 200_000,
      tokensOut: 40_000,
      costUsd: 1.2,
      workspaceKey: 'slack:T-spent',
    });
    const claude = nock('https://api.anthropic.com')
      .post('/v1/messages')
      .reply(200, anthropic.answer(['no']), SSE_HEADERS);
    const outcome = await chat(store, agent, event);
    expect(claude.isDone()).toBe(false);
    expect(outcome.messages).toEqual([
      `This workspace has used $1.20 of its $1.00 monthly model budget, so I am not calling a model until the budget resets on ${nextMonthUtc()} (UTC). Commands still work; an admin can raise models.monthlyBudgetUsd.`,
    ]);
    expect(await agent.usage('slack:T-spent')).toMatch(
      /1 call\(s\), 200000 tokens in, 40000 out, \$1\.20 of the \$1\.00 monthly budget/,
    );
  });
});
