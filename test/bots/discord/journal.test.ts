/**
 * Discord never sends an interaction again: with the store stopped (a private FerretDB this test
 * starts and stops), 50 signed slash commands are all answered "thinking…" within Discord's 3 s,
 * kept in the local ingest journal, and once the store is back each becomes exactly one task that a
 * worker runs once. Replaying again, or replaying an event already stored, adds nothing.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createHttpApp,
  createPipeline,
  createWorker,
  IngestJournal,
  listen,
  type Pipeline,
} from '../../../src/bots/index.js';
import { createLogger, loadConfig, normalizedEventSchema } from '../../../src/core/index.js';
import { openStore, type Store } from '../../../src/store/index.js';
import { type PrivateServices, startPrivateServices } from '../../faults/services.js';

const keys = generateKeyPairSync('ed25519');
const publicHex = (keys.publicKey.export({ format: 'der', type: 'spki' }) as Buffer)
  .subarray(12)
  .toString('hex');
const logger = createLogger({ level: 'silent', pretty: false });
/** Discord's own deadline for the first answer to an interaction. */
const DISCORD_DEADLINE_MS = 3000;

let services: PrivateServices;
let store: Store;
let pipeline: Pipeline;
let journal: IngestJournal;
let journalDir: string;
let server: Server;
let base: string;

beforeAll(async () => {
  services = await startPrivateServices();
  store = await openStore({ uri: services.mongoUri, retries: 10 });
  pipeline = createPipeline(store);
  journalDir = mkdtempSync(join(tmpdir(), 'deckhand-journal-'));
  journal = await IngestJournal.open({ dir: journalDir, maxBytes: 8 * 1024 * 1024, logger });
  const config = loadConfig({ DISCORD_PUBLIC_KEY: publicHex });
  server = await listen(createHttpApp({ config, store, pipeline, logger, journal }).app, 0, '127.0.0.1');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 600_000);

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await store?.close().catch(() => undefined);
  await services?.down();
  if (journalDir) rmSync(journalDir, { recursive: true, force: true });
});

function slashCommand(id: string) {
  return {
    id,
    application_id: '1200000000000000000',
    type: 2,
    token: `token-${id}`,
    version: 1,
    guild_id: '1100000000000000000',
    channel_id: '1000000000000000000',
    channel: { id: '1000000000000000000', type: 0 },
    member: { user: { id: '900000000000000000', username: 'alice' }, roles: [] },
    data: { id: '77', name: 'deckhand', type: 1, options: [{ name: 'text', type: 3, value: 'help' }] },
  };
}

/** Posts a signed interaction; its status, body and how long the answer took. */
async function post(interaction: object): Promise<{ status: number; body: unknown; ms: number }> {
  const body = JSON.stringify(interaction);
  const ts = String(Math.floor(Date.now() / 1000));
  const started = Date.now();
  const res = await fetch(`${base}/discord/interactions`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-signature-timestamp': ts,
      'x-signature-ed25519': sign(null, Buffer.from(ts + body), keys.privateKey).toString('hex'),
    },
    body,
  });
  return { status: res.status, body: await res.json(), ms: Date.now() - started };
}

async function tasksFor(ids: string[]): Promise<{ id: string; eventId: string }[]> {
  const tasks = await store.models.Task.find(
    { 'source.eventId': { $in: ids } },
    { 'source.eventId': 1 },
  ).lean<{ _id: unknown; source: { eventId: string } }[]>();
  return tasks.map((t) => ({ id: String(t._id), eventId: t.source.eventId }));
}

/** Replays until the store takes everything (it is coming back up). */
async function replayAll(): Promise<number> {
  let replayed = 0;
  for (let attempt = 0; attempt < 60; attempt++) {
    try {
      const result = await journal.replay(pipeline.ingest);
      replayed += result.replayed;
      if (result.left === 0) return replayed;
    } catch {
      // the store is not answering yet
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`the journal still holds ${journal.pending} events`);
}

describe('Discord interactions while the store is down', () => {
  it('are all answered within 3 s, and all processed once each after the store returns', async () => {
    const ids = Array.from({ length: 50 }, (_, i) => `13000000000000${String(i).padStart(5, '0')}`);
    await services.stop('ferretdb');
    const answers = await Promise.all(ids.map((id) => post(slashCommand(id))));
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ type: 5 }); // "Deckhand is thinking…"
      expect(answer.ms).toBeLessThan(DISCORD_DEADLINE_MS);
    }
    expect(journal.pending).toBe(50);

    await services.start('ferretdb');
    expect(await replayAll()).toBe(50);
    const tasks = await tasksFor(ids);
    expect(tasks.map((t) => t.eventId).sort()).toEqual(ids);

    // Replaying again, or an event already stored coming back from the journal, adds no task.
    await journal.append(normalizedEventSchema.parse((await store.getTask(tasks[0]!.id))?.payload));
    expect(await replayAll()).toBe(1);
    expect(await tasksFor(ids)).toHaveLength(50);

    // A worker runs each task once.
    const ran = new Map<string, number>();
    const worker = createWorker({
      store,
      pipeline,
      pollMs: 50,
      logger,
      handler: async (task) => {
        ran.set(task.id, (ran.get(task.id) ?? 0) + 1);
        return { ok: true };
      },
    });
    worker.start();
    try {
      await expect.poll(() => ran.size, { timeout: 120_000, interval: 200 }).toBe(50);
    } finally {
      await worker.stop(5000);
    }
    expect([...ran.values()].every((n) => n === 1)).toBe(true);
  }, 600_000);
});
