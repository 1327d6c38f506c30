/**
 * Reading the audit trail back: entries carry the workspace they belong to, and listAudit narrows by
 * workspace, actor, action (exact or prefix) and time, newest first, within a bounded limit. Against
 * the real store (FerretDB here), so the query stays in the subset it runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.js';
import { dropTestStore, openTestStore } from '../support/store.js';

let store: Store;
beforeAll(async () => {
  store = await openTestStore();
  const hourAgo = new Date(Date.now() - 60 * 60_000);
  await store.models.AuditEntry.create([
    {
      actor: 'slack:UA',
      action: 'code.run',
      target: 'task:a1',
      outcome: 'succeeded',
      workspace: 'slack:TA',
      at: hourAgo,
    },
    { actor: 'slack:UA', action: 'code.push', target: 'org/a', outcome: 'denied', workspace: 'slack:TA' },
    { actor: 'slack:UB', action: 'code.run', target: 'task:b1', outcome: 'failed', workspace: 'slack:TB' },
    {
      actor: 'github:mallory',
      action: 'codex.review',
      target: 'org/b#1',
      outcome: 'denied',
      workspace: 'github:42',
    },
    { actor: 'slack:UB', action: 'codeXrun', target: 'task:b2', outcome: 'allowed', workspace: 'slack:TB' },
    { actor: 'admin', action: 'admin.sign_in', target: '', outcome: 'failed' },
  ]);
});
afterAll(() => dropTestStore(store));

const targets = (entries: { target: string }[]) => entries.map((e) => e.target).sort();

describe('audit trail', () => {
  it("never returns another workspace's entries to a workspace's query", async () => {
    const a = await store.listAudit({ workspace: 'slack:TA' });
    expect(targets(a)).toEqual(['org/a', 'task:a1']);
    expect(a.every((e) => e.workspace === 'slack:TA')).toBe(true);
    const b = await store.listAudit({ workspace: 'slack:TB', actor: 'slack:UA' });
    expect(b).toEqual([]);
    expect(await store.listAudit({ workspace: 'slack:T' })).toEqual([]);
  });

  it('stores the workspace given to recordAudit, and keeps working for callers that give none', async () => {
    const id = await store.recordAudit({
      actor: 'discord:U9',
      action: 'schedule.add',
      target: 'digest',
      outcome: 'allowed',
      workspace: 'discord:G9',
    });
    await store.recordAudit({ actor: 'discord:U9', action: 'schedule.add', outcome: 'allowed' });
    const entries = await store.listAudit({ actor: 'discord:U9' });
    expect(entries.map((e) => e.workspace ?? null)).toEqual([null, 'discord:G9']);
    expect(entries[1]?.id).toBe(id);
  });

  it('refuses a workspace that does not say its platform', async () => {
    await expect(
      store.recordAudit({ actor: 'x', action: 'y', outcome: 'allowed', workspace: 'T1' }),
    ).rejects.toMatchObject({ code: 'STORE_VALIDATION' });
  });

  it('filters by actor and by exact action', async () => {
    expect(targets(await store.listAudit({ actor: 'slack:UB' }))).toEqual(['task:b1', 'task:b2']);
    expect(targets(await store.listAudit({ action: 'code.run' }))).toEqual(['task:a1', 'task:b1']);
    expect(await store.listAudit({ action: 'code' })).toEqual([]);
  });

  it('treats an action ending in . or * as a prefix, with the dot taken literally', async () => {
    const prefixed = targets(await store.listAudit({ action: 'code.' }));
    expect(prefixed).toEqual(['org/a', 'task:a1', 'task:b1']);
    expect(targets(await store.listAudit({ action: 'code.*' }))).toEqual(prefixed);
    expect(targets(await store.listAudit({ action: 'code*' }))).toEqual([
      'org/a',
      'org/b#1',
      'task:a1',
      'task:b1',
      'task:b2',
    ]);
    expect(targets(await store.listAudit({ action: 'code.', workspace: 'slack:TB' }))).toEqual(['task:b1']);
  });

  it('returns only entries since the given time, newest first', async () => {
    const recent = await store.listAudit({ since: new Date(Date.now() - 30 * 60_000), actor: 'slack:UA' });
    expect(targets(recent)).toEqual(['org/a']);
    const all = await store.listAudit({ workspace: 'slack:TA' });
    expect(all.map((e) => e.target)).toEqual(['org/a', 'task:a1']);
    const times = (await store.listAudit()).map((e) => new Date(e.at).getTime());
    expect(times).toEqual([...times].sort((x, y) => y - x));
  });

  it('returns 100 entries by default and never more than 1000', async () => {
    const many = Array.from({ length: 1005 }, (_, i) => ({
      actor: 'bulk',
      action: 'bulk.write',
      target: `n${i}`,
      outcome: 'allowed' as const,
      workspace: 'github:7',
    }));
    await store.models.AuditEntry.insertMany(many);
    expect(await store.listAudit({ actor: 'bulk' })).toHaveLength(100);
    expect(await store.listAudit({ actor: 'bulk', limit: 5000 })).toHaveLength(1000);
    expect(await store.listAudit({ actor: 'bulk', limit: 3 })).toHaveLength(3);
  });
});
