/**
 * Shared by the agent tests: the providers' real SSE wire formats (for nock to serve to the real
 * SDKs), a config with test keys, and a chat helper that runs a message through the real router,
 * orchestrator and store and returns what the user saw.
 */
import { randomBytes } from 'node:crypto';
import { type Agent, type AgentDeps, orchestratorFromConfig } from '../../src/agents/index.js';
import { createEventHandler } from '../../src/bots/index.js';
import type { Access, NormalizedEvent } from '../../src/core/index.js';
import {
  accessSettingsOf,
  type Config,
  createAccess,
  createLogger,
  loadConfig,
  MemorySink,
} from '../../src/core/index.js';
import { accessPortsOf, type Store } from '../../src/store/index.js';

export const logger = createLogger({ level: 'silent', pretty: false });

type Sse = string;

function sse(event: string | undefined, data: unknown): Sse {
  return `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
}

/** Anthropic Messages streaming: message_start, content blocks, message_delta, message_stop. */
export const anthropic = {
  start(inputTokens = 20): Sse {
    return sse('message_start', {
      type: 'message_start',
      message: {
        id: `msg_${randomBytes(4).toString('hex')}`,
        type: 'message',
        role: 'assistant',
        model: 'claude-sonnet-4-6',
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: inputTokens, output_tokens: 1 },
      },
    });
  },
  text(index: number, chunks: string[]): Sse {
    return [
      sse('content_block_start', {
        type: 'content_block_start',
        index,
        content_block: { type: 'text', text: '' },
      }),
      sse('ping', { type: 'ping' }),
      ...chunks.map((text) =>
        sse('content_block_delta', {
          type: 'content_block_delta',
          index,
          delta: { type: 'text_delta', text },
        }),
      ),
      sse('content_block_stop', { type: 'content_block_stop', index }),
    ].join('');
  },
  toolUse(index: number, id: string, name: string, args: unknown): Sse {
    const json = JSON.stringify(args);
    const half = Math.floor(json.length / 2);
    return [
      sse('content_block_start', {
        type: 'content_block_start',
        index,
        content_block: { type: 'tool_use', id, name, input: {} },
      }),
      ...[json.slice(0, half), json.slice(half)].map((partial_json) =>
        sse('content_block_delta', {
          type: 'content_block_delta',
          index,
          delta: { type: 'input_json_delta', partial_json },
        }),
      ),
      sse('content_block_stop', { type: 'content_block_stop', index }),
    ].join('');
  },
  end(stopReason: 'end_turn' | 'tool_use', outputTokens = 10): Sse {
    return (
      sse('message_delta', {
        type: 'message_delta',
        delta: { stop_reason: stopReason, stop_sequence: null },
        usage: { output_tokens: outputTokens },
      }) + sse('message_stop', { type: 'message_stop' })
    );
  },
  /** A whole streamed answer of text. */
  answer(chunks: string[], usage = { input: 20, output: 10 }): Sse {
    return this.start(usage.input) + this.text(0, chunks) + this.end('end_turn', usage.output);
  },
  /** A streamed answer that calls one tool (optionally after some text). */
  callTool(id: string, name: string, args: unknown, text?: string): Sse {
    return (
      this.start() +
      (text ? this.text(0, [text]) : '') +
      this.toolUse(text ? 1 : 0, id, name, args) +
      this.end('tool_use', 30)
    );
  },
  error(type: string, message: string): Sse {
    return sse('error', { type: 'error', error: { type, message } });
  },
};

/** OpenAI Chat Completions streaming: chunks, a usage chunk, then [DONE]. */
export const openai = {
  chunk(delta: unknown, finish: string | null = null): Sse {
    return sse(undefined, {
      id: 'chatcmpl-1',
      object: 'chat.completion.chunk',
      created: 1_700_000_000,
      model: 'gpt-4.1',
      choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
    });
  },
  usage(prompt: number, completion: number): Sse {
    return sse(undefined, {
      id: 'chatcmpl-1',
      object: 'chat.completion.chunk',
      created: 1_700_000_000,
      model: 'gpt-4.1',
      choices: [],
      usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
    });
  },
  answer(chunks: string[], usage = { input: 20, output: 10 }): Sse {
    return [
      this.chunk({ role: 'assistant', content: '' }),
      ...chunks.map((content) => this.chunk({ content })),
      this.chunk({}, 'stop'),
      this.usage(usage.input, usage.output),
      sse(undefined, '[DONE]'),
    ].join('');
  },
  callTool(id: string, name: string, args: unknown): Sse {
    const json = JSON.stringify(args);
    const half = Math.floor(json.length / 2);
    return [
      this.chunk({ role: 'assistant', content: null }),
      this.chunk({ tool_calls: [{ index: 0, id, type: 'function', function: { name, arguments: '' } }] }),
      this.chunk({ tool_calls: [{ index: 0, function: { arguments: json.slice(0, half) } }] }),
      this.chunk({ tool_calls: [{ index: 0, function: { arguments: json.slice(half) } }] }),
      this.chunk({}, 'tool_calls'),
      this.usage(40, 20),
      sse(undefined, '[DONE]'),
    ].join('');
  },
};

export const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8' };

export function testConfig(models: Partial<Config['models']> = {}, env: NodeJS.ProcessEnv = {}): Config {
  const config = loadConfig({ ANTHROPIC_API_KEY: 'sk-ant-test-key', OPENAI_API_KEY: 'sk-test-key', ...env });
  return {
    ...config,
    models: {
      ...config.models,
      maxRetries: 0,
      retryBaseMs: 1,
      timeoutMs: 10_000,
      fallback: [],
      ...models,
    },
  };
}

export function testEvent(text: string, overrides: Partial<NormalizedEvent> = {}): NormalizedEvent {
  return {
    platform: 'slack',
    workspaceId: 'T1',
    channelId: 'C1',
    threadId: '1700000000.000100',
    userId: 'U1',
    userName: 'ana',
    text,
    mentions: [],
    deliveryKey: randomBytes(8).toString('hex'),
    eventType: 'app_mention',
    replyTo: {},
    receivedAt: new Date().toISOString(),
    ...overrides,
  };
}

/** A mention on a GitHub issue by `login`, as the GitHub adapter normalizes one. */
export function githubEvent(
  repo: string,
  number: number,
  options: { login?: string; text?: string; installation?: string } = {},
): NormalizedEvent {
  const login = options.login ?? 'ana';
  return testEvent(options.text ?? '@deckhand', {
    platform: 'github',
    workspaceId: options.installation ?? '4242',
    channelId: repo,
    threadId: String(number),
    userId: login,
    userName: login,
    eventType: 'issue_comment',
    replyTo: { repo, issueNumber: String(number), kind: 'issue' },
  });
}

/** The one Access, with GitHub's answer to "what may this login do in this repository" stood in. */
export function accessWithGitHub(
  store: Store,
  config: Config,
  permission: 'read' | 'write' | 'admin',
): Access {
  return createAccess(
    { ...accessPortsOf(store), permissionOf: async () => permission },
    accessSettingsOf(config),
  );
}

/** A task id as the store makes them (24 hex digits). */
export function taskIdForTest(): string {
  return randomBytes(12).toString('hex');
}

export async function makeAgent(config: Config, deps: Omit<AgentDeps, 'logger'>): Promise<Agent> {
  const agent = await orchestratorFromConfig(config, { logger, updateIntervalMs: 0, ...deps });
  if (!agent) throw new Error('no agent: the test config has no model key');
  return agent;
}

export interface ChatOutcome {
  /** What the user sees: the final text of each message posted. */
  messages: string[];
  reply: unknown;
  sink: MemorySink;
  taskId: string;
}

/** One message through the real router and orchestrator, as the worker would run it. */
export async function chat(
  store: Store,
  agent: Agent,
  event: NormalizedEvent,
  options: { signal?: AbortSignal; sink?: MemorySink } = {},
): Promise<ChatOutcome> {
  const sink = options.sink ?? new MemorySink();
  const signal = options.signal ?? new AbortController().signal;
  const task = await store.enqueueTask({
    kind: 'event',
    source: {
      platform: event.platform,
      workspaceId: event.workspaceId,
      channelId: event.channelId,
      threadId: event.threadId,
    },
    payload: event,
  });
  const handler = createEventHandler({ store, sinkFor: () => sink, orchestrator: agent.orchestrator });
  const result = (await handler(task, { signal, workerId: 'test' })) as { reply: unknown };
  return { messages: sink.messages, reply: result.reply, sink, taskId: task.id };
}

/** The conversation's stored messages for a test event's thread, oldest first. */
export async function threadMessages(store: Store, event: NormalizedEvent) {
  const conversation = await store.upsertConversation({
    platform: event.platform,
    workspaceId: event.workspaceId,
    channelId: event.channelId,
    threadId: event.threadId,
  });
  return store.recentMessages(conversation.id, 500);
}
