/**
 * A signed Discord slash command all the way to what the channel shows: deferred response from the
 * HTTP app, then the worker edits it (real store, worker, router, Docker sandbox, Discord sink).
 * discord.com is a loopback stand-in (see test/support/platforms/recording.ts).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { DISCORD_APP, type Harness, postDiscord, startHarness } from '../slack/harness.js';

const TOKEN = 'interaction-token-e2e-secret';
const WEBHOOK = `/api/v10/webhooks/${DISCORD_APP}/${TOKEN}`;

let harness: Harness;
/** How long the worker gets to finish the command, polled every 50 ms. */
const WAIT = { timeout: 20_000, interval: 50 };

beforeAll(async () => {
  harness = await startHarness((call) =>
    call.method === 'DELETE' || call.method === 'PUT'
      ? { status: 204 }
      : {
          status: 200,
          body: { id: call.path.endsWith('@original') ? '1400000000000000001' : '1400000000000000002' },
        },
  );
}, 180_000);
afterAll(async () => {
  await harness?.close();
});
beforeEach(() => {
  harness.api.calls.length = 0;
});

function slashCommand(id: string, text: string) {
  return {
    id,
    application_id: DISCORD_APP,
    type: 2,
    token: TOKEN,
    version: 1,
    guild_id: '1100000000000000000',
    channel_id: '1000000000000000000',
    channel: { id: '1000000000000000000', type: 0 },
    member: { user: { id: '900000000000000000', username: 'alice', global_name: 'Alice' }, roles: [] },
    data: { id: '77', name: 'deckhand', type: 1, options: [{ name: 'text', type: 3, value: text }] },
  };
}

async function statusOf(id: string): Promise<string | undefined> {
  const task = await harness.store.models.Task.findOne({ 'source.eventId': id }).lean();
  return task?.status;
}

describe('Discord end to end', () => {
  it('defers a /deckhand run python, then edits the deferred response into the result, once', async () => {
    const interaction = slashCommand('1300000000000000042', 'run python\n```python\nprint(6 * 7)\n```');
    const first = await postDiscord(harness.base, interaction);
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ type: 5 });
    // The same interaction delivered again (a proxy retry) must not run the code twice.
    expect(await (await postDiscord(harness.base, interaction)).json()).toEqual({ type: 5 });

    await vi.waitFor(async () => {
      expect(['succeeded', 'failed']).toContain(await statusOf('1300000000000000042'));
    }, WAIT);
    await vi.waitFor(() => expect(harness.api.calls.length).toBeGreaterThanOrEqual(2), WAIT);
    expect(await harness.store.models.Task.countDocuments({ 'source.eventId': '1300000000000000042' })).toBe(
      1,
    );

    const calls = harness.api.calls;
    expect(calls.map((call) => `${call.method} ${call.path}`)).toEqual([
      `PATCH ${WEBHOOK}/messages/@original`,
      `PATCH ${WEBHOOK}/messages/@original`,
    ]);
    // The interaction token is the credential: no bot token goes with it.
    for (const call of calls) expect(call.headers.authorization).toBeUndefined();
    expect(calls[0]?.body).toMatchObject({ content: 'Running `python`…' });
    const result = calls[1]?.body as {
      content: string;
      embeds: { title: string; description: string; color: number }[];
    };
    expect(result.content).toBe('');
    expect(result.embeds).toHaveLength(1);
    expect(result.embeds[0]?.title).toMatch(/^python exited 0 in \d+ ms$/);
    expect(result.embeds[0]?.description).toBe('```\n42\n```');
    expect(result.embeds[0]?.color).toBe(0x2eb67d);
  });
});
