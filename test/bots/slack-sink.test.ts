import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { createSlackSink } from '../../src/bots/slack/index.js';
import { DeckhandError, type NormalizedEvent } from '../../src/core/index.js';
import { useNockForThirdPartyApis } from '../support/nock.js';

const TOKEN = 'xoxb-1111-2222-secret-slack-token';
const SLACK = 'https://slack.com';

function mentionEvent(overrides: Partial<NormalizedEvent> = {}): NormalizedEvent {
  return {
    platform: 'slack',
    workspaceId: 'T0TEAM',
    channelId: 'C0GENERAL',
    threadId: '1736942400.000100',
    userId: 'U0ALICE',
    text: 'deploy main',
    mentions: [],
    deliveryKey: 'Ev0MENTION1',
    eventType: 'app_mention',
    replyTo: { channel: 'C0GENERAL', threadTs: '1736942400.000100' },
    receivedAt: '2025-01-15T12:00:00.000Z',
    ...overrides,
  };
}

/** Records waits instead of sleeping. */
function recorder() {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

function sinkFor(event = mentionEvent(), sleep = recorder().sleep) {
  return createSlackSink(event, { botToken: TOKEN, retry: { sleep } });
}

useNockForThirdPartyApis();

describe('Slack reply sink', () => {
  it('posts into the thread and edits the same message', async () => {
    const scope = nock(SLACK, { reqheaders: { authorization: `Bearer ${TOKEN}` } })
      .post('/api/chat.postMessage', {
        channel: 'C0GENERAL',
        thread_ts: '1736942400.000100',
        text: 'Working on it',
        mrkdwn: true,
      })
      .reply(200, { ok: true, channel: 'C0GENERAL', ts: '1736942401.000200' })
      .post('/api/chat.update', { channel: 'C0GENERAL', ts: '1736942401.000200', text: 'Done: deployed' })
      .reply(200, { ok: true, ts: '1736942401.000200' });

    const sink = sinkFor();
    const reply = await sink.post('Working on it');
    expect(reply.id).toBe('1736942401.000200');
    await sink.update(reply, 'Done: deployed');
    expect(scope.isDone()).toBe(true);
  });

  it('retries a 429 after Retry-After and succeeds', async () => {
    // WebClient waits the 429 out itself; the wait shows as the gap between the two requests.
    const at: number[] = [];
    const scope = nock(SLACK)
      .post('/api/chat.postMessage')
      .reply(() => {
        at.push(Date.now());
        return [429, { ok: false, error: 'ratelimited' }, { 'Retry-After': '1' }];
      })
      .post('/api/chat.postMessage')
      .reply(() => {
        at.push(Date.now());
        return [200, { ok: true, ts: '1.2' }];
      });

    const sink = createSlackSink(mentionEvent(), { botToken: TOKEN, retry: { baseDelayMs: 1 } });
    const reply = await sink.post('hello');
    expect(reply.id).toBe('1.2');
    const waited = (at[1] ?? 0) - (at[0] ?? 0);
    expect(waited).toBeGreaterThanOrEqual(950);
    expect(waited).toBeLessThan(5000);
    expect(scope.isDone()).toBe(true);
  });

  it('retries {ok:false, error:"ratelimited"} answered with HTTP 200', async () => {
    const { waits, sleep } = recorder();
    nock(SLACK)
      .post('/api/chat.update')
      .reply(200, { ok: false, error: 'ratelimited' }, { 'Retry-After': '1' })
      .post('/api/chat.update')
      .reply(200, { ok: true });
    await sinkFor(mentionEvent(), sleep).update({ id: '1.2' }, 'edited');
    expect(waits).toEqual([1000]);
  });

  it('gives up after 3 server errors with a readable error that does not contain the token', async () => {
    const scope = nock(SLACK).post('/api/chat.postMessage').times(3).reply(503, 'upstream down');
    const error = await createSlackSink(mentionEvent(), { botToken: TOKEN, retry: { baseDelayMs: 1 } })
      .post('hello')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeckhandError);
    const failure = error as DeckhandError;
    expect(failure.code).toBe('UPSTREAM_FAILED');
    expect(failure.retryable).toBe(true);
    expect(failure.userMessage).toMatch(/Slack chat\.postMessage failed: HTTP 503.*3 tries/);
    expect(failure.message).not.toContain(TOKEN);
    expect(JSON.stringify(failure)).not.toContain(TOKEN);
    expect(scope.isDone()).toBe(true);
  });

  it('fails at once on a permanent Slack error', async () => {
    const scope = nock(SLACK)
      .post('/api/chat.postMessage')
      .once()
      .reply(200, { ok: false, error: 'channel_not_found' });
    const error = (await sinkFor()
      .post('hello')
      .catch((e: unknown) => e)) as DeckhandError;
    expect(error.code).toBe('UPSTREAM_FAILED');
    expect(error.retryable).toBe(false);
    expect(error.userMessage).toBe('Slack chat.postMessage failed: channel_not_found.');
    expect(scope.isDone()).toBe(true);
  });

  it('does not retry an HTTP 4xx other than 429', async () => {
    const scope = nock(SLACK).post('/api/chat.postMessage').once().reply(404, 'no such method');
    const error = (await createSlackSink(mentionEvent(), { botToken: TOKEN, retry: { baseDelayMs: 1 } })
      .post('hello')
      .catch((e: unknown) => e)) as DeckhandError;
    expect(error.code).toBe('UPSTREAM_FAILED');
    expect(error.retryable).toBe(false);
    expect(error.userMessage).toBe('Slack chat.postMessage failed: HTTP 404.');
    expect(scope.isDone()).toBe(true);
  });

  it('shows status as reactions on the original message', async () => {
    const reactions: Array<{ method: string; name: unknown; timestamp: unknown }> = [];
    const record =
      (method: string) =>
      (_uri: string, body: nock.Body): nock.ReplyFnResult => {
        // WebClient sends form bodies.
        const fields: Record<string, unknown> =
          typeof body === 'string' ? Object.fromEntries(new URLSearchParams(body)) : body;
        reactions.push({ method, name: fields.name, timestamp: fields.timestamp });
        return [200, { ok: true }];
      };
    nock(SLACK)
      .post('/api/reactions.add')
      .reply(200, { ok: false, error: 'already_reacted' })
      .post('/api/reactions.add')
      .reply(record('add'))
      .post('/api/reactions.remove')
      .reply(record('remove'));
    const sink = sinkFor();
    await sink.status('working');
    await sink.status('done');
    expect(reactions).toEqual([
      { method: 'add', name: 'white_check_mark', timestamp: '1736942400.000100' },
      { method: 'remove', name: 'eyes', timestamp: '1736942400.000100' },
    ]);
  });

  it('answers a slash command through its response_url, without the bot token', async () => {
    const event = mentionEvent({
      threadId: '',
      eventType: 'slash_command',
      replyTo: { responseUrl: 'https://hooks.slack.com/commands/T0TEAM/123/abc', channel: 'C0GENERAL' },
    });
    const bodies: unknown[] = [];
    const scope = nock('https://hooks.slack.com', { badheaders: ['authorization'] })
      .post('/commands/T0TEAM/123/abc', (body) => bodies.push(body) > 0)
      .twice()
      .reply(200, 'ok');
    const sink = sinkFor(event);
    const reply = await sink.post('Running…');
    await sink.update(reply, 'Finished');
    await sink.status('done'); // no message of its own: nothing to react on
    expect(bodies).toEqual([
      { text: 'Running…', response_type: 'in_channel', replace_original: false },
      { text: 'Finished', replace_original: true },
    ]);
    expect(scope.isDone()).toBe(true);
  });

  it('uses SLACK_API_URL-style overrides for the API base', async () => {
    const scope = nock('http://slack.test').post('/api/chat.postMessage').reply(200, { ok: true, ts: '9.9' });
    const sink = createSlackSink(mentionEvent(), { botToken: TOKEN, apiUrl: 'http://slack.test/api/' });
    expect(await sink.post('hi')).toEqual({ id: '9.9' });
    expect(scope.isDone()).toBe(true);
  });
});
