/**
 * The limits of one turn as a user meets them: the step limit, the wall-clock budget, and `status`
 * showing the workspace's model usage.
 */
import nock from 'nock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ModelCallCharge, type SchedulerToolPort, taskUsage } from '../../src/agents/index.js';
import type { Store } from '../../src/store/index.js';
import { useNockForThirdPartyApis } from '../support/nock.js';
import { dropTestStore, openTestStore } from '../support/store.js';
import { anthropic, chat, makeAgent, SSE_HEADERS, testConfig, testEvent } from './support.js';

useNockForThirdPartyApis();

let store: Store;

beforeAll(async () => {
  store = await openTestStore();
});

afterAll(async () => {
  await dropTestStore(store);
});

const scheduler: SchedulerToolPort = {
  scheduleDigest: async () => {
    throw new Error('not used');
  },
  listSchedules: async () => [{ name: 'weekly', cron: '0 9 * * 1', timezone: 'UTC', channelId: 'C1' }],
};

describe('turn limits', () => {
  it('stops after the step limit and tells the user how to go on', async () => {
    const agent = await makeAgent(testConfig({ default: 'anthropic:claude-sonnet-4-6', maxSteps: 2 }), {
      store,
      scheduler,
    });
    const scope = nock('https://api.anthropic.com')
      .post('/v1/messages')
      .times(2)
      .reply(
        200,
        () => anthropic.callTool(`toolu_${Math.random().toString(36).slice(2)}`, 'list_schedules', {}),
        SSE_HEADERS,
      );
    const outcome = await chat(store, agent, testEvent('list schedules forever', { threadId: 'steps' }));
    expect(scope.isDone()).toBe(true);
    expect(outcome.messages).toEqual([
      '_I stopped after 2 steps (the step limit for one message). Say "continue" to go on._',
    ]);
  });

  it('stops a turn that runs past its wall-clock budget', async () => {
    const agent = await makeAgent(
      testConfig({ default: 'anthropic:claude-sonnet-4-6', turnBudgetMs: 300, timeoutMs: 60_000 }),
      { store },
    );
    nock('https://api.anthropic.com')
      .post('/v1/messages')
      .delay(10_000)
      .reply(200, anthropic.answer(['too late']), SSE_HEADERS);
    const outcome = await chat(store, agent, testEvent('think hard', { threadId: 'budget-clock' }));
    expect(outcome.messages).toEqual(['_(stopped: this message used its 1 s time budget)_']);
    expect(outcome.sink.statuses.at(-1)).toBe('failed');
  });
});

describe('status', () => {
  it('reports every charged model call with its tokens and cost (for /metrics)', async () => {
    const calls: ModelCallCharge[] = [];
    const agent = await makeAgent(testConfig({ default: 'anthropic:claude-sonnet-4-6' }), {
      store,
      onModelCall: (call) => calls.push(call),
    });
    nock('https://api.anthropic.com')
      .post('/v1/messages')
      .reply(200, anthropic.answer(['Hello there.'], { input: 1200, output: 80 }), SSE_HEADERS);
    const event = testEvent('hello', { threadId: 'metered' });
    const outcome = await chat(store, agent, event);
    expect(outcome.messages.join('')).toContain('Hello there.');
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({
      workspaceKey: `${event.platform}:${event.workspaceId}`,
      modelId: 'anthropic:claude-sonnet-4-6',
      provider: 'anthropic',
      model: 'claude-sonnet-4-6',
      tokensIn: 1200,
      tokensOut: 80,
    });
    expect(calls[0]?.costUsd).toBeGreaterThanOrEqual(0);
  });

  it("shows this month's model usage of the workspace", async () => {
    const agent = await makeAgent(testConfig({ default: 'anthropic:claude-sonnet-4-6' }), { store });
    nock('https://api.anthropic.com')
      .post('/v1/messages')
      .reply(200, anthropic.answer(['hi'], { input: 1000, output: 500 }), SSE_HEADERS);
    const turn = await chat(store, agent, testEvent('hello', { workspaceId: 'T-usage', threadId: 'usage' }));
    expect(await taskUsage(store, turn.taskId)).toEqual({
      tokensIn: 1000,
      tokensOut: 500,
      costUsd: 0.0105,
      modelCalls: 1,
    });
    const status = await chat(
      store,
      agent,
      testEvent('status', { workspaceId: 'T-usage', threadId: 'usage' }),
    );
    // $3/M in, $15/M out: 0.003 + 0.0075.
    expect(status.messages[0]).toMatch(
      /\nModel usage this month: 1 call\(s\), 1000 tokens in, 500 out, \$0\.01\.$/,
    );
    expect(await agent.usage('slack:T-usage')).toBe(
      `Model usage in ${new Date().toISOString().slice(0, 7)}: 1 call(s), 1000 tokens in, 500 out, $0.0105 of the $50.00 monthly budget.`,
    );
  });
});
