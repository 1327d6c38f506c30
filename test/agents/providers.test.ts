/**
 * The orchestrator against the real Anthropic and OpenAI SDKs, with nock serving their wire formats:
 * streamed text, fallback, retry-after, timeouts and cancellation in the middle of a stream.
 * (Streamed tool calls: sandbox-tools.test.ts and permissions.test.ts.)
 */
import { Readable } from 'node:stream';
import nock from 'nock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemorySink } from '../../src/core/index.js';
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
});

afterAll(async () => {
  await dropTestStore(store);
});

function bodyOf(body: unknown): Record<string, unknown> {
  return (typeof body === 'string' ? JSON.parse(body) : body) as Record<string, unknown>;
}

describe('streamed answers', () => {
  it('streams a Claude answer into one reply and records the call with its tokens and cost', async () => {
    const config = testConfig({ default: 'anthropic:claude-sonnet-4-6' });
    const agent = await makeAgent(config, { store });
    let sent: Record<string, unknown> = {};
    nock('https://api.anthropic.com')
      .post('/v1/messages', (body) => {
        sent = bodyOf(body);
        return true;
      })
      .matchHeader('authorization', 'Bearer sk-ant-test-key')
      .reply(200, anthropic.answer(['The answer ', 'is 42.'], { input: 1000, output: 500 }), SSE_HEADERS);
    const event = testEvent('what is the answer?', { threadId: 'stream-claude' });
    const shown: string[] = [];
    const outcome = await chat(store, agent, event, { sink: new MemorySink((text) => shown.push(text)) });

    // The user saw the first delta, then the message edited as the rest arrived.
    expect(shown).toEqual(['The answer ', 'The answer is 42.']);
    expect(outcome.messages).toEqual(['The answer is 42.']);
    expect(outcome.sink.statuses).toEqual(['working', 'done']);
    expect(sent.stream).toBe(true);
    expect(sent.model).toBe('claude-sonnet-4-6');
    expect(sent.messages).toEqual([{ role: 'user', content: 'what is the answer?' }]);
    const stored = await threadMessages(store, event);
    const call = stored.find((m) => m.model);
    expect(call).toMatchObject({
      role: 'assistant',
      text: 'The answer is 42.',
      tokensIn: 1000,
      tokensOut: 500,
    });
    // $3 per million in, $15 per million out.
    expect(call?.costUsd).toBeCloseTo(0.003 + 0.0075, 10);
    expect(call?.taskId).toBe(outcome.taskId);
  });

  it('streams a GPT answer through the OpenAI SDK', async () => {
    const config = testConfig({ default: 'openai:gpt-4.1' });
    const agent = await makeAgent(config, { store });
    let sent: Record<string, unknown> = {};
    nock('https://api.openai.com')
      .post('/v1/chat/completions', (body) => {
        sent = bodyOf(body);
        return true;
      })
      .matchHeader('authorization', 'Bearer sk-test-key')
      .reply(200, openai.answer(['Hello ', 'from ', 'GPT.']), SSE_HEADERS);
    const outcome = await chat(store, agent, testEvent('hi', { threadId: 'stream-gpt' }));
    expect(outcome.messages).toEqual(['Hello from GPT.']);
    expect(sent.stream).toBe(true);
    expect(sent.stream_options).toEqual({ include_usage: true });
  });

  it('reaches an OpenAI-compatible endpoint through OPENAI_BASE_URL without a key', async () => {
    const config = testConfig(
      { default: 'openai:llama3.1' },
      { ANTHROPIC_API_KEY: '', OPENAI_API_KEY: '', OPENAI_BASE_URL: 'http://ollama.internal:11434/v1' },
    );
    const agent = await makeAgent(config, { store });
    let sent: Record<string, unknown> = {};
    nock('http://ollama.internal:11434')
      .post('/v1/chat/completions', (body) => {
        sent = bodyOf(body);
        return true;
      })
      .reply(200, openai.answer(['local model here']), SSE_HEADERS);
    const outcome = await chat(store, agent, testEvent('hi', { threadId: 'stream-ollama' }));
    expect(outcome.messages).toEqual(['local model here']);
    expect(sent).toMatchObject({ model: 'llama3.1', max_tokens: 4096, stream: true });
  });
});

describe('provider failures', () => {
  it('falls back to GPT when Claude answers 529 overloaded', async () => {
    const config = testConfig({ default: 'anthropic:claude-sonnet-4-6', fallback: ['openai:gpt-4.1'] });
    const agent = await makeAgent(config, { store });
    const claude = nock('https://api.anthropic.com')
      .post('/v1/messages')
      .reply(529, { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
    nock('https://api.openai.com')
      .post('/v1/chat/completions')
      .reply(200, openai.answer(['GPT here.']), SSE_HEADERS);
    const event = testEvent('hello?', { threadId: 'fallback-529' });
    const outcome = await chat(store, agent, event);
    expect(claude.isDone()).toBe(true);
    expect(outcome.messages).toEqual(['GPT here.']);
    const stored = await threadMessages(store, event);
    expect(stored.find((m) => m.model)?.model).toBe('openai:gpt-4.1');
  });

  it('falls back after a 500 that persists through the retries', async () => {
    const config = testConfig({
      default: 'anthropic:claude-sonnet-4-6',
      fallback: ['openai:gpt-4.1'],
      maxRetries: 2,
    });
    const agent = await makeAgent(config, { store });
    const claude = nock('https://api.anthropic.com')
      .post('/v1/messages')
      .times(3)
      .reply(500, { type: 'error', error: { type: 'api_error', message: 'Internal server error' } });
    nock('https://api.openai.com')
      .post('/v1/chat/completions')
      .reply(200, openai.answer(['Second provider.']), SSE_HEADERS);
    const outcome = await chat(store, agent, testEvent('hello?', { threadId: 'fallback-500' }));
    expect(claude.isDone()).toBe(true);
    expect(outcome.messages).toEqual(['Second provider.']);
  });

  it('waits as long as retry-after says after a 429, then succeeds on the same model', async () => {
    const config = testConfig({ default: 'anthropic:claude-sonnet-4-6', maxRetries: 2, retryBaseMs: 20_000 });
    const waits: number[] = [];
    const agent = await makeAgent(config, {
      store,
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    const scope = nock('https://api.anthropic.com')
      .post('/v1/messages')
      .reply(
        429,
        { type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } },
        { 'retry-after': '7' },
      )
      .post('/v1/messages')
      .reply(200, anthropic.answer(['After waiting.']), SSE_HEADERS);
    const outcome = await chat(store, agent, testEvent('hi', { threadId: 'retry-after' }));
    expect(scope.isDone()).toBe(true);
    expect(outcome.messages).toEqual(['After waiting.']);
    // retry-after (7 s) decided the wait, not the 20 s backoff base.
    expect(waits).toEqual([7000]);
  });

  it('moves on to the next model when retry-after asks for longer than it is willing to wait', async () => {
    const config = testConfig({
      default: 'anthropic:claude-sonnet-4-6',
      fallback: ['openai:gpt-4.1'],
      maxRetries: 3,
      maxRetryAfterMs: 30_000,
    });
    const waits: number[] = [];
    const agent = await makeAgent(config, { store, sleep: async (ms) => void waits.push(ms) });
    nock('https://api.anthropic.com')
      .post('/v1/messages')
      .reply(
        429,
        { type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } },
        { 'retry-after': '3600' },
      );
    nock('https://api.openai.com')
      .post('/v1/chat/completions')
      .reply(200, openai.answer(['GPT instead.']), SSE_HEADERS);
    const outcome = await chat(store, agent, testEvent('hi', { threadId: 'retry-after-long' }));
    expect(outcome.messages).toEqual(['GPT instead.']);
    expect(waits).toEqual([]);
  });

  it('gives up on a model that does not answer within the timeout and says so', async () => {
    const config = testConfig({ default: 'anthropic:claude-sonnet-4-6', timeoutMs: 300, maxRetries: 1 });
    const agent = await makeAgent(config, { store });
    const scope = nock('https://api.anthropic.com')
      .post('/v1/messages')
      .times(2)
      .delay(5000)
      .reply(200, anthropic.answer(['too late']), SSE_HEADERS);
    const outcome = await chat(store, agent, testEvent('hi', { threadId: 'timeout' }));
    expect(scope.isDone()).toBe(true);
    expect(outcome.messages).toHaveLength(1);
    expect(outcome.messages[0]).toContain('The model is not answering right now');
    expect(outcome.messages[0]).toContain('no answer within 0 s');
    expect(outcome.sink.statuses.at(-1)).toBe('failed');
  });

  it('stops a streaming turn within seconds when its task is cancelled in the store (the `cancel` command)', async () => {
    const config = testConfig({ default: 'anthropic:claude-sonnet-4-6' });
    const agent = await makeAgent(config, { store });
    const body = new Readable({ read() {} });
    body.push(anthropic.start() + anthropic.text(0, ['Working on it']));
    nock('https://api.anthropic.com')
      .post('/v1/messages')
      .reply(200, () => body, SSE_HEADERS);
    const sink = new MemorySink();
    const event = testEvent('a long job', { threadId: 'cancel-command' });
    const pending = chat(store, agent, event, { sink });
    while (!sink.messages[0]?.includes('Working')) await new Promise((resolve) => setTimeout(resolve, 20));
    const [task] = (await store.listTasks({ status: 'queued' }, 500)).filter(
      (t) => t.source.threadId === 'cancel-command',
    );
    if (!task) throw new Error('the turn has no task');
    await store.cancelTask(task.id, 'cancelled by slack:U1', 'slack:U1');
    const outcome = await pending;
    body.destroy();
    expect(outcome.messages).toEqual(['Working on it\n\n_(cancelled)_']);
  });

  it('stops in the middle of a stream when the task is cancelled and keeps what was shown', async () => {
    const config = testConfig({ default: 'anthropic:claude-sonnet-4-6' });
    const agent = await makeAgent(config, { store });
    const controller = new AbortController();
    const body = new Readable({ read() {} });
    body.push(anthropic.start() + anthropic.text(0, ['Partial answer']));
    nock('https://api.anthropic.com')
      .post('/v1/messages')
      .reply(200, () => body, SSE_HEADERS);
    const event = testEvent('write a long essay', { threadId: 'cancel' });
    const sink = new MemorySink();
    const pending = chat(store, agent, event, { signal: controller.signal, sink });
    // Cancel once the first text has reached the user (the worker aborts the task's signal).
    while (!sink.messages[0]?.includes('Partial')) await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort(new Error('lease lost'));
    const outcome = await pending;
    body.destroy();
    expect(outcome.messages).toHaveLength(1);
    expect(outcome.messages[0]).toMatch(/^Partial answer\n\n_\(cancelled\)_$/);
  });
});
