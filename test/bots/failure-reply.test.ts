/**
 * What a user sees when their task fails for good: a short reason and the task id, never the
 * internal error text. The real pipeline, store, worker, router and Slack sink; slack.com is the
 * loopback stand-in, and the work that fails is a stand-in orchestrator throwing like a driver would.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { NormalizedEvent } from '../../src/core/index.js';
import { DeckhandError } from '../../src/core/index.js';
import { type OrchestratorWorker, startOrchestratorWorker } from './support/worker-harness.js';

const SECRET_URI =
  'mongodb://deckhand:hunter2-prod-pass@db-7.internal.example:27017/deckhand?authSource=admin';
const SECRET_PATH = '/srv/deckhand/dist/store/repo/conversations.js:212:19';

let harness: OrchestratorWorker;
/** What the stand-in orchestrator throws next. */
let failure: unknown;

function slackEvent(deliveryKey: string): NormalizedEvent {
  return {
    platform: 'slack',
    workspaceId: 'T0FAIL',
    channelId: 'C0OPS',
    threadId: '1736942400.000100',
    userId: 'U0ALICE',
    text: 'summarise the incident',
    mentions: [],
    deliveryKey,
    eventType: 'app_mention',
    replyTo: { channel: 'C0OPS', threadTs: '1736942400.000100' },
    receivedAt: new Date().toISOString(),
  };
}

beforeAll(async () => {
  harness = await startOrchestratorWorker({
    env: { SLACK_BOT_TOKEN: 'xoxb-failure-reply-test-token' },
    reply: () => ({ status: 200, body: { ok: true, ts: '1736942500.000001' } }),
    orchestrator: async () => {
      throw failure;
    },
    // As `deckhand start` wires it (src/cli/start.ts).
    onGiveUp: (sinkFor) => async (task, message) => {
      await sinkFor(task.payload as NormalizedEvent).post(`I could not finish that: ${message}`);
    },
  });
}, 60_000);
afterAll(async () => {
  await harness?.close();
});
beforeEach(() => {
  harness.api.calls.length = 0;
});

/** Ingests the event, waits for its task to fail, and returns the task id and what Slack was sent. */
async function failingTask(deliveryKey: string): Promise<{ taskId: string; posted: string[] }> {
  const { taskId } = await harness.pipeline.ingest(slackEvent(deliveryKey));
  for (let i = 0; i < 400; i++) {
    const task = await harness.store.getTask(taskId);
    if (task?.status === 'failed' && harness.api.calls.some((c) => c.path === '/api/chat.postMessage')) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const posted = harness.api.calls
    .filter((c) => c.path === '/api/chat.postMessage')
    .map((c) => String(c.body.text));
  return { taskId, posted };
}

describe('a task that fails for good', () => {
  it('tells the user the task id and that the details are logged, never the internal error text', async () => {
    const error = new Error(`connection to ${SECRET_URI} refused`);
    error.stack = `Error: connection to ${SECRET_URI} refused\n    at connect (${SECRET_PATH})`;
    failure = error;
    const { taskId, posted } = await failingTask('fail-untyped');

    expect(posted).toEqual([
      `I could not finish that: Something went wrong on my side (task ${taskId}); the details are in Deckhand's log.`,
    ]);
    const everything = JSON.stringify(harness.api.calls.map((c) => c.body));
    for (const secret of ['hunter2', 'db-7.internal', 'mongodb://', '/srv/deckhand', 'refused']) {
      expect(everything).not.toContain(secret);
    }
    // Operators still see what happened (/admin), with the password redacted.
    const task = await harness.store.getTask(taskId);
    expect(task?.lastError?.message).toContain('db-7.internal.example');
    expect(task?.lastError?.message).not.toContain('hunter2');
  });

  it("shows a typed error's own message with the task id, not its detail", async () => {
    failure = new DeckhandError('SANDBOX_FAILED', 'The sandbox could not start.', {
      detail: `docker: permission denied on ${SECRET_PATH}`,
    });
    const { taskId, posted } = await failingTask('fail-typed');
    expect(posted).toEqual([`I could not finish that: The sandbox could not start (task ${taskId}).`]);
  });

  it('keeps a typed error about our own records (store validation) to the generic line', async () => {
    failure = new DeckhandError('STORE_VALIDATION', `Message is invalid: text: ${SECRET_PATH}`);
    const { taskId, posted } = await failingTask('fail-store-validation');
    expect(posted).toEqual([
      `I could not finish that: Something went wrong on my side (task ${taskId}); the details are in Deckhand's log.`,
    ]);
  });
});
