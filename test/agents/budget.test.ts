/**
 * Per-workspace model budgets as a user meets them: an override in models.budgets wins for its
 * workspace only, the reply that takes a workspace past 80% of its budget carries one heads-up line
 * (once a month), and over budget the refusal names the budget and the day it resets.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nock from 'nock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/index.js';
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

/** The first of next month, UTC: when a monthly budget resets. */
function nextMonthUtc(): string {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString().slice(0, 10);
}

/** One streamed answer costing $0.0105 ($3/M in, $15/M out: 1000 in, 500 out). */
function answers(times: number) {
  return nock('https://api.anthropic.com')
    .post('/v1/messages')
    .times(times)
    .reply(200, () => anthropic.answer(['fine'], { input: 1000, output: 500 }), SSE_HEADERS);
}

describe('per-workspace budget override', () => {
  it('refuses the overridden workspace after its first call while another workspace goes on', async () => {
    const agent = await makeAgent(
      testConfig({ default: 'anthropic:claude-sonnet-4-6', budgets: { 'slack:T-tiny': 0.001 } }),
      { store },
    );
    const first = answers(1);
    const tiny = await chat(store, agent, testEvent('hello', { workspaceId: 'T-tiny', threadId: 'tiny-1' }));
    expect(first.isDone()).toBe(true);
    expect(tiny.messages).toEqual([
      `fine\n\nHeads-up: this workspace has used 1050% of its $0.0010 monthly model budget. I will not call a model again until the budget resets on ${nextMonthUtc()} (UTC).`,
    ]);

    const unused = answers(1);
    const refused = await chat(
      store,
      agent,
      testEvent('again', { workspaceId: 'T-tiny', threadId: 'tiny-2' }),
    );
    expect(unused.isDone()).toBe(false);
    expect(refused.messages).toEqual([
      `This workspace has used $0.0105 of its $0.0010 monthly model budget, so I am not calling a model until the budget resets on ${nextMonthUtc()} (UTC). Commands still work; an admin can raise models.budgets["slack:T-tiny"].`,
    ]);
    expect(await agent.usage('slack:T-tiny')).toMatch(/\$0\.0105 of the \$0\.0010 monthly budget/);

    const other = await chat(store, agent, testEvent('hello', { workspaceId: 'T-other', threadId: 'other' }));
    expect(unused.isDone()).toBe(true);
    expect(other.messages).toEqual(['fine']);
    expect(await agent.usage('slack:T-other')).toMatch(/of the \$50\.00 monthly budget/);
  });

  it('reads models.budgets from the config file and rejects a key that is not platform:workspace', () => {
    const dir = mkdtempSync(join(tmpdir(), 'deckhand-budget-'));
    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'models:\n  monthlyBudgetUsd: 20\n  budgets:\n    "slack:T1": 50\n');
    const config = loadConfig({ DECKHAND_CONFIG: good });
    expect(config.models.monthlyBudgetUsd).toBe(20);
    expect(config.models.budgets).toEqual({ 'slack:T1': 50 });

    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'models:\n  budgets:\n    T1: 50\n');
    expect(() => loadConfig({ DECKHAND_CONFIG: bad })).toThrow(/models\.budgets\.T1/);
    const negative = join(dir, 'negative.yaml');
    writeFileSync(negative, 'models:\n  budgets:\n    "slack:T1": -1\n');
    expect(() => loadConfig({ DECKHAND_CONFIG: negative })).toThrow(/models\.budgets/);
  });
});

describe('80% heads-up', () => {
  it('adds the heads-up line to the reply that crosses 80%, and only to that one', async () => {
    // $0.0125: one call takes the workspace to 84%, a second to 168%, the third is refused.
    const agent = await makeAgent(
      testConfig({ default: 'anthropic:claude-sonnet-4-6', budgets: { 'slack:T-warn': 0.0125 } }),
      { store },
    );
    const scope = answers(2);
    const crossing = await chat(
      store,
      agent,
      testEvent('one', { workspaceId: 'T-warn', threadId: 'warn-1' }),
    );
    expect(crossing.messages).toEqual([
      'fine\n\nHeads-up: this workspace has used 84% of its $0.0125 monthly model budget.',
    ]);
    const after = await chat(store, agent, testEvent('two', { workspaceId: 'T-warn', threadId: 'warn-2' }));
    expect(scope.isDone()).toBe(true);
    expect(after.messages).toEqual(['fine']);
    const refused = await chat(
      store,
      agent,
      testEvent('three', { workspaceId: 'T-warn', threadId: 'warn-3' }),
    );
    expect(refused.messages[0]).toMatch(
      /^This workspace has used \$0\.0210 of its \$0\.0125 monthly model budget/,
    );
    expect(refused.messages.join('\n')).not.toMatch(/Heads-up/);
  });

  it('says nothing while a workspace stays under 80%', async () => {
    const agent = await makeAgent(
      testConfig({ default: 'anthropic:claude-sonnet-4-6', budgets: { 'slack:T-calm': 1 } }),
      { store },
    );
    answers(2);
    for (const threadId of ['calm-1', 'calm-2']) {
      const outcome = await chat(store, agent, testEvent('hi', { workspaceId: 'T-calm', threadId }));
      expect(outcome.messages).toEqual(['fine']);
    }
  });
});
