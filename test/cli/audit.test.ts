/**
 * `deckhand audit` as an operator runs it: a real CLI process against the real store, printing the
 * audit trail as a table or one JSON object per line, filtered by time, actor, action and workspace.
 * Wrong arguments answer with one line naming the accepted forms before any store is reached.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/index.js';
import { dropTestStore, testDatabaseUri } from '../support/store.js';

const run = promisify(execFile);
const bin = resolve(import.meta.dirname, '../../bin/deckhand.js');

let store: Store;
let uri: string;

async function deckhand(
  args: string[],
  mongoUri = uri,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('node', [bin, 'audit', ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', MONGODB_URI: mongoUri },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const lines = (stdout: string) => stdout.split('\n').filter(Boolean);

beforeAll(async () => {
  uri = testDatabaseUri();
  store = await openStore({ uri, retries: 2, retryBaseMs: 10 });
  await store.models.AuditEntry.create({
    actor: 'slack:UOLD',
    action: 'code.run',
    target: 'task:old',
    outcome: 'succeeded',
    workspace: 'slack:T1',
    at: new Date(Date.now() - 2 * 60 * 60_000),
  });
  const entries = [
    { actor: 'slack:U1', action: 'code.run', target: 'task:1', workspace: 'slack:T1' },
    { actor: 'github:octo', action: 'code.push', target: 'org/repo', workspace: 'github:12345' },
    { actor: 'slack:U2', action: 'schedule.add', target: 'digest\u001b[2Jwiped', workspace: 'slack:T2' },
  ] as const;
  for (const entry of entries) await store.recordAudit({ ...entry, outcome: 'allowed' });
});
afterAll(() => dropTestStore(store));

describe('deckhand audit', () => {
  it('prints the last hour one JSON object per line, newest first', async () => {
    const { code, stdout } = await deckhand(['--json', '--since', '1h']);
    expect(code).toBe(0);
    const rows = lines(stdout).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(rows.map((r) => r.target)).toEqual(['digest\u001b[2Jwiped', 'org/repo', 'task:1']);
    expect(rows[1]).toMatchObject({
      actor: 'github:octo',
      workspace: 'github:12345',
      action: 'code.push',
      outcome: 'allowed',
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
  });

  it("shows one workspace's entries only, and narrows by actor and action prefix", async () => {
    const t1 = await deckhand(['--json', '--workspace', 'slack:T1']);
    expect(lines(t1.stdout).map((l) => JSON.parse(l).target)).toEqual(['task:1', 'task:old']);
    const code = await deckhand(['--json', '--action', 'code.', '--actor', 'github:octo']);
    expect(lines(code.stdout).map((l) => JSON.parse(l).target)).toEqual(['org/repo']);
    const limited = await deckhand(['--json', '--limit', '1']);
    expect(lines(limited.stdout)).toHaveLength(1);
  });

  it('prints a readable table, with control characters from a target defused', async () => {
    const { code, stdout } = await deckhand(['--since', '1h']);
    expect(code).toBe(0);
    const [header, ...rows] = lines(stdout);
    expect(header).toMatch(/^TIME\s+ACTOR\s+WORKSPACE\s+ACTION\s+TARGET\s+OUTCOME$/);
    expect(rows).toHaveLength(3);
    expect(rows[1]).toMatch(
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+github:octo\s+github:12345\s+code\.push\s+org\/repo\s+allowed$/,
    );
    expect(stdout).not.toContain('\u001b');
    expect(stdout).toContain('digest?[2Jwiped');
  });

  it('says so when nothing matches', async () => {
    const { code, stdout } = await deckhand(['--actor', 'nobody']);
    expect(code).toBe(0);
    expect(stdout).toBe('No audit entries match.\n');
  });

  it('answers a bad --since with one line naming the accepted forms, without reaching the store', async () => {
    const { code, stdout, stderr } = await deckhand(['--since', 'yesterday'], 'mongodb://127.0.0.1:1/none');
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(lines(stderr)).toEqual([expect.stringContaining('--since "yesterday" is not understood')]);
    expect(stderr).toMatch(/30m, 24h or 7d.*ISO date/);
  });

  it('answers a bad --limit or --workspace in one line too', async () => {
    const dead = 'mongodb://127.0.0.1:1/none';
    const [limit, workspace] = await Promise.all([
      deckhand(['--limit', '5000'], dead),
      deckhand(['--workspace', 'T1'], dead),
    ]);
    expect(limit.code).toBe(1);
    expect(limit.stderr).toContain('from 1 to 1000');
    expect(workspace.code).toBe(1);
    expect(workspace.stderr).toContain('<platform>:<workspaceId>');
  });

  it('prints its usage with --help', async () => {
    const { code, stdout } = await deckhand(['--help'], 'mongodb://127.0.0.1:1/none');
    expect(code).toBe(0);
    expect(stdout).toContain('usage: deckhand audit [--since 24h|7d|ISO]');
  });
});
