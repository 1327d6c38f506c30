/**
 * Approvals in the store: an action waiting for a person with the right role, and the one decision
 * on it. Two clicks at once get the same answer, and exactly one of them made it; a click after the
 * approval expired finds the expiry, never an approval.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApprovalInput, Store } from '../../src/store/index.js';
import { dropTestStore, openTestStore } from '../support/store.js';

let store: Store;
let approvals: Store;
beforeAll(async () => {
  store = await openTestStore();
  approvals = store;
});
afterAll(() => dropTestStore(store));

function request(overrides: Partial<ApprovalInput> = {}): ApprovalInput {
  return {
    workspace: 'slack:T0APPROVE',
    channelId: 'C0RUN',
    threadId: '1700000000.000100',
    requesterId: 'U0ADA',
    action: 'run',
    summary: 'python: print(42)',
    approverRole: 'admin',
    taskId: 'task-1',
    expiresAt: new Date(Date.now() + 60_000),
    ...overrides,
  };
}

describe('approvals', () => {
  it('reads back an approval by its short, url-safe id', async () => {
    const created = await approvals.createApproval(request());
    expect(created.id).toMatch(/^[A-Za-z0-9_-]{8,10}$/);
    expect(created).toMatchObject({ ...request(), expiresAt: expect.any(Date) });
    expect(await approvals.getApproval(created.id)).toEqual(created);
    expect(await approvals.getApproval('nope1234')).toBeUndefined();
    expect(await approvals.approvalDecisionOf(created.id)).toBeUndefined();
  });

  it('gives each approval its own id', async () => {
    const [one, two] = await Promise.all([
      approvals.createApproval(request()),
      approvals.createApproval(request()),
    ]);
    expect(one?.id).not.toBe(two?.id);
  });

  it('refuses an approval that is not valid', async () => {
    await expect(
      approvals.createApproval(request({ approverRole: 'boss' as 'admin' })),
    ).rejects.toMatchObject({
      code: 'STORE_VALIDATION',
    });
    await expect(approvals.createApproval(request({ summary: '' }))).rejects.toMatchObject({
      code: 'STORE_VALIDATION',
    });
  });

  it('keeps the first of two decisions made at once, and tells both callers the same', async () => {
    const { id } = await approvals.createApproval(request());
    const [approve, deny] = await Promise.all([
      approvals.decideApproval(id, 'approved', 'U0BOSS'),
      approvals.decideApproval(id, 'denied', 'U0OTHER'),
    ]);
    expect([approve.first, deny.first].filter(Boolean)).toHaveLength(1);
    expect(deny.verdict).toBe(approve.verdict);
    expect(deny.by).toBe(approve.by);
    expect(deny.at.getTime()).toBe(approve.at.getTime());
    expect(await approvals.approvalDecisionOf(id)).toEqual({
      verdict: approve.verdict,
      by: approve.by,
      at: approve.at,
    });
  });

  it('answers a decision after the timeout with the expiry', async () => {
    const { id } = await approvals.createApproval(request());
    expect(await approvals.decideApproval(id, 'expired', 'timeout')).toMatchObject({
      verdict: 'expired',
      by: 'timeout',
      first: true,
    });
    expect(await approvals.decideApproval(id, 'approved', 'U0BOSS')).toMatchObject({
      verdict: 'expired',
      by: 'timeout',
      first: false,
    });
  });

  it('records the expiry when an approval past its time is approved with nobody waiting', async () => {
    const { id } = await approvals.createApproval(request({ expiresAt: new Date(Date.now() - 1000) }));
    expect(await approvals.decideApproval(id, 'approved', 'U0BOSS')).toMatchObject({
      verdict: 'expired',
      by: 'timeout',
      first: false,
    });
    expect(await approvals.approvalDecisionOf(id)).toMatchObject({ verdict: 'expired', by: 'timeout' });
  });

  it('refuses a decision on an approval that does not exist', async () => {
    await expect(approvals.decideApproval('missing1', 'approved', 'U0BOSS')).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });
});
