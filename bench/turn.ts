/**
 * Agent turn overhead: 1,000 turns (BENCH_TURNS), each one model call that asks for a tool, the tool,
 * and a second model call that answers, against a zero-latency loopback model speaking Anthropic's SSE
 * format, on the real store. Overhead is the turn's wall time minus the time inside the model calls
 * (request to last event, through the real SDK) and inside the tool: memory load, store writes,
 * validation, policy, audit, streaming to the reply.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  createAnthropicProvider,
  createCostMeter,
  createModelChain,
  createOrchestrator,
  createPolicy,
  createProfiles,
  type ModelProvider,
  schedulerTools,
} from '../src/agents/index.js';
import { createLogger, MemorySink, type NormalizedEvent } from '../src/core/index.js';
import { openStore } from '../src/store/index.js';
import { ensureServices, percentile, round } from './services.js';

function sse(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

const START = sse('message_start', {
  type: 'message_start',
  message: {
    id: 'msg_bench',
    type: 'message',
    role: 'assistant',
    model: 'bench',
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage: { input_tokens: 50, output_tokens: 1 },
  },
});
const TOOL_CALL =
  START +
  sse('content_block_start', {
    type: 'content_block_start',
    index: 0,
    content_block: { type: 'tool_use', id: 'toolu_bench', name: 'list_schedules', input: {} },
  }) +
  sse('content_block_delta', {
    type: 'content_block_delta',
    index: 0,
    delta: { type: 'input_json_delta', partial_json: '{}' },
  }) +
  sse('content_block_stop', { type: 'content_block_stop', index: 0 }) +
  sse('message_delta', {
    type: 'message_delta',
    delta: { stop_reason: 'tool_use', stop_sequence: null },
    usage: { output_tokens: 10 },
  }) +
  sse('message_stop', { type: 'message_stop' });
const ANSWER =
  START +
  sse('content_block_start', {
    type: 'content_block_start',
    index: 0,
    content_block: { type: 'text', text: '' },
  }) +
  sse('content_block_delta', {
    type: 'content_block_delta',
    index: 0,
    delta: { type: 'text_delta', text: 'No schedules.' },
  }) +
  sse('content_block_stop', { type: 'content_block_stop', index: 0 }) +
  sse('message_delta', {
    type: 'message_delta',
    delta: { stop_reason: 'end_turn', stop_sequence: null },
    usage: { output_tokens: 5 },
  }) +
  sse('message_stop', { type: 'message_stop' });

export async function benchTurn(): Promise<Record<string, unknown>> {
  ensureServices('mongo');
  const turns = Number(process.env.BENCH_TURNS ?? 1000);
  const base = new URL(process.env.MONGODB_URI ?? '');
  base.pathname = `/bench_turn_${process.pid}`;
  const store = await openStore({ uri: base.toString(), retries: 2 });

  // The model: answers a request that ends with a tool result, otherwise calls the tool.
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString('utf8');
    });
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(body.includes('"tool_result"') ? ANSWER : TOOL_CALL);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  let inModel = 0;
  const real = createAnthropicProvider({ apiKey: 'bench', baseURL: url });
  const timed: ModelProvider = {
    name: 'anthropic',
    async *stream(request, signal) {
      let mark = performance.now();
      for await (const event of real.stream(request, signal)) {
        inModel += performance.now() - mark;
        yield event;
        mark = performance.now();
      }
      inModel += performance.now() - mark;
    },
  };
  let inTool = 0;
  const scheduler = {
    scheduleDigest: async () => {
      throw new Error('not in this bench');
    },
    listSchedules: async () => {
      const t = performance.now();
      const list: never[] = [];
      inTool += performance.now() - t;
      return list;
    },
  };
  // Time spent in the store during a turn (the writes overlap the model calls, so this is context,
  // not a term to subtract): on FerretDB the memory load scans the whole messages collection.
  let inStore = 0;
  const timedStore = new Proxy(store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (
        typeof value !== 'function' ||
        !['recentMessages', 'appendMessage', 'upsertConversation', 'recordAudit', 'usageSummary'].includes(
          String(key),
        )
      )
        return value;
      return async (...args: unknown[]) => {
        const t = performance.now();
        try {
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } finally {
          inStore += performance.now() - t;
        }
      };
    },
  });
  const logger = createLogger({ level: 'warn', pretty: false });
  const orchestrator = createOrchestrator({
    store: timedStore,
    chain: createModelChain({
      providers: { anthropic: timed },
      timeoutMs: 30_000,
      maxRetries: 0,
      retryBaseMs: 0,
      maxRetryAfterMs: 0,
    }),
    tools: schedulerTools(scheduler),
    policy: createPolicy({ access: { check: async () => ({ allowed: true }) }, mcpServers: {} }),
    profiles: createProfiles({
      default: 'anthropic:bench',
      defaultProfile: 'engineer',
      channelProfiles: {},
      profiles: { engineer: { systemPrompt: 'You are a benchmark.', tools: ['list_schedules'] } },
    }),
    cost: createCostMeter({ store: timedStore, prices: {}, monthlyBudgetUsd: 1e9 }),
    limits: {
      fallback: [],
      maxSteps: 4,
      turnBudgetMs: 60_000,
      maxOutputTokens: 256,
      contextTokens: 24_000,
      toolResultMaxChars: 8000,
    },
    logger,
    updateIntervalMs: 0,
  });

  const overhead: number[] = [];
  const storeTimes: number[] = [];
  const total: number[] = [];
  const signal = new AbortController().signal;
  try {
    for (let i = 0; i < turns + 20; i++) {
      const event: NormalizedEvent = {
        platform: 'slack',
        workspaceId: 'TBENCH',
        channelId: 'CBENCH',
        threadId: `thread-${i % 50}`,
        userId: 'UBENCH',
        text: 'any schedules?',
        mentions: [],
        deliveryKey: `bench-${i}`,
        eventType: 'app_mention',
        replyTo: {},
        receivedAt: new Date().toISOString(),
      };
      // The router stores the user's message before the orchestrator runs; not part of the turn.
      const conversation = await store.upsertConversation({
        platform: 'slack',
        workspaceId: 'TBENCH',
        channelId: 'CBENCH',
        threadId: event.threadId,
      });
      await store.appendMessage(conversation.id, { role: 'user', text: event.text });
      inModel = 0;
      inTool = 0;
      inStore = 0;
      const sink = new MemorySink();
      const started = performance.now();
      const reply = await orchestrator(event, sink, { signal, workerId: 'bench', taskId: '0'.repeat(24) });
      const elapsed = performance.now() - started;
      if (reply !== 'No schedules.') throw new Error(`unexpected reply ${JSON.stringify(reply)}`);
      await store.appendMessage(conversation.id, { role: 'assistant', text: reply });
      if (i >= 20) {
        // The first turns warm up the JIT, the SDK and the connection pool.
        total.push(elapsed);
        overhead.push(elapsed - inModel - inTool);
        storeTimes.push(inStore);
      }
    }
  } finally {
    server.close();
    await store.dropDatabase().catch(() => undefined);
    await store.close();
  }
  return {
    bench: 'turn',
    turns,
    turn_p50_ms: round(percentile(total, 50)),
    store_p50_ms: round(percentile(storeTimes, 50)),
    overhead_p50_ms: round(percentile(overhead, 50)),
    overhead_p99_ms: round(percentile(overhead, 99)),
  };
}
