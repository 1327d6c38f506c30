/**
 * Scheduled digests with a model: the digest-writer profile writes the opening from the facts, the
 * call is metered against the digest's workspace, and over budget the digest is the plain template.
 */
import nock from 'nock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeWithSummary, type DigestFacts, digestSummariser } from '../../src/scheduler/index.js';
import type { Store } from '../../src/store/index.js';
import { useNockForThirdPartyApis } from '../support/nock.js';
import { dropTestStore, openTestStore } from '../support/store.js';
import { anthropic, makeAgent, SSE_HEADERS, testConfig } from './support.js';

useNockForThirdPartyApis();

let store: Store;
beforeAll(async () => {
  store = await openTestStore();
});
afterAll(async () => {
  await dropTestStore(store);
});

function facts(workspaceId: string): DigestFacts {
  return {
    name: 'daily-eng',
    destination: { platform: 'slack', workspaceId, channelId: 'C0DIGEST' },
    timezone: 'Europe/Berlin',
    since: new Date('2026-11-22T08:00:00Z'),
    until: new Date('2026-11-23T08:00:00Z'),
    repos: [],
  };
}

describe('digest summaries', () => {
  it("opens the digest with the model's summary and counts the call against the channel's workspace", async () => {
    const agent = await makeAgent(testConfig({ default: 'anthropic:claude-sonnet-4-6' }), { store });
    let sent: { system?: unknown; messages?: Array<{ content: unknown }> } = {};
    nock('https://api.anthropic.com')
      .post('/v1/messages', (body) => {
        sent = body;
        return true;
      })
      .reply(
        200,
        anthropic.answer(['Two fixes shipped; ', 'one review has waited three days.'], {
          input: 900,
          output: 30,
        }),
        SSE_HEADERS,
      );
    const digest = await composeWithSummary(facts('T-DIGEST'), digestSummariser(agent), (error) => {
      throw error;
    });
    expect(digest.text).toContain('Two fixes shipped; one review has waited three days.');
    expect(JSON.stringify(sent.system)).toContain('writing team digests');
    expect(JSON.stringify(sent.messages)).toContain('daily-eng');
    expect(await agent.usage('slack:T-DIGEST')).toMatch(/1 call\(s\), 900 tokens in, 30 out/);
  });

  it('over budget, calls no model and posts the plain template', async () => {
    const agent = await makeAgent(
      testConfig({ default: 'anthropic:claude-sonnet-4-6', monthlyBudgetUsd: 0 }),
      { store },
    );
    const claude = nock('https://api.anthropic.com')
      .post('/v1/messages')
      .reply(200, anthropic.answer(['should not be asked']), SSE_HEADERS);
    const reasons: string[] = [];
    const digest = await composeWithSummary(facts('T-BROKE'), digestSummariser(agent), (error) =>
      reasons.push((error as Error).message),
    );
    expect(claude.isDone()).toBe(false);
    expect(digest.text).not.toContain('should not be asked');
    expect(reasons[0]).toMatch(/monthly model budget/);
  });
});
