/**
 * A conversation's recent messages by primary key (models/thread-window.ts), so loading an agent's
 * memory is a few `_id` reads instead of a scan of every message on FerretDB.
 *
 * Appending numbers the message: it is inserted under an _id derived from (conversation, seq), so
 * the insert decides the number (a taken one is a duplicate key; try the next) and message n of a
 * conversation can be read by _id without a filter. The window document is then rewritten with the
 * message (read-then-write on FerretDB); two racing appends can each drop the other's message from it. A reader
 * therefore trusts the window only as far as the numbers prove: it reads past the window's last
 * number until one is missing and fills any gap in the range it returns, by _id, and saves the
 * repaired window. Messages numbered nowhere (written before numbering) come from one scan that
 * rebuilds the window.
 *
 * The window is written a moment after the append, off the writer's path, and a process keeps its
 * own copy of the threads it works on (thread-cache.ts), checked by one `_id` read of the next
 * number; an agent turn then reads no window at all (turn bench overhead p50 11 ms -> 2.6 ms).
 */

import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { Types } from 'mongoose';
import { isDuplicateKeyError, toStoreError } from '../errors.js';
import type { MessageDoc, Models, ThreadWindowDoc } from '../models/index.js';
import { createThreadCache } from './thread-cache.js';

/** Messages kept per window: the agent's default history (orchestrator historyLimit). */
export const WINDOW_MESSAGES = 200;
/** A window stays well under the 16 MB document limit; older messages beyond it come from a scan. */
const WINDOW_MAX_CHARS = 4_000_000;
/** More missing numbers than this in one read: rebuild from the messages instead of reading each. */
const MAX_GAPS = 32;
/** Appends $push onto the window; readers trim it back once it holds this many more than it keeps. */
const TRIM_SLACK = 50;
/** A message this large rewrites the window (trimmed) instead of growing it unchecked. */
const LARGE_MESSAGE_CHARS = 64_000;
/** Conversation.lastMessageAt is kept to within this (one write per thread per minute, not per message). */
const TOUCH_EVERY_MS = 60_000;
const SEEN_CONVERSATIONS = 5000;
/** How long a window update waits for more messages of its thread (see updateBehind). */
const WINDOW_WRITE_DELAY_MS = 1000;

export type StoredMessage = MessageDoc & { _id: Types.ObjectId };

export function messageId(conversationId: Types.ObjectId, seq: number): Types.ObjectId {
  const hex = createHash('sha256')
    .update(`message:${String(conversationId)}:${seq}`)
    .digest('hex');
  return new Types.ObjectId(hex.slice(0, 24));
}

/** Unnumbered (older) messages first, by time; then by number. Duplicates dropped. */
function ordered(messages: StoredMessage[]): StoredMessage[] {
  const byId = new Map(messages.map((m) => [String(m._id), m]));
  return [...byId.values()].sort((a, b) => {
    if ((a.seq ?? 0) !== (b.seq ?? 0)) return (a.seq ?? 0) - (b.seq ?? 0);
    const t = new Date(a.createdAt).getTime() - new Date(b.createdAt).getTime();
    return t !== 0 ? t : String(a._id).localeCompare(String(b._id));
  });
}

/** Fields at their defaults (and the conversation id) are left out of the window: it is read on every turn. */
const DEFAULTS = { toolCalls: [], toolResults: [], tokensIn: 0, tokensOut: 0, costUsd: 0 } as const;

function compact(message: StoredMessage): Record<string, unknown> {
  const out: Record<string, unknown> = { ...message };
  for (const key of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
    const value = out[key];
    if (value === 0 || (Array.isArray(value) && value.length === 0)) delete out[key];
  }
  delete out.conversationId;
  delete out.__v;
  if (new Date(message.updatedAt).getTime() === new Date(message.createdAt).getTime()) delete out.updatedAt;
  return out;
}

function expand(stored: Record<string, unknown>, conversationId: Types.ObjectId): StoredMessage {
  return {
    ...DEFAULTS,
    toolCalls: [], // fresh arrays, not the shared defaults
    toolResults: [],
    ...stored,
    conversationId,
    updatedAt: stored.updatedAt ?? stored.createdAt,
  } as unknown as StoredMessage;
}

interface Window {
  _id: Types.ObjectId;
  seq: number;
  messages: StoredMessage[];
  olderBeyond: boolean;
}

/** Keeps the newest messages that fit; notes when older ones were let go. */
function trimmed(window: Window): Window {
  let messages = window.messages.slice(-WINDOW_MESSAGES);
  let olderBeyond = window.olderBeyond || messages.length < window.messages.length;
  while (messages.length > 1 && JSON.stringify(messages).length > WINDOW_MAX_CHARS) {
    messages = messages.slice(Math.ceil(messages.length / 4));
    olderBeyond = true;
  }
  return { ...window, messages, olderBeyond };
}

export function threadWindows(models: Models) {
  const { Conversation, Message, ThreadWindow } = models;

  /**
   * Rewrites the window. Two first writes of a window can race on the upsert (one of them gets a
   * duplicate key); the window is a cache of numbered messages, so the loser's copy is not needed.
   */
  async function save(window: Window): Promise<void> {
    const { _id, ...rest } = trimmed(window);
    try {
      await ThreadWindow.updateOne(
        { _id },
        { $set: { ...rest, messages: rest.messages.map(compact) } },
        { upsert: true },
      );
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
    }
  }

  /** Every message of the conversation, by a scan: for windows that cannot answer. Saves the window. */
  async function rebuild(conversationId: Types.ObjectId): Promise<Window> {
    const all = ordered(await Message.find({ conversationId }).lean<StoredMessage[]>());
    const seq = all.reduce((max, m) => Math.max(max, m.seq ?? 0), 0);
    const window = { _id: conversationId, seq, messages: all, olderBeyond: false };
    await save(window);
    return window;
  }

  /** The stored window; a conversation that never had one starts empty unless it has older messages. */
  async function load(conversationId: Types.ObjectId): Promise<Window> {
    const stored = await ThreadWindow.findById(conversationId).lean<ThreadWindowDoc>();
    if (stored) return { ...stored, messages: stored.messages.map((m) => expand(m, conversationId)) };
    const conversation = await Conversation.findById(conversationId, { lastMessageAt: 1 }).lean<{
      lastMessageAt?: Date;
    }>();
    // lastMessageAt is written after the window, so set without a window means messages from before.
    if (conversation?.lastMessageAt) return rebuild(conversationId);
    return { _id: conversationId, seq: 0, messages: [], olderBeyond: false };
  }

  async function numbered(conversationId: Types.ObjectId, seq: number): Promise<StoredMessage | null> {
    return Message.findById(messageId(conversationId, seq)).lean<StoredMessage>();
  }

  /** The messages numbered after `seq`, read by _id until a number is missing; `first` if read already. */
  async function numberedAfter(
    conversationId: Types.ObjectId,
    seq: number,
    first?: StoredMessage | null,
  ): Promise<StoredMessage[]> {
    const found: StoredMessage[] = [];
    for (
      let next = first !== undefined ? first : await numbered(conversationId, seq + 1);
      next;
      next = await numbered(conversationId, seq + found.length + 1)
    )
      found.push(next);
    return found;
  }

  /** What this process last saw of a conversation: the next number to try, and when lastMessageAt was written. */
  const seen = new LRUCache<string, { seq: number; touchedAt: number }>({ max: SEEN_CONVERSATIONS });
  function remember(key: string, seq: number, touchedAt: number): void {
    seen.set(key, { seq, touchedAt });
  }
  const cache = createThreadCache({ keep: WINDOW_MESSAGES });

  /**
   * Window updates, off the writer's path: the message itself is the record (readers find numbered
   * messages past a stale window), the window only makes a cold read fast. An update waits a moment
   * so a turn's messages (and the next turns' in a busy thread) go in one write: on FerretDB every
   * update rewrites the whole window, and a write per message held up the reads of running turns.
   * Per conversation one update runs at a time.
   */
  interface Behind {
    conversationId: Types.ObjectId;
    messages: StoredMessage[];
    touch?: Date;
    timer?: NodeJS.Timeout;
    started: boolean;
  }
  const behind = new Map<string, Behind>();
  const running = new Set<Promise<void>>();

  async function writeWindow(conversationId: Types.ObjectId, messages: StoredMessage[]): Promise<void> {
    const large = messages.some((m) => JSON.stringify(m).length > LARGE_MESSAGE_CHARS);
    if (!large) {
      const result = await ThreadWindow.updateOne(
        { _id: conversationId },
        {
          $push: { messages: { $each: messages.map(compact) } },
          $max: { seq: Math.max(...messages.map((m) => m.seq ?? 0)) },
        },
      );
      if (result.matchedCount > 0) return;
    }
    const base = await load(conversationId);
    const seq = Math.max(base.seq, ...messages.map((m) => m.seq ?? 0));
    await save({ ...base, seq, messages: ordered([...base.messages, ...messages]) });
  }

  function startBehind(key: string, job: Behind): void {
    if (job.started) return;
    const { conversationId } = job;
    job.started = true;
    clearTimeout(job.timer);
    const run = (async () => {
      try {
        while (job.messages.length > 0) {
          const batch = job.messages.splice(0);
          const touchAt = job.touch;
          delete job.touch;
          try {
            await writeWindow(conversationId, batch);
            // Written after the window: a conversation with lastMessageAt but no window has older messages.
            if (touchAt)
              await Conversation.updateOne({ _id: conversationId }, { $set: { lastMessageAt: touchAt } });
          } catch {
            // The messages are stored; the next cold reader finds them past the window and repairs it.
          }
        }
      } finally {
        behind.delete(key);
      }
    })();
    running.add(run);
    void run.finally(() => running.delete(run));
  }

  function updateBehind(conversationId: Types.ObjectId, stored: StoredMessage, touch?: Date): void {
    const key = String(conversationId);
    const queued = behind.get(key);
    if (queued) {
      queued.messages.push(stored);
      if (touch) queued.touch = touch;
      return;
    }
    const job: Behind = { conversationId, messages: [stored], started: false };
    if (touch) job.touch = touch;
    behind.set(key, job);
    job.timer = setTimeout(() => startBehind(key, job), WINDOW_WRITE_DELAY_MS);
    job.timer.unref();
  }

  return {
    /** Writes the window updates waiting now and resolves once they are done (tests, shutdown). */
    async settle(): Promise<void> {
      for (const [key, job] of behind) startBehind(key, job);
      while (running.size > 0) await Promise.all([...running]);
    },

    /**
     * Inserts the message with the next free number and returns; the window is updated after, off
     * this path (a $push, or a rewrite when there is no window). FerretDB ignores $slice, so readers
     * trim the window.
     */
    async append(conversationId: Types.ObjectId, message: Record<string, unknown>): Promise<StoredMessage> {
      const key = String(conversationId);
      const known = seen.get(key);
      const window = known ? undefined : await load(conversationId);
      let seq = (known?.seq ?? window?.seq ?? 0) + 1;
      let stored: StoredMessage | undefined;
      for (let tries = 0; !stored; tries++) {
        try {
          const doc = await Message.create({
            ...message,
            _id: messageId(conversationId, seq),
            conversationId,
            seq,
          });
          stored = doc.toObject() as StoredMessage;
        } catch (error) {
          if (!isDuplicateKeyError(error) || tries >= 1000) throw toStoreError(error, 'Message');
          // Taken by a concurrent append, or by others since this process last looked: catch up once.
          // (This process's copy of the thread is dropped by cache.add below: the number skips.)
          const latest =
            tries === 1 ? (await ThreadWindow.findById(conversationId, { seq: 1 }).lean())?.seq : 0;
          seq = Math.max(seq + 1, (latest ?? 0) + 1);
        }
      }
      cache.add(key, stored);
      const now = Date.now();
      const touch = !known || now - known.touchedAt >= TOUCH_EVERY_MS;
      updateBehind(conversationId, stored, touch ? new Date(now) : undefined);
      remember(key, seq, touch ? now : (known?.touchedAt ?? now));
      return stored;
    },

    /** The last `limit` messages, oldest first; null when the window cannot tell (the caller scans). */
    async recent(conversationId: Types.ObjectId, limit: number): Promise<StoredMessage[] | null> {
      if (limit > WINDOW_MESSAGES) return null;
      const key = String(conversationId);
      const cached = cache.get(key);
      if (cached) {
        // This process's copy, checked: whatever was numbered since is read by _id and added.
        for (const next of await numberedAfter(conversationId, cached.seq)) cache.add(key, next);
        const checked = cache.get(key);
        if (checked && (checked.messages.length >= limit || !checked.olderBeyond))
          return checked.messages.slice(-limit);
      }
      // The first look past the window's end goes out with the window read when this process can guess it.
      const hint = seen.get(String(conversationId))?.seq;
      const [window, guessed] = await Promise.all([
        load(conversationId),
        hint === undefined ? undefined : numbered(conversationId, hint + 1),
      ]);
      const found = await numberedAfter(
        conversationId,
        window.seq,
        hint === window.seq ? guessed : undefined,
      );
      const seq = window.seq + found.length;
      const known = new Set(window.messages.map((m) => m.seq).filter((n) => n !== undefined));
      for (const m of found) if (m.seq !== undefined) known.add(m.seq);
      // Below what a trimmed window holds, messages were let go on purpose (races lose newer ones).
      const held = window.olderBeyond ? Math.min(...known) : 1;
      const missing: number[] = [];
      for (let n = Math.max(1, seq - limit + 1, held); n <= seq; n++) if (!known.has(n)) missing.push(n);
      if (missing.length > MAX_GAPS) {
        const rebuilt = await rebuild(conversationId);
        cache.set(key, rebuilt);
        return rebuilt.messages.length >= limit || !rebuilt.olderBeyond
          ? rebuilt.messages.slice(-limit)
          : null;
      }
      for (const m of await Promise.all(missing.map((n) => numbered(conversationId, n))))
        if (m) found.push(m);
      const messages = found.length ? ordered([...window.messages, ...found]) : window.messages;
      if (found.length || messages.length > WINDOW_MESSAGES + TRIM_SLACK)
        await save({ ...window, seq, messages });
      cache.set(key, { seq, messages, olderBeyond: window.olderBeyond });
      if (messages.length < limit && window.olderBeyond) return null;
      return messages.slice(-limit);
    },
  };
}
