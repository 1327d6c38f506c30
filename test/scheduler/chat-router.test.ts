import { Octokit } from '@octokit/rest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createEventHandler } from '../../src/bots/index.js';
import type { NormalizedEvent } from '../../src/core/index.js';
import { createLogger, MemorySink } from '../../src/core/index.js';
import { createDigestRunner, nextDue } from '../../src/scheduler/index.js';
import type { Store } from '../../src/store/index.js';
import { chatDigestPoster } from '../support/digest-poster.js';
import { type DigestStandIns, startDigestStandIns } from '../support/platforms/index.js';
import { dropTestStore, openTestStore } from '../support/store.js';

let store: Store;
let stand: DigestStandIns;

beforeAll(async () => {
  store = await openTestStore();
  stand = await startDigestStandIns();
});
afterAll(async () => {
  await stand?.close();
  await dropTestStore(store);
});

function slackEvent(text: string, n: number): NormalizedEvent {
  return {
    platform: 'slack',
    workspaceId: 'T100',
    channelId: 'C-TEAM',
    threadId: `1700000000.00010${n}`,
    userId: 'U42',
    text,
    mentions: [],
    deliveryKey: `digest-flow-${n}`,
    eventType: 'app_mention',
    replyTo: {},
    receivedAt: new Date().toISOString(),
  };
}

const WORKSPACE = { platform: 'slack', workspaceId: 'T100' } as const;

describe('a digest created in a Slack channel', () => {
  it('is added by the `digest` command and later posted into that channel', async () => {
    const sink = new MemorySink();
    const handle = createEventHandler({ store, sinkFor: () => sink });
    const say = async (text: string, n: number) => {
      const task = await store.enqueueTask({
        kind: 'event',
        source: { platform: 'slack', channelId: 'C-TEAM' },
        payload: slackEvent(text, n),
      });
      await handle(task, { signal: new AbortController().signal, workerId: 'test' });
      return sink.messages.at(-1) ?? '';
    };

    // A digest reads only repositories connected to the workspace.
    expect(await say('digest add daily 09:00 Europe/Berlin repos=org/a,org/b', 1)).toBe(
      'org/a, org/b are not connected to this workspace; a workspace admin can connect them with `repos connect org/a`.',
    );
    for (const repo of ['org/a', 'org/b']) await store.connectRepo(WORKSPACE, repo, 'slack:U-ADMIN');
    expect(await say('digest add daily 09:00 Europe/Berlin repos=org/a,org/b', 1)).toMatch(
      /^Digest "daily-0900" added: `0 9 \* \* \*` Europe\/Berlin, for org\/a, org\/b, posted in this channel\./,
    );
    expect(await say('digest list', 2)).toMatch(/daily-0900.*this channel: next/);

    const schedule = await store.findScheduleByName('slack', 'T100', 'daily-0900');
    const due = nextDue({ cron: schedule!.cron, timezone: schedule!.timezone }, new Date())!;
    const runner = createDigestRunner({
      store,
      poster: chatDigestPoster({ slackBotToken: 'xoxb-test-token', slackApiUrl: `${stand.url}/slack` }),
      octokitFor: () => new Octokit({ baseUrl: `${stand.url}/gh` }),
      now: () => due,
      logger: createLogger({ level: 'silent', pretty: false }),
    });
    await runner.sweep();
    const posts = stand.posts.filter((p) => p.channel === 'C-TEAM');
    expect(posts).toHaveLength(1);
    expect(JSON.stringify(posts[0]?.body.blocks)).toMatch(/Digest \\"daily-0900\\": org\/a, org\/b/);
    // The post is on the workspace's audit trail.
    await vi.waitFor(async () =>
      expect(await store.listAudit({ action: 'digest.post', workspace: 'slack:T100' })).toEqual([
        expect.objectContaining({
          actor: 'scheduler',
          target: `schedule:${schedule!.id}`,
          outcome: 'succeeded',
        }),
      ]),
    );

    expect(await say('digest remove daily-0900', 3)).toBe('Digest "daily-0900" removed.');
  });
});
