/**
 * A PRIVATE FerretDB and Redis for the fault suite (scripts/services.sh with its own
 * DECKHAND_STATE_DIR), so stopping and restarting them never touches the shared instances other
 * test runs use. The restart reuses the same port (services.sh keeps it in its state dir).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SCRIPT = resolve(import.meta.dirname, '../../scripts/services.sh');

export interface PrivateServices {
  mongoUri: string;
  redisUrl: string;
  stop(name: 'ferretdb' | 'redis'): Promise<void>;
  start(name: 'ferretdb' | 'redis'): Promise<void>;
  down(): Promise<void>;
}

function pidOf(dir: string, name: string): number | undefined {
  try {
    return Number(readFileSync(join(dir, `${name}.pid`), 'utf8').trim()) || undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function startPrivateServices(): Promise<PrivateServices> {
  const dir = mkdtempSync(join(tmpdir(), 'deckhand-faults-'));
  const env: NodeJS.ProcessEnv = { ...process.env, DECKHAND_STATE_DIR: dir };
  delete env.MONGODB_URI;
  delete env.REDIS_URL;
  const up = async (...services: string[]) => {
    const { stdout } = await run('bash', [SCRIPT, 'up', ...services], { env, timeout: 10 * 60_000 });
    return stdout;
  };
  const out = await up('mongo', 'redis');
  const mongo = /^export MONGODB_URI='(.*)'$/m.exec(out)?.[1];
  const redisUrl = /^export REDIS_URL='(.*)'$/m.exec(out)?.[1];
  if (!mongo || !redisUrl) throw new Error(`services.sh printed no addresses:\n${out}`);
  const url = new URL(mongo);
  url.pathname = '/deckhand_faults';

  async function stop(name: 'ferretdb' | 'redis'): Promise<void> {
    const pid = pidOf(dir, name);
    if (!pid) throw new Error(`no ${name} pid in ${dir}`);
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  }

  return {
    mongoUri: url.toString(),
    redisUrl,
    stop,
    async start(name) {
      await up(name === 'ferretdb' ? 'mongo' : 'redis');
    },
    async down() {
      await run('bash', [SCRIPT, 'down'], { env }).catch(() => undefined);
      // `down` signals FerretDB without waiting for it to exit; it may still be writing its files.
      rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    },
  };
}
