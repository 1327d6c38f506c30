/**
 * The agent behind the GitHub work's ports: the Reviewer answers through submit_review (validated,
 * one chance to fix), the WorkspaceAgent changes the checkout through run_in_workspace. ctx.runInSandbox
 * is the GitHub work's own function in production; here a recording stand-in.
 */
import nock from 'nock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemorySink } from '../../src/core/index.js';
import type { RunResult } from '../../src/runners/index.js';
import type { Store } from '../../src/store/index.js';
import { useNockForThirdPartyApis } from '../support/nock.js';
import { dropTestStore, openTestStore } from '../support/store.js';
import {
  accessWithGitHub,
  anthropic,
  githubEvent,
  makeAgent,
  openai,
  SSE_HEADERS,
  taskIdForTest,
  testConfig,
} from './support.js';

useNockForThirdPartyApis();

let store: Store;

beforeAll(async () => {
  store = await openTestStore();
});

afterAll(async () => {
  await dropTestStore(store);
});

const signal = new AbortController().signal;

describe('Reviewer', () => {
  it('returns the review the model submits, after one correction of invalid arguments', async () => {
    const config = testConfig({ default: 'anthropic:claude-sonnet-4-6' });
    const agent = await makeAgent(config, { store, access: accessWithGitHub(store, config, 'write') });
    const bodies: Array<Record<string, unknown>> = [];
    nock('https://api.anthropic.com')
      .post('/v1/messages', (b) => bodies.push(b as Record<string, unknown>) > 0)
      .reply(
        200,
        anthropic.callTool('toolu_r1', 'submit_review', {
          summary: 'ok',
          comments: [{ path: 'a.ts', line: 0 }],
        }),
        SSE_HEADERS,
      )
      .post('/v1/messages', (b) => bodies.push(b as Record<string, unknown>) > 0)
      .reply(
        200,
        anthropic.callTool('toolu_r2', 'submit_review', {
          summary: 'One blocking problem.',
          comments: [{ path: 'src/a.ts', line: 3, body: 'This divides by zero when n is 0.' }],
        }),
        SSE_HEADERS,
      );
    const review = await agent.reviewer({
      repo: 'acme/api',
      number: 5,
      title: 'Average',
      body: '',
      files: [
        { path: 'src/a.ts', status: 'modified', patch: '@@ -1,2 +1,3 @@\n a\n+const avg = sum / n;\n b' },
      ],
      instructions: 'review',
      event: githubEvent('acme/api', 5),
      taskId: taskIdForTest(),
      sink: new MemorySink(),
      signal,
    });
    expect(review).toEqual({
      summary: 'One blocking problem.',
      comments: [{ path: 'src/a.ts', line: 3, side: 'RIGHT', body: 'This divides by zero when n is 0.' }],
    });
    expect(JSON.stringify(bodies[0]?.messages)).toContain('const avg = sum / n;');
    const correction = JSON.stringify((bodies[1]?.messages as unknown[]).at(-1));
    expect(correction).toContain('Invalid arguments for submit_review: comments.0.line');
  });
});

describe('WorkspaceAgent', () => {
  it('changes the checkout through run_in_workspace and returns the summary for the pull request', async () => {
    const config = testConfig({ default: 'openai:gpt-4.1' });
    const agent = await makeAgent(config, { store, access: accessWithGitHub(store, config, 'write') });
    nock('https://api.openai.com')
      .post('/v1/chat/completions')
      .reply(
        200,
        openai.callTool('call_1', 'run_in_workspace', {
          language: 'bash',
          code: "sed -i 's/teh/the/' README.md",
        }),
        SSE_HEADERS,
      )
      .post('/v1/chat/completions')
      .reply(200, openai.answer(['Fixed the typo "teh" in README.md.']), SSE_HEADERS);
    const runs: Array<{ lang: string; code: string }> = [];
    const result = await agent.workspaceAgent({
      workspaceDir: '/tmp/checkout',
      instructions: 'fix the typo in the README',
      repo: 'octo/api',
      number: 9,
      event: githubEvent('octo/api', 9, { installation: '9009' }),
      taskId: taskIdForTest(),
      runInSandbox: async (run): Promise<RunResult> => {
        runs.push(run);
        return {
          exitCode: 0,
          stdout: '',
          stderr: '',
          timedOut: false,
          oomKilled: false,
          truncated: false,
          durationMs: 5,
        };
      },
      sink: new MemorySink(),
      signal,
    });
    expect(runs).toEqual([{ lang: 'bash', code: "sed -i 's/teh/the/' README.md" }]);
    expect(result).toEqual({ summary: 'Fixed the typo "teh" in README.md.' });
    expect(await agent.usage('github:9009')).toMatch(/^Model usage in \d{4}-\d{2}: 2 call\(s\)/);
  });
});
