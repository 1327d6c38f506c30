/**
 * The wait for an approval: one message says who asked, what will happen and who may approve, with
 * Approve / Deny buttons and the typed form; the wait ends with the first decision, the timeout or
 * the task's cancellation, and the message is edited to say which. The store is behind a port, so an
 * in-memory port stands in for it here (first decision wins, as the store's unique insert does).
 */
import { describe, expect, it } from 'vitest';
import {
  type ApprovalInput,
  type ApprovalPort,
  type ApprovalRequest,
  type ApprovalVerdict,
  awaitApproval,
  type NormalizedEvent,
  type PostedReply,
  type ReplyOptions,
  type ReplySink,
} from '../../src/core/index.js';

type Decision = { verdict: ApprovalVerdict; by: string; at: Date };

class MemoryApprovals implements ApprovalPort {
  readonly approvals = new Map<string, ApprovalInput>();
  readonly decisions = new Map<string, Decision>();
  /** While set, reads do not see decisions (a read that raced a write). */
  staleReads = false;

  async createApproval(input: ApprovalInput): Promise<{ id: string }> {
    const id = `ap${this.approvals.size + 1}xyz`;
    this.approvals.set(id, input);
    return { id };
  }

  async decideApproval(id: string, verdict: ApprovalVerdict, by: string) {
    const held = this.decisions.get(id);
    if (held) return { ...held, first: false };
    const decision = { verdict, by, at: new Date() };
    this.decisions.set(id, decision);
    return { ...decision, first: true };
  }

  async approvalDecisionOf(id: string) {
    return this.staleReads ? undefined : this.decisions.get(id);
  }
}

interface Shown {
  text: string;
  options: ReplyOptions | undefined;
}

/** Records every post and edit, with the buttons; `posted` resolves with the approval id asked for. */
class RecordingSink implements ReplySink {
  readonly shown: Shown[] = [];
  readonly edits: Shown[] = [];
  private announce: (id: string) => void = () => undefined;
  readonly posted = new Promise<string>((resolve) => {
    this.announce = resolve;
  });

  async post(text: string, options?: ReplyOptions): Promise<PostedReply> {
    this.shown.push({ text, options });
    const approve = options?.actions?.find((action) => action.label === 'Approve');
    if (approve) this.announce(approve.command.replace(/^approve /, ''));
    return { id: String(this.shown.length - 1) };
  }

  async update(reply: PostedReply, text: string, options?: ReplyOptions): Promise<void> {
    this.shown[Number(reply.id)] = { text, options };
    this.edits.push({ text, options });
  }

  async status(): Promise<void> {}
}

const event: NormalizedEvent = {
  platform: 'slack',
  workspaceId: 'T0APPROVE',
  channelId: 'C0RUN',
  threadId: '1700000000.000100',
  userId: 'U0ADA',
  text: 'run this',
  mentions: [],
  deliveryKey: 'd-1',
  eventType: 'app_mention',
  replyTo: {},
  receivedAt: new Date().toISOString(),
};

function request(sink: ReplySink, overrides: Partial<ApprovalRequest> = {}): ApprovalRequest {
  return {
    event,
    sink,
    taskId: 'task-1',
    action: 'run',
    approverRole: 'admin',
    summary: 'print(42)',
    timeoutMs: 30 * 60_000,
    signal: new AbortController().signal,
    pollMs: 5,
    ...overrides,
  };
}

describe('awaitApproval', () => {
  it('asks once, with who asked, what will happen, who may approve and the buttons', async () => {
    const port = new MemoryApprovals();
    const sink = new RecordingSink();
    const waiting = awaitApproval(port, request(sink));
    const id = await sink.posted;
    const [asked] = sink.shown;
    expect(sink.shown).toHaveLength(1);
    expect(asked?.text).toContain('<@U0ADA> asked to run code');
    expect(asked?.text).toContain('print(42)');
    expect(asked?.text).toContain('a workspace admin or above');
    expect(asked?.text).toContain(`\`approve ${id}\``);
    expect(asked?.text).toContain(`\`deny ${id}\``);
    expect(asked?.text).toContain('Expires in 30 minutes');
    expect(asked?.options?.actions).toEqual([
      { label: 'Approve', command: `approve ${id}`, style: 'primary' },
      { label: 'Deny', command: `deny ${id}`, style: 'danger' },
    ]);
    expect(port.approvals.get(id)).toMatchObject({
      workspace: 'slack:T0APPROVE',
      channelId: 'C0RUN',
      threadId: '1700000000.000100',
      requesterId: 'U0ADA',
      action: 'run',
      approverRole: 'admin',
      taskId: 'task-1',
      summary: 'print(42)',
    });
    await port.decideApproval(id, 'approved', 'U0BOSS');
    await waiting;
  });

  it('lets the action go when approved, and says by whom', async () => {
    const port = new MemoryApprovals();
    const sink = new RecordingSink();
    const waiting = awaitApproval(port, request(sink));
    await port.decideApproval(await sink.posted, 'approved', 'U0BOSS');
    expect(await waiting).toEqual({ verdict: 'approved', by: 'U0BOSS' });
    expect(sink.edits).toHaveLength(1);
    expect(sink.shown[0]?.text).toContain('Approved by <@U0BOSS>');
    expect(sink.shown[0]?.options?.actions ?? []).toEqual([]);
  });

  it('stops the action when denied, and says nothing ran', async () => {
    const port = new MemoryApprovals();
    const sink = new RecordingSink();
    const waiting = awaitApproval(port, request(sink));
    await port.decideApproval(await sink.posted, 'denied', 'U0BOSS');
    expect(await waiting).toEqual({ verdict: 'denied', by: 'U0BOSS' });
    expect(sink.shown[0]?.text).toContain('Denied by <@U0BOSS>: nothing ran');
    expect(sink.shown[0]?.options?.actions ?? []).toEqual([]);
  });

  it('expires when no one decides in time, records the expiry and says nothing ran', async () => {
    const port = new MemoryApprovals();
    const sink = new RecordingSink();
    const outcome = await awaitApproval(port, request(sink, { timeoutMs: 60 }));
    expect(outcome).toEqual({ verdict: 'expired' });
    const id = await sink.posted;
    expect(port.decisions.get(id)).toMatchObject({ verdict: 'expired', by: 'timeout' });
    expect(sink.shown[0]?.text).toContain('No one approved within 1 second: nothing ran');
    expect(sink.shown[0]?.options?.actions ?? []).toEqual([]);
  });

  it('ends promptly as cancelled when the task is cancelled, so a late approve finds it decided', async () => {
    const port = new MemoryApprovals();
    const sink = new RecordingSink();
    const controller = new AbortController();
    const waiting = awaitApproval(port, request(sink, { signal: controller.signal, pollMs: 60_000 }));
    const id = await sink.posted;
    const abortedAt = Date.now();
    controller.abort();
    expect(await waiting).toEqual({ verdict: 'cancelled' });
    expect(Date.now() - abortedAt).toBeLessThan(1000);
    expect(sink.shown[0]?.text).toContain('Cancelled before anyone approved: nothing ran');
    expect(await port.decideApproval(id, 'approved', 'U0BOSS')).toMatchObject({
      verdict: 'expired',
      by: 'cancelled',
      first: false,
    });
  });

  it('asks nothing when the task was cancelled before the wait began', async () => {
    const port = new MemoryApprovals();
    const sink = new RecordingSink();
    const controller = new AbortController();
    controller.abort();
    expect(await awaitApproval(port, request(sink, { signal: controller.signal }))).toEqual({
      verdict: 'cancelled',
    });
    expect(sink.shown).toEqual([]);
    expect(port.approvals.size).toBe(0);
  });

  it('keeps an approval that landed just before the timeout, though the wait had not seen it', async () => {
    const port = new MemoryApprovals();
    const sink = new RecordingSink();
    port.staleReads = true;
    const waiting = awaitApproval(port, request(sink, { timeoutMs: 80 }));
    await port.decideApproval(await sink.posted, 'approved', 'U0BOSS');
    expect(await waiting).toEqual({ verdict: 'approved', by: 'U0BOSS' });
    expect(sink.shown[0]?.text).toContain('Approved by <@U0BOSS>');
  });

  it('keeps the expiry when an approve comes after the timeout', async () => {
    const port = new MemoryApprovals();
    const sink = new RecordingSink();
    expect(await awaitApproval(port, request(sink, { timeoutMs: 30 }))).toEqual({ verdict: 'expired' });
    expect(await port.decideApproval(await sink.posted, 'approved', 'U0BOSS')).toMatchObject({
      verdict: 'expired',
      first: false,
    });
  });

  it('tells GitHub users to mention the bot with the typed command', async () => {
    const port = new MemoryApprovals();
    const sink = new RecordingSink();
    const github = { ...event, platform: 'github' as const, userId: 'ada' };
    const waiting = awaitApproval(port, request(sink, { event: github, action: 'repo.write' }));
    const id = await sink.posted;
    expect(sink.shown[0]?.text).toContain('@ada asked to write to a repository');
    expect(sink.shown[0]?.text).toContain(`mentioning me with \`approve ${id}\``);
    await port.decideApproval(id, 'denied', 'grace');
    expect(await waiting).toEqual({ verdict: 'denied', by: 'grace' });
  });
});
