/**
 * This process's copy of the threads it worked on lately: the recent messages of each, and the last
 * number it knows. An agent turn reads its thread's memory before the first model call, and on
 * FerretDB reading the window document costs milliseconds per hundred messages (the server turns
 * stored JSON back into BSON); the copy turns that into one `_id` lookup of the next number.
 *
 * The copy is trusted only as far as the numbers prove, as the window is: messages are numbered
 * densely, so "message seq+1 does not exist" proves nothing was added since. The reader checks that
 * before every use. An entry is dropped when this process loses a numbering race (another process
 * wrote a number this copy never saw) and ages out, so a purge of old messages is not resurrected.
 */
import type { StoredMessage } from './thread-window.js';

export interface CachedThread {
  seq: number;
  messages: StoredMessage[];
  /** Everything older than these messages exists only in the store (trimmed away or never read). */
  olderBeyond: boolean;
}

interface Entry extends CachedThread {
  chars: number;
  at: number;
}

export interface ThreadCacheOptions {
  /** Messages kept per thread (the window's size). */
  keep: number;
  maxThreads?: number;
  /** An approximate bound on the text held, over all threads. */
  maxChars?: number;
  ttlMs?: number;
}

function sizeOf(message: StoredMessage): number {
  let n = 200 + (message.text?.length ?? 0);
  for (const call of message.toolCalls ?? []) n += JSON.stringify(call.arguments ?? null).length + 64;
  for (const result of message.toolResults ?? []) n += (result.output?.length ?? 0) + 64;
  return n;
}

export function createThreadCache(options: ThreadCacheOptions) {
  const maxThreads = options.maxThreads ?? 1000;
  const maxChars = options.maxChars ?? 64_000_000;
  const ttlMs = options.ttlMs ?? 5 * 60_000;
  const entries = new Map<string, Entry>();
  let chars = 0;

  function drop(key: string): void {
    const entry = entries.get(key);
    if (!entry) return;
    chars -= entry.chars;
    entries.delete(key);
  }

  function evict(): void {
    while (entries.size > maxThreads || (chars > maxChars && entries.size > 0)) {
      const oldest = entries.keys().next().value;
      if (oldest === undefined) return;
      drop(oldest);
    }
  }

  function trim(entry: Entry): void {
    const over = entry.messages.length - options.keep;
    if (over <= 0) return;
    for (const m of entry.messages.slice(0, over)) entry.chars -= sizeOf(m);
    entry.messages = entry.messages.slice(over);
    entry.olderBeyond = true;
  }

  return {
    /** The thread as this process last saw it, if it did lately; the caller still checks seq+1. */
    get(key: string): CachedThread | undefined {
      const entry = entries.get(key);
      if (!entry) return undefined;
      if (Date.now() - entry.at > ttlMs) {
        drop(key);
        return undefined;
      }
      // Most recently used last, so eviction takes the least recent.
      entries.delete(key);
      entries.set(key, entry);
      return entry;
    },

    /** Replaces the copy with what a read of the store returned. */
    set(key: string, thread: CachedThread): void {
      drop(key);
      const messages = thread.messages.slice(-options.keep);
      const entry: Entry = {
        seq: thread.seq,
        messages,
        olderBeyond: thread.olderBeyond || messages.length < thread.messages.length,
        chars: messages.reduce((n, m) => n + sizeOf(m), 0),
        at: Date.now(),
      };
      entries.set(key, entry);
      chars += entry.chars;
      evict();
    },

    /**
     * Adds a message this process just numbered. Only the next number extends the copy; anything
     * else means another process wrote in between, and the copy is dropped (re-read next time).
     */
    add(key: string, message: StoredMessage): void {
      const entry = entries.get(key);
      if (!entry) return;
      if (message.seq !== entry.seq + 1) {
        drop(key);
        return;
      }
      const before = entry.chars;
      entry.seq = message.seq;
      entry.messages.push(message);
      entry.chars += sizeOf(message);
      trim(entry);
      entry.at = Date.now();
      chars += entry.chars - before;
      evict();
    },

    drop,
  };
}

export type ThreadCache = ReturnType<typeof createThreadCache>;
