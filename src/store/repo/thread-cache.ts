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
import { LRUCache } from 'lru-cache';
import type { StoredMessage } from './thread-window.js';

export interface CachedThread {
  seq: number;
  messages: StoredMessage[];
  /** Everything older than these messages exists only in the store (trimmed away or never read). */
  olderBeyond: boolean;
}

interface Entry extends CachedThread {
  chars: number;
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
  // Least recently used threads go first, past maxThreads or maxChars; entries age out after ttlMs
  // from their last write (a get does not renew it), so a purge is not resurrected.
  const entries = new LRUCache<string, Entry>({
    max: options.maxThreads ?? 1000,
    maxSize: options.maxChars ?? 64_000_000,
    sizeCalculation: (entry) => Math.max(1, entry.chars),
    ttl: options.ttlMs ?? 5 * 60_000,
  });

  function trimmed(entry: Entry): Entry {
    const over = entry.messages.length - options.keep;
    if (over <= 0) return entry;
    let chars = entry.chars;
    for (const m of entry.messages.slice(0, over)) chars -= sizeOf(m);
    return { ...entry, messages: entry.messages.slice(over), olderBeyond: true, chars };
  }

  return {
    /** The thread as this process last saw it, if it did lately; the caller still checks seq+1. */
    get(key: string): CachedThread | undefined {
      return entries.get(key);
    },

    /** Replaces the copy with what a read of the store returned. */
    set(key: string, thread: CachedThread): void {
      const messages = thread.messages.slice(-options.keep);
      entries.set(key, {
        seq: thread.seq,
        messages,
        olderBeyond: thread.olderBeyond || messages.length < thread.messages.length,
        chars: messages.reduce((n, m) => n + sizeOf(m), 0),
      });
    },

    /**
     * Adds a message this process just numbered. Only the next number extends the copy; anything
     * else means another process wrote in between, and the copy is dropped (re-read next time).
     */
    add(key: string, message: StoredMessage): void {
      const entry = entries.get(key);
      if (!entry) return;
      if (message.seq !== entry.seq + 1) {
        entries.delete(key);
        return;
      }
      // Set again: its size changed, and its age starts over.
      entries.set(
        key,
        trimmed({
          ...entry,
          seq: message.seq,
          messages: [...entry.messages, message],
          chars: entry.chars + sizeOf(message),
        }),
      );
    },

    drop(key: string): void {
      entries.delete(key);
    },
  };
}

export type ThreadCache = ReturnType<typeof createThreadCache>;
