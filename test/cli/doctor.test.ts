import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const bin = resolve(import.meta.dirname, '../../bin/deckhand.js');

async function doctor(env: Record<string, string>): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run('node', [bin, 'doctor'], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    });
    return { code: 0, stdout };
  } catch (error) {
    const e = error as { code: number; stdout: string };
    return { code: e.code, stdout: e.stdout };
  }
}

describe('deckhand doctor', () => {
  it('names every missing variable on an empty environment and exits 0', async () => {
    const { code, stdout } = await doctor({});
    expect(code).toBe(0);
    for (const name of [
      'MONGODB_URI',
      'REDIS_URL',
      'SLACK_SIGNING_SECRET',
      'SLACK_BOT_TOKEN',
      'DISCORD_APPLICATION_ID',
      'DISCORD_PUBLIC_KEY',
      'DISCORD_BOT_TOKEN',
      'GITHUB_APP_ID',
      'GITHUB_PRIVATE_KEY',
      'GITHUB_WEBHOOK_SECRET',
      'ANTHROPIC_API_KEY',
      'OPENAI_API_KEY',
    ]) {
      expect(stdout).toContain(name);
    }
    expect(stdout).not.toMatch(/^\S+\s+broken/m);
  });

  it('reports the real store and Redis as ok', async () => {
    const { stdout } = await doctor({
      MONGODB_URI: process.env.MONGODB_URI ?? '',
      REDIS_URL: process.env.REDIS_URL ?? '',
    });
    expect(stdout).toMatch(/^store\s+ok\s+(FerretDB|MongoDB)/m);
    expect(stdout).toMatch(/^redis\s+ok\s+PONG/m);
  });

  it('exits 1 and says how to fix it when a configured part is broken', async () => {
    const { code, stdout } = await doctor({
      REDIS_URL: 'redis://:sup3rsecretpw@127.0.0.1:1',
      SLACK_BOT_TOKEN: 'xoxb-123456789012-abcdefabcdef',
    });
    expect(code).toBe(1);
    expect(stdout).toMatch(/^redis\s+broken\s+cannot reach 127\.0\.0\.1:1/m);
    expect(stdout).toMatch(/^slack\s+broken\s+partly configured: SLACK_SIGNING_SECRET missing/m);
    expect(stdout).toContain('fix: export SLACK_SIGNING_SECRET=...');
    expect(stdout).not.toContain('sup3rsecretpw');
    expect(stdout).not.toContain('abcdefabcdef');
  });

  it('accepts a personal token with a webhook secret instead of a GitHub App', async () => {
    const { stdout } = await doctor({
      GITHUB_TOKEN: 'ghp_0123456789abcdefABCDEF0123456789abcd',
      GITHUB_WEBHOOK_SECRET: 'hook-secret',
    });
    expect(stdout).toMatch(/^github\s+ok\s+GitHub \(personal token\) configured/m);
    expect(stdout).not.toContain('ghp_0123456789');
  });
});
