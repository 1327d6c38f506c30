import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/index.js';
import { dropTestStore, testDatabaseUri } from '../support/store.js';

// recentMessages reads a per-conversation window by _id instead of scanning every message. The
// window is rewritten read-then-write, so these tests break it the ways a race or an older version
// would and check that the agent's memory still has every message, in order.
let store: Store;
const uri = testDatabaseUri();
beforeAll(async () => {
  store = await openStore({ uri, retries: 2, retryBaseMs: 10 });
});
afterAll(() => dropTestStore(store));

let thread = 0;
async function conversation() {
  return store.upsertConversation({
    platform: 'slack',
    workspaceId: 'TWIN',
    channelId: 'CWIN',
    threadId: `17000000${thread++}.0001`,
  });
}
const texts = (records: { text: string }[]) => records.map((m) => m.text);

describe('thread memory window', () => {
  it('keeps every message when appends to one thread race', async () => {
    const convo = await conversation();
    await Promise.all(
      Array.from({ length: 12 }, (_, i) => store.appendMessage(convo.id, { role: 'user', text: `m${i}` })),
    );
    const recent = await store.recentMessages(convo.id, 50);
    expect(new Set(texts(recent))).toEqual(new Set(Array.from({ length: 12 }, (_, i) => `m${i}`)));
    expect(recent.map((m) => m.seq)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  });

  it('finds a message a racing append dropped from the window, and repairs the window', async () => {
    const convo = await conversation();
    for (const text of ['one', 'two', 'three', 'four'])
      await store.appendMessage(convo.id, { role: 'user', text });
    await store.settleThreadWindows();
    // A concurrent rewrite lost 'two' (from the middle) and 'four' (past the window's last number).
    const window = await store.models.ThreadWindow.findById(convo.id).lean();
    await store.models.ThreadWindow.updateOne(
      { _id: convo.id },
      {
        $set: {
          seq: 3,
          messages: (window?.messages ?? []).filter((m) => m.text === 'one' || m.text === 'three'),
        },
      },
    );

    expect(texts(await store.recentMessages(convo.id, 3))).toEqual(['two', 'three', 'four']);
    const repaired = await store.models.ThreadWindow.findById(convo.id).lean();
    expect(repaired?.seq).toBe(4);
    expect(repaired?.messages.map((m) => m.text)).toEqual(['one', 'two', 'three', 'four']);
  });

  it('rebuilds the window of a conversation whose messages predate it, older ones first', async () => {
    const convo = await conversation();
    for (let i = 0; i < 3; i++)
      await store.models.Message.create({
        conversationId: convo.id,
        role: 'user',
        text: `old${i}`,
        createdAt: new Date(Date.now() - 60_000 + i * 1000),
      });
    await store.models.Conversation.updateOne({ _id: convo.id }, { $set: { lastMessageAt: new Date() } });
    await store.models.ThreadWindow.deleteOne({ _id: convo.id });

    await store.appendMessage(convo.id, { role: 'assistant', text: 'new' });
    expect(texts(await store.recentMessages(convo.id, 10))).toEqual(['old0', 'old1', 'old2', 'new']);
    expect(texts(await store.recentMessages(convo.id, 2))).toEqual(['old2', 'new']);
  });

  it('trims a grown window on read and answers beyond it from the messages themselves', async () => {
    const convo = await conversation();
    // One message makes the window; the next 254 go onto it as pushes (written together once
    // settled), so it holds 255, past what readers let it grow to, however fast this machine is.
    await store.appendMessage(convo.id, { role: 'user', text: 'n0' });
    await store.settleThreadWindows();
    for (let i = 1; i < 255; i++) await store.appendMessage(convo.id, { role: 'user', text: `n${i}` });
    await store.settleThreadWindows();
    // Another process, without this thread in memory, reads through the window and trims it.
    const other = await openStore({ uri, retries: 2, ensureIndexes: false });
    try {
      expect(texts(await other.recentMessages(convo.id, 200))[0]).toBe('n55');
    } finally {
      await other.close();
    }
    const window = await store.models.ThreadWindow.findById(convo.id).lean();
    expect(window).toMatchObject({ seq: 255, olderBeyond: true });
    expect(window?.messages).toHaveLength(200);
    const all = await store.recentMessages(convo.id, 500);
    expect(all).toHaveLength(255);
    expect(all[0]?.text).toBe('n0');
    expect(all.at(-1)?.text).toBe('n254');
  }, 120_000);

  it('stores nothing for a refused message and keeps the numbering', async () => {
    const convo = await conversation();
    await store.appendMessage(convo.id, { role: 'user', text: 'fine' });
    await expect(
      store.appendMessage(convo.id, { role: 'robot' as 'user', text: 'bad' }),
    ).rejects.toMatchObject({
      code: 'STORE_VALIDATION',
    });
    await store.appendMessage(convo.id, { role: 'assistant', text: 'also fine' });
    const recent = await store.recentMessages(convo.id, 10);
    expect(recent.map((m) => [m.text, m.seq])).toEqual([
      ['fine', 1],
      ['also fine', 2],
    ]);
    expect(await store.models.Message.countDocuments({ conversationId: convo.id })).toBe(2);
  });

  it('shows a worker the messages another worker added to a thread it has in memory', async () => {
    const convo = await conversation();
    // A second store on the same database: another worker process, with its own memory of threads.
    const other = await openStore({ uri, retries: 2, ensureIndexes: false });
    try {
      await store.appendMessage(convo.id, { role: 'user', text: 'first' });
      expect(texts(await store.recentMessages(convo.id, 10))).toEqual(['first']);
      // The other worker answers in the same thread; its window update has not even been written yet.
      await other.appendMessage(convo.id, { role: 'assistant', text: 'from the other worker' });
      await store.appendMessage(convo.id, { role: 'user', text: 'third' });
      expect(texts(await store.recentMessages(convo.id, 10))).toEqual([
        'first',
        'from the other worker',
        'third',
      ]);
      expect(texts(await other.recentMessages(convo.id, 10))).toEqual([
        'first',
        'from the other worker',
        'third',
      ]);
    } finally {
      await other.close();
    }
  });
});
