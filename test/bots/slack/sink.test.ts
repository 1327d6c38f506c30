/** What the Slack sink sends to slack.com/api: formatting, splits, files, buttons, edits, rate limits. */
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { createSlackSink, type SlackSinkOptions } from '../../../src/bots/slack/index.js';
import type { NormalizedEvent } from '../../../src/core/index.js';
import { useNockForThirdPartyApis } from '../../support/nock.js';

const TOKEN = 'xoxb-9999-sink-test-token';
const SLACK = 'https://slack.com';

const event: NormalizedEvent = {
  platform: 'slack',
  workspaceId: 'T0TEAM',
  channelId: 'C0OPS',
  threadId: '1700000000.000100',
  userId: 'U0ALICE',
  text: 'run python',
  mentions: [],
  deliveryKey: 'Ev1',
  eventType: 'app_mention',
  replyTo: { channel: 'C0OPS', threadTs: '1700000000.000100', messageTs: '1700000050.000200' },
  receivedAt: '2025-01-15T12:00:00.000Z',
};

interface Call {
  method: string;
  body: Record<string, unknown>;
}

/** A form field as the JSON body would have carried it: blocks as a list, flags as booleans. */
function decode(key: string, value: string): unknown {
  if (key === 'blocks') return JSON.parse(value) as unknown;
  return value === 'true' || value === 'false' ? value === 'true' : value;
}

/**
 * Records every Web API call (WebClient sends form bodies); chat.postMessage answers ts 2.1, 2.2, …
 * in order, files.completeUploadExternal names the files it shared, as Slack does.
 */
function recordSlack(calls: Call[], answer?: (method: string) => nock.ReplyFnResult | undefined) {
  let ts = 0;
  return nock(SLACK, { reqheaders: { authorization: `Bearer ${TOKEN}` } })
    .persist()
    .post(/^\/api\/[a-zA-Z.]+$/)
    .reply((uri, body) => {
      const method = uri.slice('/api/'.length);
      const fields =
        typeof body === 'string'
          ? Object.fromEntries([...new URLSearchParams(body)].map(([k, v]) => [k, decode(k, v)]))
          : (body as Record<string, unknown>);
      calls.push({ method, body: fields });
      const custom = answer?.(method);
      if (custom) return custom;
      if (method === 'chat.postMessage') return [200, { ok: true, ts: `2.${++ts}` }];
      if (method === 'files.completeUploadExternal') {
        return [200, { ok: true, files: JSON.parse(String(fields.files)) as unknown }];
      }
      return [200, { ok: true }];
    });
}

/** A fake clock: sleeping moves it, so throttled edits are checked without waiting. */
function clock() {
  let now = 0;
  const waits: number[] = [];
  return {
    waits,
    now: () => now,
    sleep: async (ms: number) => {
      waits.push(ms);
      now += ms;
    },
    advance: (ms: number) => {
      now += ms;
    },
  };
}

function sink(options: Partial<SlackSinkOptions> = {}, time = clock()) {
  return createSlackSink(event, {
    botToken: TOKEN,
    retry: { sleep: time.sleep },
    now: time.now,
    ...options,
  });
}

useNockForThirdPartyApis();

describe('Slack sink against slack.com/api', () => {
  it('posts markdown as mrkdwn into the thread', async () => {
    const calls: Call[] = [];
    recordSlack(calls);
    await sink().post('## Result\n**all green**, see [the run](https://ci.example/1) & `x<y`\n- one\n- two');
    expect(calls).toEqual([
      {
        method: 'chat.postMessage',
        body: {
          channel: 'C0OPS',
          thread_ts: '1700000000.000100',
          text: '*Result*\n*all green*, see <https://ci.example/1|the run> &amp; `x&lt;y`\n• one\n• two',
          mrkdwn: true,
        },
      },
    ]);
  });

  it('drops the language tag of code blocks and escapes their content', async () => {
    const calls: Call[] = [];
    recordSlack(calls);
    await sink().post('```python\nif a < b: print("<ok>")\n```');
    expect(calls[0]?.body.text).toBe('```\nif a &lt; b: print("&lt;ok&gt;")\n```');
  });

  it('puts buttons in Block Kit whose value is the command they stand for', async () => {
    const calls: Call[] = [];
    recordSlack(calls);
    await sink().post('Deploy *main* to production?', {
      actions: [
        { label: 'Confirm', command: 'confirm deploy-7', style: 'primary' },
        { label: 'Cancel', command: 'cancel', style: 'danger' },
      ],
    });
    expect(calls[0]?.body).toEqual({
      channel: 'C0OPS',
      thread_ts: '1700000000.000100',
      text: 'Deploy _main_ to production?',
      mrkdwn: true,
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: 'Deploy _main_ to production?' } },
        {
          type: 'actions',
          elements: [
            {
              type: 'button',
              action_id: 'deckhand:0:confirm',
              text: { type: 'plain_text', text: 'Confirm', emoji: true },
              value: 'confirm deploy-7',
              style: 'primary',
            },
            {
              type: 'button',
              action_id: 'deckhand:1:cancel',
              text: { type: 'plain_text', text: 'Cancel', emoji: true },
              value: 'cancel',
              style: 'danger',
            },
          ],
        },
      ],
    });
  });

  it('takes the buttons away when an edit comes without them', async () => {
    const calls: Call[] = [];
    recordSlack(calls);
    const replySink = sink();
    const reply = await replySink.post('Running `python`…', {
      actions: [{ label: 'Cancel', command: 'cancel' }],
    });
    await replySink.update(reply, 'Cancelled.');
    await replySink.update(reply, 'Cancelled, really.');
    expect(
      calls.map((call) =>
        call.body.blocks === undefined ? 'no blocks' : JSON.stringify(call.body.blocks).slice(0, 20),
      ),
    ).toEqual(['[{"type":"section","', '[]', 'no blocks']);
  });

  it('splits a long reply into several messages in order, code blocks closed and reopened', async () => {
    const calls: Call[] = [];
    recordSlack(calls);
    const lines = Array.from(
      { length: 400 },
      (_, i) => `line ${String(i).padStart(3, '0')} ${'x'.repeat(10)}`,
    );
    const text = `output:\n\`\`\`\n${lines.join('\n')}\n\`\`\``;
    const reply = await sink().post(text);
    const posts = calls
      .filter((call) => call.method === 'chat.postMessage')
      .map((call) => String(call.body.text));
    expect(reply.id).toBe('2.1');
    expect(posts.length).toBe(3);
    for (const part of posts) {
      expect(part.length).toBeLessThanOrEqual(3900);
      expect(part.match(/```/g)?.length).toBe(2); // each part renders on its own
      expect(calls[0]?.body.thread_ts).toBe('1700000000.000100');
    }
    expect(posts[0]?.startsWith('output:\n```\nline 000')).toBe(true);
    expect(posts[1]?.startsWith('```\nline ')).toBe(true);
    const shown = posts
      .map((part) => part.replace(/^(output:\n)?```\n/, '').replace(/\n```$/, ''))
      .join('\n');
    expect(shown).toBe(lines.join('\n'));
  });

  it('edits a split reply part by part, posts parts it now needs and deletes parts it no longer needs', async () => {
    const calls: Call[] = [];
    recordSlack(calls);
    const replySink = sink();
    const reply = await replySink.post('Running…');
    await replySink.update(reply, `${'a'.repeat(3000)}\n${'b'.repeat(3000)}`);
    await replySink.update(reply, 'short now');
    expect(calls.map((call) => `${call.method} ${String(call.body.ts ?? '')}`)).toEqual([
      'chat.postMessage ',
      'chat.update 2.1',
      'chat.postMessage ',
      'chat.update 2.1',
      'chat.delete 2.2',
    ]);
    expect(calls[1]?.body.text).toBe('a'.repeat(3000));
    expect(calls[2]?.body.text).toBe('b'.repeat(3000));
    expect(calls[3]?.body.text).toBe('short now');
  });

  it('uploads output over the file limit as a snippet in the thread, with a preview message', async () => {
    const calls: Call[] = [];
    const uploaded: string[] = [];
    recordSlack(calls, (method) =>
      method === 'files.getUploadURLExternal'
        ? [200, { ok: true, upload_url: 'https://files.slack.com/upload/v1/abc', file_id: 'F0FILE' }]
        : undefined,
    );
    nock('https://files.slack.com')
      .post('/upload/v1/abc', (body: string) => uploaded.push(body) > 0)
      .reply(200, 'OK - 1');
    const big = Array.from({ length: 2000 }, (_, i) => `row ${i}`).join('\n');
    await sink({ fileOverChars: 5000 }).post(big);
    expect(calls.map((call) => call.method)).toEqual([
      'files.getUploadURLExternal',
      'files.completeUploadExternal',
      'chat.postMessage',
    ]);
    expect(calls[0]?.body).toMatchObject({
      filename: 'deckhand-output.txt',
      length: String(Buffer.byteLength(big)),
    });
    expect(JSON.parse(String(calls[1]?.body.files))).toEqual([{ id: 'F0FILE', title: 'Full output' }]);
    expect(calls[1]?.body).toMatchObject({ channel_id: 'C0OPS', thread_ts: '1700000000.000100' });
    // The bytes go to the upload URL once (WebClient sends them as a multipart form field).
    expect(uploaded).toHaveLength(1);
    expect(uploaded[0]).toContain(big);
    const preview = String(calls[2]?.body.text);
    expect(preview.length).toBeLessThan(1600);
    expect(preview).toContain('2000 lines in all');
  });

  it('keeps the file in step with streamed long output: a new file replaces the old, a short text removes it', async () => {
    const calls: Call[] = [];
    let file = 0;
    recordSlack(calls, (method) =>
      method === 'files.getUploadURLExternal'
        ? [200, { ok: true, upload_url: 'https://files.slack.com/upload/v1/s', file_id: `F${++file}` }]
        : undefined,
    );
    nock('https://files.slack.com').persist().post('/upload/v1/s').reply(200, 'OK');
    const replySink = sink({ fileOverChars: 5000 });
    const reply = await replySink.post('Running…');
    const rows = (n: number) => Array.from({ length: n }, (_, i) => `row ${i}`).join('\n');
    await replySink.update(reply, rows(1000));
    await replySink.update(reply, rows(1000)); // unchanged: no new upload
    await replySink.update(reply, rows(2000));
    await replySink.update(reply, 'done');
    expect(
      calls
        .filter((call) => call.method !== 'files.getUploadURLExternal')
        .map((call) => `${call.method} ${String(call.body.file ?? call.body.ts ?? '')}`),
    ).toEqual([
      'chat.postMessage ',
      'files.completeUploadExternal ',
      'chat.update 2.1',
      'chat.update 2.1',
      'files.completeUploadExternal ',
      'files.delete F1',
      'chat.update 2.1',
      'files.delete F2',
      'chat.update 2.1',
    ]);
  });

  it('edits one message at most once per interval, dropping superseded texts, the last one shown', async () => {
    const calls: Call[] = [];
    recordSlack(calls);
    const time = clock();
    const replySink = sink({ editIntervalMs: 1000 }, time);
    const reply = await replySink.post('step 0');
    // A burst of progress: only the latest text waiting at each turn is sent.
    await Promise.all([1, 2, 3, 4].map((n) => replySink.update(reply, `step ${n}`)));
    time.advance(5000);
    await replySink.update(reply, 'done');
    const edits = calls.filter((call) => call.method === 'chat.update').map((call) => call.body.text);
    expect(edits).toEqual(['step 4', 'done']);
    expect(time.waits).toEqual([1000]);
  });

  it('answers a 429 by waiting Retry-After, then sends the same message once', async () => {
    const calls: Call[] = [];
    const at: number[] = [];
    let limited = false;
    recordSlack(calls, (method) => {
      at.push(Date.now());
      if (method !== 'chat.postMessage' || limited) return undefined;
      limited = true;
      return [429, { ok: false, error: 'ratelimited' }, { 'Retry-After': '1' }];
    });
    const reply = await sink({ retry: { baseDelayMs: 1 } }).post('hello');
    expect(reply.id).toBe('2.1');
    // WebClient waits the 429 out itself: the gap between the two requests.
    expect((at[1] ?? 0) - (at[0] ?? 0)).toBeGreaterThanOrEqual(950);
    expect(calls.map((call) => `${call.method} ${String(call.body.text)}`)).toEqual([
      'chat.postMessage hello',
      'chat.postMessage hello',
    ]);
  });

  it('reacts on the message that asked, not on the thread root', async () => {
    const calls: Call[] = [];
    recordSlack(calls);
    const replySink = sink();
    await replySink.status('working');
    await replySink.status('failed');
    expect(
      calls.map((call) => `${call.method} ${String(call.body.name)} ${String(call.body.timestamp)}`),
    ).toEqual([
      'reactions.add eyes 1700000050.000200',
      'reactions.add x 1700000050.000200',
      'reactions.remove eyes 1700000050.000200',
    ]);
  });

  it('looks the token up per workspace when given a lookup', async () => {
    const calls: Call[] = [];
    recordSlack(calls);
    const lookups: string[] = [];
    const replySink = createSlackSink(event, {
      botToken: async () => {
        lookups.push('T0TEAM');
        return TOKEN;
      },
      retry: { sleep: async () => {} },
    });
    await replySink.post('hi');
    expect(lookups).toEqual(['T0TEAM']);
    expect(calls).toHaveLength(1);
  });
});
