/** Deckhand roles as real child processes (`bin/deckhand.js start --role ...`), logging to a file. */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const BIN = resolve(import.meta.dirname, '../../bin/deckhand.js');

export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

export interface DeckhandProcess {
  name: string;
  port: number;
  child: ChildProcess;
  exited: Promise<number | null>;
}

export async function startDeckhand(
  name: string,
  role: 'web' | 'worker' | 'all',
  env: Record<string, string>,
  log: WriteStream,
): Promise<DeckhandProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [BIN, 'start', '--role', role], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      // Its own ingest journal: never another process's (or a developer's) events.
      DECKHAND_JOURNAL_DIR: mkdtempSync(join(tmpdir(), 'deckhand-journal-')),
      ...env,
      PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tag = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) if (line) log.write(`[${name}] ${line}\n`);
  };
  child.stdout?.on('data', tag);
  child.stderr?.on('data', tag);
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const ok = await fetch(`${base}/healthz`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) break;
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} before listening`);
    if (i > 600) throw new Error(`${name} did not come up on ${base}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { name, port, child, exited };
}

export function openLog(path: string): WriteStream {
  return createWriteStream(path, { flags: 'a' });
}
