/**
 * The integration project's global setup (vitest.config.ts): brings up the real services
 * (scripts/services.sh up) once for the run and exports their addresses to every test worker. Nothing
 * is mocked here: a missing service fails the run. The unit project runs without it, and without
 * those addresses (test/support/unit-setup.ts).
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { openStore } from '../../src/store/index.js';

const run = promisify(execFile);

export default async function setup(): Promise<void> {
  const script = resolve(import.meta.dirname, '../../scripts/services.sh');
  let stdout: string;
  try {
    ({ stdout } = await run('bash', [script, 'up'], {
      env: process.env,
      maxBuffer: 1 << 20,
      timeout: 15 * 60_000,
    }));
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? String(error);
    throw new Error(`scripts/services.sh up failed:\n${stderr}`);
  }
  for (const line of stdout.split('\n')) {
    const match = /^export ([A-Z_]+)='(.*)'$/.exec(line.trim());
    if (match?.[1] && match[2] !== undefined) process.env[match[1]] = match[2];
  }
  const uri = process.env.MONGODB_URI;
  if (!uri) throw new Error('scripts/services.sh up printed no MONGODB_URI');
  const store = await openStore({ uri, retries: 3, ensureIndexes: false });
  const { server } = await store.ping();
  await store.close();
  process.env.DECKHAND_TEST_STORE_SERVER = server;
  console.log(
    `store tests run against ${server} at ${store.host}; Redis ${process.env.REDIS_URL}; Docker ${process.env.DOCKER_HOST ?? 'none'}`,
  );
}
