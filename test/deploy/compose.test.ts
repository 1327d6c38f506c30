import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

const run = promisify(execFile);
const file = resolve(import.meta.dirname, '../../deploy/docker-compose.yml');

/** `docker compose` (v2 plugin) or `docker-compose` (v1), whichever this machine has. */
async function composeCommand(): Promise<string[] | undefined> {
  for (const candidate of [['docker', 'compose'], ['docker-compose']]) {
    try {
      await run(candidate[0] as string, [...candidate.slice(1), 'version'], { timeout: 20_000 });
      return candidate;
    } catch {
      // not installed; try the next one
    }
  }
  return undefined;
}

const compose = await composeCommand();

interface Service {
  image?: string;
  command?: string[];
  profiles?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}

async function config(args: string[], env: Record<string, string> = {}): Promise<Record<string, Service>> {
  if (!compose) throw new Error('no compose');
  const { stdout } = await run(compose[0] as string, [...compose.slice(1), '-f', file, ...args, 'config'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    timeout: 60_000,
  });
  return (parseYaml(stdout) as { services: Record<string, Service> }).services;
}

describe.skipIf(!compose)(
  `deploy/docker-compose.yml${compose ? '' : ' (skipped: neither `docker compose` nor `docker-compose` is installed)'}`,
  () => {
    it('validates and runs MongoDB as a replica set, Redis, a web and a worker role', async () => {
      const services = await config([]);
      expect(Object.keys(services)).toEqual(expect.arrayContaining(['mongo', 'redis', 'web', 'worker']));
      // docker-compose v1 lists profiled services too; either way FerretDB is only in its profile.
      if (services.ferretdb) expect(services.ferretdb.profiles).toEqual(['ferretdb']);
      expect(services.mongo?.command).toEqual(expect.arrayContaining(['--replSet', 'rs0']));
      expect(services.web?.command).toEqual(['start', '--role', 'web']);
      expect(services.worker?.command).toEqual(['start', '--role', 'worker']);
      expect(services.worker?.environment?.MONGODB_URI).toBe('mongodb://mongo:27017/deckhand?replicaSet=rs0');
      expect(services.worker?.environment?.REDIS_URL).toBe('redis://redis:6379');
      expect(services.web?.depends_on?.redis?.condition).toBe('service_healthy');
    });

    it('offers FerretDB as an alternative profile pointed at by MONGODB_URI', async () => {
      const services = await config(['--profile', 'ferretdb'], {
        MONGODB_URI: 'mongodb://ferretdb:27017/deckhand',
      });
      expect(services.ferretdb?.profiles).toEqual(['ferretdb']);
      expect(services.ferretdb?.image).toMatch(/ferretdb:1\.24/);
      expect(services.web?.environment?.MONGODB_URI).toBe('mongodb://ferretdb:27017/deckhand');
    });

    it('passes secrets from the environment, never from the file', async () => {
      const services = await config([], { DECKHAND_ADMIN_TOKEN: 'from-the-environment' });
      expect(services.web?.environment?.DECKHAND_ADMIN_TOKEN).toBe('from-the-environment');
      const blank = await config([]);
      expect(blank.web?.environment?.SLACK_SIGNING_SECRET ?? '').toBe('');
    });
  },
);
