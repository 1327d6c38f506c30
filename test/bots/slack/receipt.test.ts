/** The 👀 shown the moment a chat message's task is stored, before any worker runs it. */
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { acknowledgeReceipt, createSinkFactory, platformAdapters } from '../../../src/bots/index.js';
import type { NormalizedEvent } from '../../../src/core/index.js';
import { createLogger, loadConfig, MemorySink } from '../../../src/core/index.js';
import type { TaskRecord } from '../../../src/store/index.js';
import { useNockForThirdPartyApis } from '../../support/nock.js';

const logger = createLogger({ level: 'silent', pretty: false });
const config = loadConfig({ SLACK_BOT_TOKEN: 'xoxb-receipt', DISCORD_BOT_TOKEN: 'discord-receipt' });
const adapters = platformAdapters({ config, logger, env: {} });
const acknowledge = acknowledgeReceipt(createSinkFactory({ config, logger, adapters }), logger, adapters);

function task(event: Partial<NormalizedEvent>): TaskRecord {
  const payload: NormalizedEvent = {
    platform: 'slack',
    workspaceId: 'T1',
    channelId: 'C1',
    threadId: '1.0',
    userId: 'U1',
    text: 'help',
    mentions: [],
    deliveryKey: 'Ev1',
    eventType: 'app_mention',
    replyTo: { channel: 'C1', threadTs: '1.0', messageTs: '1.5' },
    receivedAt: new Date().toISOString(),
    ...event,
  };
  return { id: 't1', payload } as unknown as TaskRecord;
}

async function settled(scope: nock.Scope): Promise<void> {
  for (let n = 0; n < 200 && !scope.isDone(); n++) await new Promise((resolve) => setTimeout(resolve, 10));
}

useNockForThirdPartyApis();

describe('receipt acknowledgement', () => {
  it('reacts 👀 on a Slack message as soon as its task exists', async () => {
    const bodies: unknown[] = [];
    const scope = nock('https://slack.com')
      .post('/api/reactions.add', (body) => bodies.push(body) > 0)
      .reply(200, { ok: true });
    acknowledge(task({}));
    await settled(scope);
    expect(bodies).toEqual([{ channel: 'C1', timestamp: '1.5', name: 'eyes' }]);
  });

  it('reacts 👀 on a Discord gateway message', async () => {
    const scope = nock('https://discord.com')
      .put(`/api/v10/channels/9/messages/8/reactions/${encodeURIComponent('👀')}/@me`)
      .reply(204);
    acknowledge(
      task({
        platform: 'discord',
        channelId: '9',
        eventType: 'mention',
        replyTo: { channel: '9', messageId: '8' },
      }),
    );
    await settled(scope);
    expect(scope.isDone()).toBe(true);
  });

  it('leaves slash commands, button presses and interactions alone (they show their own progress)', () => {
    const asked: string[] = [];
    const recording = acknowledgeReceipt(
      (event) => {
        asked.push(event.eventType);
        return new MemorySink();
      },
      logger,
      adapters,
    );
    recording(task({ eventType: 'slash_command', replyTo: { responseUrl: 'https://hooks.slack.com/x' } }));
    recording(task({ eventType: 'block_actions' }));
    recording(
      task({ platform: 'discord', replyTo: { interactionToken: 'tok', applicationId: '1', channel: '9' } }),
    );
    recording(task({ eventType: 'thread_reply' }));
    expect(asked).toEqual(['thread_reply']);
  });
});
