/**
 * Model output that tries to page a whole channel reaches Slack and Discord inert. The real
 * pipeline, store, worker, router and reply sinks; slack.com and discord.com are the loopback
 * stand-in, and the assertions are on the exact bodies it received. The stand-in orchestrator posts
 * and then edits what a model wrote, as the real one streams.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { NormalizedEvent } from '../../src/core/index.js';
import { type OrchestratorWorker, startOrchestratorWorker } from './support/worker-harness.js';

const Z = '\u200B';
const SLACK_MODEL_TEXT = [
  'Heads up <!channel> and <!here|here>, also <!everyone> and <!group>.',
  'Paging <!subteam^S0ONCALL|@oncall> and <!subteam^S0SRE>; plain @here, @channel and @everyone too.',
  'See [the runbook](https://runbook.example/><!channel>) and `<!here>`; mail ops@here.example.',
].join('\n');
const SLACK_SENT = [
  `Heads up @${Z}channel and @${Z}here, also @${Z}everyone and @${Z}group.`,
  `Paging @${Z}oncall and @${Z}group; plain @${Z}here, @${Z}channel and @${Z}everyone too.`,
  `See <https://runbook.example/%3E%3C!channel%3E|the runbook> and \`@${Z}here\`; mail ops@here.example.`,
].join('\n');
const DISCORD_MODEL_TEXT = 'Attention @everyone and @here: <@&1400000000000000001> owns this.';
const DISCORD_SENT = `Attention @${Z}everyone and @${Z}here: <@&1400000000000000001> owns this.`;

let harness: OrchestratorWorker;
let nextId = 1;

function event(platform: 'slack' | 'discord', deliveryKey: string, text: string): NormalizedEvent {
  const slack = platform === 'slack';
  return {
    platform,
    workspaceId: slack ? 'T0PING' : '1100000000000000000',
    channelId: slack ? 'C0OPS' : '1000000000000000000',
    threadId: slack ? '1736942400.000100' : '1300000000000000001',
    userId: slack ? 'U0MALLORY' : '900000000000000000',
    text,
    mentions: [],
    deliveryKey,
    eventType: 'mention',
    replyTo: slack
      ? { channel: 'C0OPS', threadTs: '1736942400.000100' }
      : { channel: '1000000000000000000', messageId: '1300000000000000001' },
    receivedAt: new Date().toISOString(),
  };
}

beforeAll(async () => {
  harness = await startOrchestratorWorker({
    env: {
      SLACK_BOT_TOKEN: 'xoxb-broadcast-test-token',
      DISCORD_BOT_TOKEN: 'discord-broadcast-test-token',
    },
    reply: (call) => {
      const id = String(1736942500 + nextId++);
      if (call.path.startsWith('/api/v10/')) return { status: 200, body: { id: `15000000000000${id}` } };
      return { status: 200, body: { ok: true, ts: `${id}.000001` } };
    },
    configure: (config) => {
      config.slack.editIntervalMs = 0;
      config.discord.editIntervalMs = 0;
    },
    // What a model wrote, streamed: posted, then edited to its final text.
    orchestrator: async (incoming, sink) => {
      const reply = await sink.post('…');
      await sink.update(reply, incoming.text);
      return incoming.text;
    },
  });
}, 60_000);
afterAll(async () => {
  await harness?.close();
});
beforeEach(() => {
  harness.api.calls.length = 0;
});

async function answered(deliveryKey: string, incoming: NormalizedEvent): Promise<void> {
  const { taskId } = await harness.pipeline.ingest({ ...incoming, deliveryKey });
  for (let i = 0; i < 400; i++) {
    const task = await harness.store.getTask(taskId);
    if (task?.status === 'succeeded') return;
    if (task?.status === 'failed') throw new Error(`task failed: ${task.lastError?.message}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the task never finished');
}

describe('broadcast mentions in model output', () => {
  it('reach Slack as inert text: no <!here>, <!channel>, <!everyone> or <!subteam^…> in the body', async () => {
    await answered('ping-slack', event('slack', 'ping-slack', SLACK_MODEL_TEXT));
    const edits = harness.api.calls.filter((c) => c.path === '/api/chat.update');
    expect(edits).toHaveLength(1);
    expect(edits[0]?.body.text).toBe(SLACK_SENT);
    const bodies = JSON.stringify(harness.api.calls.map((c) => c.body));
    expect(bodies).not.toMatch(/<!(?:here|channel|everyone|group|subteam)/);
  });

  it('reach Discord with @everyone and @here broken and allowed_mentions pinging nobody, roles included', async () => {
    await answered('ping-discord', event('discord', 'ping-discord', DISCORD_MODEL_TEXT));
    const channel = '/api/v10/channels/1000000000000000000/messages';
    const edit = harness.api.calls.find((c) => c.method === 'PATCH' && c.path.startsWith(`${channel}/`));
    expect(edit?.body).toEqual({
      content: DISCORD_SENT,
      embeds: [],
      components: [],
      allowed_mentions: { parse: [], replied_user: false },
    });
    const post = harness.api.calls.find((c) => c.method === 'POST' && c.path === channel);
    expect(post?.body.allowed_mentions).toEqual({ parse: [], replied_user: false });
  });
});
