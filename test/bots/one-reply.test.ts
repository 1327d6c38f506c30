/**
 * One reply per task, whatever happens (issue 19, item 3): a later attempt of a task edits the
 * message an earlier attempt posted instead of posting another, on Slack and on Discord. The real
 * store, pipeline, worker, router and platform sinks; slack.com and discord.com are the loopback
 * stand-in, and the work is a stand-in orchestrator scripted per attempt.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createEventHandler,
  createPipeline,
  createSinkFactory,
  createWorker,
  type Pipeline,
  replyKeyOf,
  type SinkFactory,
} from '../../src/bots/index.js';
import {
  createLogger,
  DeckhandError,
  loadConfig,
  type NormalizedEvent,
  type Orchestrator,
  type ReplySink,
  streamReply,
} from '../../src/core/index.js';
import type { Store, TaskRecord } from '../../src/store/index.js';
import { type ApiCall, type FakeApi, startFakeApi } from '../support/platforms/index.js';
import { dropTestStore, openTestStore } from '../support/store.js';

const THREAD = '1736942400.000100';
const DISCORD_CHANNEL = '900000000000000002';
const NOT_ANSWERING = 'The model is not answering right now (stand-in: HTTP 500). Try again in a minute.';

let store: Store;
let api: FakeApi;
let pipeline: Pipeline;
let sinkFor: SinkFactory;
/** What the stand-in orchestrator does on each attempt of a task (1-based), by delivery key. */
let script: (sink: ReplySink, attempt: number, event: NormalizedEvent) => Promise<string>;
const attempts = new Map<string, number>();
let nextMessage = 0;
/** The message id the stand-in gave each post it answered (a Slack ts, a Discord id). */
const postedIds = new Map<ApiCall, string>();

/** Slack answers every post with a new ts, Discord with a new message id; edits and reactions succeed. */
function platformReply(call: ApiCall) {
  if (call.path.startsWith('/api/chat.postMessage')) {
    nextMessage += 1;
    const ts = `1736942500.${String(nextMessage).padStart(6, '0')}`;
    postedIds.set(call, ts);
    return { status: 200, body: { ok: true, ts } };
  }
  if (call.path.startsWith('/api/v10/') && call.method === 'POST') {
    nextMessage += 1;
    const id = `14000000000000${String(nextMessage).padStart(5, '0')}`;
    postedIds.set(call, id);
    return { status: 200, body: { id } };
  }
  if (call.path.startsWith('/api/v10/')) return { status: 200, body: { id: 'x' } };
  return { status: 200, body: { ok: true } };
}

const orchestrator: Orchestrator = async (event, sink) => {
  const attempt = (attempts.get(event.deliveryKey) ?? 0) + 1;
  attempts.set(event.deliveryKey, attempt);
  return script(sink, attempt, event);
};

function slackEvent(deliveryKey: string): NormalizedEvent {
  return {
    platform: 'slack',
    workspaceId: 'T0ONE',
    channelId: 'C0ONE',
    threadId: THREAD,
    userId: 'U0ALICE',
    text: 'what broke last night?',
    mentions: [],
    deliveryKey,
    eventType: 'app_mention',
    replyTo: { channel: 'C0ONE', threadTs: THREAD },
    receivedAt: new Date().toISOString(),
  };
}

function discordEvent(deliveryKey: string): NormalizedEvent {
  return {
    platform: 'discord',
    workspaceId: '900000000000000001',
    channelId: DISCORD_CHANNEL,
    threadId: deliveryKey,
    userId: '900000000000000003',
    text: 'what broke last night?',
    mentions: [],
    deliveryKey,
    eventType: 'message_create',
    replyTo: { channel: DISCORD_CHANNEL, messageId: deliveryKey },
    receivedAt: new Date().toISOString(),
  };
}

async function* chunks(...parts: string[]): AsyncIterable<string> {
  for (const part of parts) yield part;
}

const slackPosts = () => api.calls.filter((c) => c.path.startsWith('/api/chat.postMessage'));
const slackEdits = () => api.calls.filter((c) => c.path.startsWith('/api/chat.update'));
const discordMessages = (method: string) =>
  api.calls.filter((c) => c.method === method && c.path.includes(`/channels/${DISCORD_CHANNEL}/messages`));

/** The task the pipeline made for `event`, as a worker would have claimed it. */
async function taskOf(event: NormalizedEvent): Promise<TaskRecord> {
  const { taskId } = await pipeline.ingest(event);
  const task = await store.getTask(taskId);
  if (!task) throw new Error(`task ${taskId} was not stored`);
  return task;
}

beforeAll(async () => {
  store = await openTestStore();
  api = await startFakeApi(platformReply);
  const config = loadConfig({
    SLACK_BOT_TOKEN: 'xoxb-one-reply-test-token',
    DISCORD_BOT_TOKEN: 'MTEwMDAwMDAwMDAwMDAwMDAwMQ.Gabcde.one-reply-test',
  });
  config.slack.editIntervalMs = 0;
  sinkFor = createSinkFactory({
    config,
    logger: createLogger({ level: 'silent', pretty: false }),
    env: { SLACK_API_URL: `${api.url}/api`, DISCORD_API_URL: `${api.url}/api/v10` },
    retry: { sleep: async () => {} },
    anchors: store,
  });
  pipeline = createPipeline(store);
}, 60_000);

afterAll(async () => {
  await api?.close();
  await dropTestStore(store);
});

beforeEach(() => {
  api.calls.length = 0;
});

describe('one reply per task', () => {
  it('edits the "model is not answering" notice of a failed attempt into the retry\'s answer', async () => {
    const logger = createLogger({ level: 'silent', pretty: false });
    const handler = createEventHandler({ store, sinkFor, orchestrator });
    const worker = createWorker({ store, pipeline, logger, pollMs: 50, handler });
    script = async (sink, attempt) => {
      if (attempt === 1) {
        await sink.post(NOT_ANSWERING);
        throw new DeckhandError('UPSTREAM_FAILED', 'The model is not answering.', { retryable: true });
      }
      return streamReply(sink, chunks('Last night ', 'the deploy of api-7 failed its health check.'), 0);
    };
    worker.start();
    try {
      const { taskId } = await pipeline.ingest(slackEvent('one-reply-retry'));
      let task = await store.getTask(taskId);
      for (let i = 0; i < 200 && task?.status !== 'succeeded'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        task = await store.getTask(taskId);
      }
      expect(task?.status).toBe('succeeded');
      expect(task?.attempts).toBe(2);
    } finally {
      await worker.stop(5000);
    }

    const posts = slackPosts();
    expect(posts.map((c) => c.body.text)).toEqual([NOT_ANSWERING]);
    const edits = slackEdits();
    expect(edits.length).toBeGreaterThan(0);
    expect(edits.every((c) => c.body.ts === postedIds.get(posts[0]!))).toBe(true);
    expect(edits.at(-1)?.body.text).toBe('Last night the deploy of api-7 failed its health check.');
  });

  it("turns the task's message into the give-up notice when its last attempt fails", async () => {
    const logger = createLogger({ level: 'silent', pretty: false });
    const handler = createEventHandler({ store, sinkFor, orchestrator });
    const worker = createWorker({
      store,
      pipeline,
      logger,
      pollMs: 50,
      handler,
      // As `deckhand start` wires it (src/cli/start.ts).
      onGiveUp: async (task, message) => {
        await sinkFor(task.payload as NormalizedEvent).post(`I could not finish that: ${message}`);
      },
    });
    script = async (sink) => {
      await sink.post('Looking into it…');
      throw new DeckhandError('SANDBOX_FAILED', 'The sandbox could not start.');
    };
    worker.start();
    let taskId = '';
    try {
      ({ taskId } = await pipeline.ingest(slackEvent('one-reply-gave-up')));
      for (let i = 0; i < 200 && slackEdits().length === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      await worker.stop(5000);
    }

    const posts = slackPosts();
    expect(posts.map((c) => c.body.text)).toEqual(['Looking into it…']);
    expect(slackEdits().map((c) => [c.body.ts, c.body.text])).toEqual([
      [postedIds.get(posts[0]!), `I could not finish that: The sandbox could not start (task ${taskId}).`],
    ]);
  });

  it('edits instead of posting again when a task runs a second time after its worker died', async () => {
    const handler = createEventHandler({ store, sinkFor, orchestrator });
    script = async (sink, attempt) => streamReply(sink, chunks(`The answer, attempt ${attempt}.`), 0);
    const task = await taskOf(slackEvent('one-reply-died'));
    const ctx = { signal: new AbortController().signal, workerId: 'test' };
    await handler(task, ctx); // the first worker posted, then died before recording the result
    await handler(task, ctx); // the lease expired: another worker runs the same task

    const posts = slackPosts();
    expect(posts.map((c) => c.body.text)).toEqual(['The answer, attempt 1.']);
    const posted = await store.replyAnchorOf(replyKeyOf(task.id, 0));
    expect(posted).toBe(postedIds.get(posts[0]!));
    expect(slackEdits().map((c) => [c.body.ts, c.body.text])).toEqual([[posted, 'The answer, attempt 2.']]);
  });

  it('posts once when two attempts of one task run at the same time (a lease lost while the store was away)', async () => {
    const handler = createEventHandler({ store, sinkFor, orchestrator });
    script = async (sink, attempt) => streamReply(sink, chunks(`The answer, attempt ${attempt}.`), 0);
    const task = await taskOf(slackEvent('one-reply-twice-at-once'));
    const ctx = { signal: new AbortController().signal, workerId: 'test' };
    await Promise.all([handler(task, ctx), handler(task, ctx)]);

    const posts = slackPosts();
    expect(posts).toHaveLength(1);
    const posted = await store.replyAnchorOf(replyKeyOf(task.id, 0));
    expect(posted).toBe(postedIds.get(posts[0]!));
    expect(slackEdits().map((c) => c.body.ts)).toEqual([posted]);
  });

  it('still posts one message per task when two tasks answer in the same thread', async () => {
    const handler = createEventHandler({ store, sinkFor, orchestrator });
    script = async (sink, _attempt, event) => streamReply(sink, chunks(`Answer to ${event.deliveryKey}.`), 0);
    const ctx = { signal: new AbortController().signal, workerId: 'test' };
    await handler(await taskOf(slackEvent('one-reply-first')), ctx);
    await handler(await taskOf(slackEvent('one-reply-second')), ctx);

    const posts = slackPosts();
    expect(posts.map((c) => [c.body.thread_ts, c.body.text])).toEqual([
      [THREAD, 'Answer to one-reply-first.'],
      [THREAD, 'Answer to one-reply-second.'],
    ]);
    expect(new Set(posts.map((c) => c.body.channel)).size).toBe(1);
    expect(slackEdits()).toEqual([]);
  });

  it('keys every post of a task: a retry edits each message its earlier attempt posted', async () => {
    const handler = createEventHandler({ store, sinkFor, orchestrator });
    script = async (sink, attempt) => {
      await sink.post(`Plan, attempt ${attempt}.`);
      await sink.post(`Result, attempt ${attempt}.`);
      return 'done';
    };
    const task = await taskOf(slackEvent('one-reply-parts'));
    const ctx = { signal: new AbortController().signal, workerId: 'test' };
    await handler(task, ctx);
    await handler(task, ctx);

    expect(slackPosts().map((c) => c.body.text)).toEqual(['Plan, attempt 1.', 'Result, attempt 1.']);
    const [plan, result] = slackPosts().map((c) => postedIds.get(c));
    expect(slackEdits().map((c) => [c.body.ts, c.body.text])).toEqual([
      [plan, 'Plan, attempt 2.'],
      [result, 'Result, attempt 2.'],
    ]);
  });

  it('posts a new message, and keys it, when the earlier one can no longer be edited', async () => {
    const handler = createEventHandler({ store, sinkFor, orchestrator });
    script = async (sink, attempt) => streamReply(sink, chunks(`Attempt ${attempt}.`), 0);
    const task = await taskOf(slackEvent('one-reply-deleted'));
    const ctx = { signal: new AbortController().signal, workerId: 'test' };
    await handler(task, ctx);
    // Someone deleted the message: Slack refuses the edit for good.
    api.reply = (call) =>
      call.path.startsWith('/api/chat.update')
        ? { status: 200, body: { ok: false, error: 'message_not_found' } }
        : platformReply(call);
    try {
      await handler(task, ctx);
    } finally {
      api.reply = platformReply;
    }

    const posts = slackPosts();
    expect(posts.map((c) => c.body.text)).toEqual(['Attempt 1.', 'Attempt 2.']);
    expect(await store.replyAnchorOf(replyKeyOf(task.id, 0))).toBe(postedIds.get(posts[1]!));
  });

  it('edits the Discord channel message a dead attempt posted', async () => {
    const handler = createEventHandler({ store, sinkFor, orchestrator });
    script = async (sink, attempt) => streamReply(sink, chunks(`Discord, attempt ${attempt}.`), 0);
    const task = await taskOf(discordEvent('1300000000000000077'));
    const ctx = { signal: new AbortController().signal, workerId: 'test' };
    await handler(task, ctx);
    await handler(task, ctx);

    expect(discordMessages('POST').map((c) => c.body.content)).toEqual(['Discord, attempt 1.']);
    const posted = await store.replyAnchorOf(replyKeyOf(task.id, 0));
    expect(posted).toBe(postedIds.get(discordMessages('POST')[0]!));
    const edits = discordMessages('PATCH');
    expect(edits.map((c) => [c.path.split('/').at(-1), c.body.content])).toEqual([
      [posted, 'Discord, attempt 2.'],
    ]);
  });
});
