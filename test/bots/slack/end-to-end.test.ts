/**
 * A signed Slack request all the way to what the channel shows: HTTP app, real store, worker,
 * command router, real Docker sandbox, Slack sink. slack.com is a loopback stand-in.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, postSlack, SLACK_BOT_TOKEN, startHarness, until } from './harness.js';

const BOT = 'U0DECKHAND';
const APP = 'A0DECKHAND';
const TEAM = 'T0E2E';
const MENTION_TS = '1736942400.000100';

interface SlackCall {
  method: string;
  body: Record<string, unknown>;
}

let harness: Harness;
let nextTs = 1;

/** Slack Web API calls made since the test began, with the token checked on each. */
function slackCalls(): SlackCall[] {
  return harness.api.calls
    .filter((call) => call.path.startsWith('/api/') && !call.path.startsWith('/api/v10/'))
    .map((call) => {
      expect(call.headers.authorization).toBe(`Bearer ${SLACK_BOT_TOKEN}`);
      return { method: call.path.slice('/api/'.length), body: call.body };
    });
}

beforeAll(async () => {
  harness = await startHarness((call) =>
    call.path === '/api/chat.postMessage'
      ? { status: 200, body: { ok: true, ts: `1736942500.00000${nextTs++}` } }
      : { status: 200, body: { ok: true } },
  );
}, 180_000);
afterAll(async () => {
  await harness?.close();
});
beforeEach(() => {
  harness.api.calls.length = 0;
  nextTs = 1;
});

function envelope(eventId: string, event: Record<string, unknown>): string {
  return JSON.stringify({
    type: 'event_callback',
    team_id: TEAM,
    api_app_id: APP,
    event_id: eventId,
    event_time: 1736942400,
    authorizations: [{ user_id: BOT, team_id: TEAM, is_bot: true }],
    event,
  });
}

const runPython = (eventId: string, thread?: string) =>
  envelope(eventId, {
    type: 'app_mention',
    user: 'U0ALICE',
    text: `<@${BOT}> run python\n\`\`\`\nprint(6 * 7)\n\`\`\``,
    ts: MENTION_TS,
    ...(thread ? { thread_ts: thread } : {}),
    channel: 'C0OPS',
    event_ts: MENTION_TS,
  });

async function taskCount(eventId: string): Promise<number> {
  return harness.store.models.Task.countDocuments({ 'source.eventId': eventId });
}

async function finished(eventId: string): Promise<boolean> {
  const task = await harness.store.models.Task.findOne({ 'source.eventId': eventId }).lean();
  return task?.status === 'succeeded' || task?.status === 'failed';
}

describe('Slack end to end', () => {
  it('runs the python of an app_mention and posts the output in the same thread once, though Slack retries the event', async () => {
    const body = runPython('Ev0RUN1', '1736940000.000001');
    const answers = [await postSlack(harness.base, body)];
    // Slack redelivers when it did not see the 200 in time; the retries must not run the code again.
    answers.push(await postSlack(harness.base, body, { retry: 1 }));
    answers.push(await postSlack(harness.base, body, { retry: 2 }));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);

    await until(() => finished('Ev0RUN1'));
    await until(() => slackCalls().some((call) => call.method === 'reactions.remove'));
    const calls = slackCalls();
    expect(await taskCount('Ev0RUN1')).toBe(1);

    const posts = calls.filter((call) => call.method === 'chat.postMessage');
    expect(posts).toHaveLength(1);
    expect(posts[0]?.body).toMatchObject({
      channel: 'C0OPS',
      thread_ts: '1736940000.000001',
      text: 'Running `python`…',
    });
    const edits = calls.filter((call) => call.method === 'chat.update');
    expect(edits).toHaveLength(1);
    expect(edits[0]?.body).toMatchObject({ channel: 'C0OPS', ts: '1736942500.000001' });
    expect(String(edits[0]?.body.text)).toMatch(/^`python` exited 0 in \d+ ms\n```\n42\n```$/);

    // Status reactions go on the mention itself, not on the thread root.
    const reactions = calls
      .filter((call) => call.method.startsWith('reactions.'))
      .map((call) => `${call.method} ${String(call.body.name)} ${String(call.body.timestamp)}`);
    expect(reactions).toEqual([
      `reactions.add eyes ${MENTION_TS}`,
      `reactions.add white_check_mark ${MENTION_TS}`,
      `reactions.remove eyes ${MENTION_TS}`,
    ]);
    expect(calls.map((call) => call.method)).toEqual([
      'reactions.add',
      'chat.postMessage',
      'chat.update',
      'reactions.add',
      'reactions.remove',
    ]);
  });

  it('starts a thread on a top-level mention: the reply goes under the mention', async () => {
    await postSlack(harness.base, runPython('Ev0RUN2'));
    await until(() => finished('Ev0RUN2'));
    const post = slackCalls().find((call) => call.method === 'chat.postMessage');
    expect(post?.body).toMatchObject({ channel: 'C0OPS', thread_ts: MENTION_TS });
  });

  it("does nothing for the bot's own messages: no task, nothing posted", async () => {
    const own = [
      { type: 'message', channel_type: 'im', user: BOT, text: 'help', ts: '1.1', channel: 'D0BOT' },
      {
        type: 'message',
        channel_type: 'channel',
        bot_id: 'B0DECKHAND',
        app_id: APP,
        subtype: 'bot_message',
        text: 'run python\n```\nprint(1)\n```',
        ts: '1.3',
        thread_ts: MENTION_TS,
        channel: 'C0OPS',
      },
      { type: 'app_mention', user: BOT, text: `<@${BOT}> help`, ts: '1.2', channel: 'C0OPS' },
    ];
    for (const [index, event] of own.entries()) {
      const answer = await postSlack(harness.base, envelope(`Ev0SELF${index}`, event));
      expect(answer.status).toBe(200);
      expect(await answer.json()).toMatchObject({ ignored: expect.stringMatching(/own message/) });
    }
    for (const index of own.keys()) expect(await taskCount(`Ev0SELF${index}`)).toBe(0);
    expect(await harness.store.models.Delivery.countDocuments({ key: /^Ev0SELF/ })).toBe(0);
    expect(slackCalls()).toEqual([]);
  });

  it('continues a thread it is in when someone replies without mentioning it, and ignores threads it is not in', async () => {
    // Ev0RUN2 made Deckhand part of the thread rooted at the mention.
    const reply = (eventId: string, thread: string) =>
      envelope(eventId, {
        type: 'message',
        channel_type: 'channel',
        user: 'U0BOB',
        text: 'help',
        ts: '1736942600.000100',
        thread_ts: thread,
        channel: 'C0OPS',
      });
    const stranger = await postSlack(harness.base, reply('Ev0THREAD0', '1111111111.000001'));
    expect(await stranger.json()).toMatchObject({ ignored: expect.stringMatching(/not part of/) });
    expect(await taskCount('Ev0THREAD0')).toBe(0);

    expect((await postSlack(harness.base, reply('Ev0THREAD1', MENTION_TS))).status).toBe(200);
    await until(() => finished('Ev0THREAD1'));
    const post = slackCalls().find((call) => call.method === 'chat.postMessage');
    expect(post?.body).toMatchObject({ channel: 'C0OPS', thread_ts: MENTION_TS });
    expect(String(post?.body.text)).toContain('*Deckhand commands*');
  });

  it('takes a button press through the pipeline as the command the button carries', async () => {
    const payload = {
      type: 'block_actions',
      team: { id: TEAM },
      user: { id: 'U0ALICE', username: 'alice', team_id: TEAM },
      channel: { id: 'C0OPS' },
      message: { type: 'message', ts: '1736942500.000009', thread_ts: MENTION_TS },
      trigger_id: 'trig-button-1',
      response_url: 'https://hooks.slack.com/actions/T0E2E/1/x',
      actions: [{ action_id: 'deckhand:0:cancel', value: 'cancel', type: 'button', action_ts: '2.0' }],
    };
    const form = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    const answer = await postSlack(harness.base, form, { contentType: 'application/x-www-form-urlencoded' });
    expect(answer.status).toBe(200);
    await until(() => finished('trig-button-1'));
    const post = slackCalls().find((call) => call.method === 'chat.postMessage');
    expect(post?.body).toMatchObject({
      channel: 'C0OPS',
      thread_ts: MENTION_TS,
      text: 'Nothing to cancel in this thread.',
    });
  });

  it('stops a running program when its owner says cancel in the thread; the Cancel button goes away', async () => {
    const thread = '1736940000.000777';
    const longRun = envelope('Ev0LONG1', {
      type: 'app_mention',
      user: 'U0ALICE',
      text: `<@${BOT}> run bash\n\`\`\`\necho started; sleep 120; echo never\n\`\`\``,
      ts: '1736942401.000100',
      thread_ts: thread,
      channel: 'C0OPS',
      event_ts: '1736942401.000100',
    });
    expect((await postSlack(harness.base, longRun)).status).toBe(200);
    // The running message offers a Cancel button that carries the command.
    await until(() => slackCalls().some((call) => call.method === 'chat.postMessage'));
    const running = slackCalls().find((call) => call.method === 'chat.postMessage');
    expect(JSON.stringify(running?.body.blocks)).toContain('cancel ');

    // Its id is public (it is on the button); someone else, a member, cancels nothing with it.
    const longTask = await harness.store.models.Task.findOne({ 'source.eventId': 'Ev0LONG1' }).lean();
    const elsewhere = envelope('Ev0CANCEL0', {
      type: 'app_mention',
      user: 'U0MALLORY',
      text: `<@${BOT}> cancel ${String(longTask?._id)}`,
      ts: '1736942401.500100',
      channel: 'C0OTHER',
      event_ts: '1736942401.500100',
    });
    expect((await postSlack(harness.base, elsewhere)).status).toBe(200);
    await until(() =>
      slackCalls().some((call) => call.method === 'chat.postMessage' && call.body.channel === 'C0OTHER'),
    );
    const refused = slackCalls().find(
      (call) => call.method === 'chat.postMessage' && call.body.channel === 'C0OTHER',
    );
    expect(refused?.body.text).toBe(
      "You need the admin role in this workspace to cancel other people's tasks (yours: member); a workspace admin can grant it with `role @you admin`.",
    );
    expect((await harness.store.models.Task.findById(longTask?._id).lean())?.status).toBe('running');

    const cancel = envelope('Ev0CANCEL1', {
      type: 'app_mention',
      user: 'U0ALICE',
      text: `<@${BOT}> cancel`,
      ts: '1736942402.000100',
      thread_ts: thread,
      channel: 'C0OPS',
      event_ts: '1736942402.000100',
    });
    expect((await postSlack(harness.base, cancel)).status).toBe(200);
    await until(() =>
      slackCalls().some((call) => call.method === 'chat.update' && /cancelled/.test(String(call.body.text))),
    );
    const task = await harness.store.models.Task.findOne({ 'source.eventId': 'Ev0LONG1' }).lean();
    expect(task?.status).toBe('cancelled');
    const edit = slackCalls().find((call) => call.method === 'chat.update');
    expect(String(edit?.body.text)).toMatch(/^`bash` exited \? in \d+ ms \(cancelled\)/);
    expect(String(edit?.body.text)).not.toContain('never');
    expect(edit?.body.blocks ?? []).toEqual([]);
    expect(
      slackCalls().some(
        (call) => call.method === 'chat.postMessage' && /^Cancelled task /.test(String(call.body.text)),
      ),
    ).toBe(true);
  });
});
