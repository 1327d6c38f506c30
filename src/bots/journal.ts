/**
 * A small local write-ahead journal for events from platforms that never send again: a Discord
 * interaction unanswered in 3 s shows "interaction failed" and is gone, and a gateway message that
 * fails to ingest is not redelivered. When the store does not take such an event in time (down,
 * restarting, slow), the event is appended here as one JSON line and fsynced, and the platform gets
 * its answer; a replayer feeds the journal into the store once it answers again. Replaying is
 * harmless to repeat: the pipeline's durable dedupe (the event's deliveryKey) turns a second copy
 * into the task already stored, so an event is never stored twice.
 *
 * Appends go to `current.jsonl`; a replay first renames it to `replay-<time>.jsonl` (appends then
 * start a new current file), ingests every line of every replay file in order, and deletes a file
 * only when all of its lines are stored. The journal is bounded (`maxBytes` over all files): when it
 * is full, the event is refused as before (503) rather than kept in memory.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Ingest, Logger, NormalizedEvent } from '../core/index.js';
import { DeckhandError, normalizedEventSchema } from '../core/index.js';

const CURRENT = 'current.jsonl';
const REPLAY = /^replay-\d+-[0-9a-f]+\.jsonl$/;

export interface JournalOptions {
  dir: string;
  /** All journal files together; past it an event is refused (the caller answers 503). */
  maxBytes: number;
  logger?: Pick<Logger, 'info' | 'warn'>;
}

export interface ReplayResult {
  replayed: number;
  /** Lines still waiting (the store failed again part way). */
  left: number;
}

export class IngestJournal {
  private tail: Promise<unknown> = Promise.resolve();
  private replaying: Promise<ReplayResult> | undefined;
  private bytes = 0;
  private lines = 0;

  private constructor(private readonly options: JournalOptions) {}

  /** Opens (creates) the journal folder and counts what an earlier process left there. */
  static async open(options: JournalOptions): Promise<IngestJournal> {
    await mkdir(options.dir, { recursive: true, mode: 0o700 });
    const journal = new IngestJournal(options);
    for (const file of await journal.files(true)) {
      const text = await readFile(join(options.dir, file), 'utf8');
      journal.bytes += Buffer.byteLength(text);
      journal.lines += text.split('\n').filter(Boolean).length;
    }
    if (journal.lines > 0) {
      options.logger?.info({ events: journal.lines }, 'the ingest journal holds events to replay');
    }
    return journal;
  }

  /** Events written and not yet stored (as far as this process knows). */
  get pending(): number {
    return this.lines;
  }

  /** Appends the event and fsyncs it; resolves once it is on disk. Throws when the journal is full. */
  append(event: NormalizedEvent): Promise<void> {
    const line = `${JSON.stringify(event)}\n`;
    const size = Buffer.byteLength(line);
    const write = this.tail.then(async () => {
      if (this.bytes + size > this.options.maxBytes) {
        throw new DeckhandError(
          'STORE_UNREACHABLE',
          'The store is not answering and the ingest journal is full.',
        );
      }
      const handle = await open(join(this.options.dir, CURRENT), 'a', 0o600);
      try {
        await handle.write(line);
        await handle.sync();
      } finally {
        await handle.close();
      }
      this.bytes += size;
      this.lines += 1;
    });
    this.tail = write.catch(() => undefined);
    return write;
  }

  /** Feeds every journaled event to `ingest`, oldest first; one replay at a time. */
  replay(ingest: Ingest): Promise<ReplayResult> {
    this.replaying ??= this.replayAll(ingest).finally(() => {
      this.replaying = undefined;
    });
    return this.replaying;
  }

  /** Replays every `intervalMs` while anything is journaled; returns the stop function. */
  replayEvery(ingest: Ingest, intervalMs: number): () => Promise<void> {
    const timer = setInterval(() => {
      if (this.lines === 0) return;
      this.replay(ingest).catch((error: unknown) => {
        this.options.logger?.warn({ err: error }, 'ingest journal replay failed; trying again');
      });
    }, intervalMs);
    timer.unref();
    return async () => {
      clearInterval(timer);
      await this.replaying?.catch(() => undefined);
    };
  }

  private async replayAll(ingest: Ingest): Promise<ReplayResult> {
    // Appends after this point go to a new current file.
    const rotated = this.tail.then(() => this.rotate());
    this.tail = rotated.catch(() => undefined);
    await rotated;
    let replayed = 0;
    for (const file of await this.files(false)) {
      const path = join(this.options.dir, file);
      const text = await readFile(path, 'utf8');
      const lines = text.split('\n').filter(Boolean);
      let done = 0;
      try {
        for (const line of lines) {
          const event = parseLine(line);
          if (event) await ingest(event);
          done += 1;
        }
      } finally {
        replayed += done;
        this.lines -= done;
        if (done === lines.length) {
          await rm(path, { force: true });
          this.bytes -= Buffer.byteLength(text);
        } else if (done > 0) {
          // Keep only what is still to do (a crash here replays a few stored ones: deduped).
          const rest = `${lines.slice(done).join('\n')}\n`;
          await this.replaceFile(path, rest);
          this.bytes -= Buffer.byteLength(text) - Buffer.byteLength(rest);
        }
      }
    }
    if (replayed > 0)
      this.options.logger?.info({ events: replayed }, 'replayed journaled events into the store');
    return { replayed, left: this.lines };
  }

  private async rotate(): Promise<void> {
    const current = join(this.options.dir, CURRENT);
    const size = await stat(current).then(
      (s) => s.size,
      () => 0,
    );
    if (size === 0) return;
    await rename(
      current,
      join(this.options.dir, `replay-${Date.now()}-${randomBytes(3).toString('hex')}.jsonl`),
    );
  }

  private async replaceFile(path: string, text: string): Promise<void> {
    const temp = `${path}.tmp`;
    const handle = await open(temp, 'w', 0o600);
    try {
      await handle.write(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  }

  /** Replay files oldest first (their names start with the time), and the current one if asked. */
  private async files(withCurrent: boolean): Promise<string[]> {
    const names = await readdir(this.options.dir);
    const replays = names.filter((n) => REPLAY.test(n)).sort();
    return withCurrent && names.includes(CURRENT) ? [...replays, CURRENT] : replays;
  }
}

/** A journal line back to an event; a damaged line (a torn write at a crash) is skipped. */
function parseLine(line: string): NormalizedEvent | undefined {
  try {
    const parsed = normalizedEventSchema.safeParse(JSON.parse(line));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Resolves with the store's answer, or rejects STORE_UNREACHABLE after `ms`. */
function within<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new DeckhandError('STORE_UNREACHABLE', 'The task store did not answer in time.')),
      ms,
    );
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** The store could not be reached (down, restarting, failing over, or too slow). */
export function isStoreUnavailable(error: unknown): boolean {
  for (let e = error; e instanceof Error; e = e.cause) {
    if (/^Mongo/.test(e.name) || (e as { code?: string }).code === 'STORE_UNREACHABLE') return true;
  }
  return false;
}

/**
 * Ingest that falls back to the journal: the store's answer within `deadlineMs`, else (store down or
 * slow) the event journaled and reported as recorded. A store write still in flight may land too:
 * the replay is then a duplicate, deduped. `journaled: true` tells the caller which it was.
 */
export function journaledIngest(
  ingest: Ingest,
  journal: IngestJournal,
  deadlineMs: number,
): (event: NormalizedEvent) => Promise<{ taskId: string; duplicate: boolean; journaled?: true }> {
  return async (event) => {
    try {
      return await within(ingest(event), deadlineMs);
    } catch (error) {
      if (!isStoreUnavailable(error)) throw error;
      await journal.append(event);
      return { taskId: '', duplicate: false, journaled: true };
    }
  };
}
