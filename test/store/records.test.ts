import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.js';
import { openStore } from '../../src/store/index.js';
import { dropTestStore, openTestStore } from '../support/store.js';

let store: Store;
beforeAll(async () => {
  store = await openTestStore();
});
afterAll(() => dropTestStore(store));

describe('conversations, messages, audit, runs and schedules', () => {
  it('keeps one conversation per thread even when first messages race', async () => {
    const key = {
      platform: 'slack' as const,
      workspaceId: 'T1',
      channelId: 'C1',
      threadId: '1700000000.0001',
    };
    const all = await Promise.all(Array.from({ length: 8 }, () => store.upsertConversation(key)));
    expect(new Set(all.map((c) => c.id)).size).toBe(1);
    expect(await store.models.Conversation.countDocuments(key)).toBe(1);
  });

  it('returns the most recent messages oldest first with token and cost accounting', async () => {
    const convo = await store.upsertConversation({
      platform: 'terminal',
      workspaceId: 'local',
      channelId: 'tty',
    });
    for (let i = 0; i < 5; i++)
      await store.appendMessage(convo.id, { role: i % 2 ? 'assistant' : 'user', text: `m${i}` });
    await store.appendMessage(convo.id, {
      role: 'assistant',
      text: 'done',
      model: 'anthropic:claude-sonnet-4-5',
      tokensIn: 120,
      tokensOut: 30,
      costUsd: 0.00081,
      toolCalls: [{ id: 'c1', name: 'run_code', arguments: { code: 'print(1)' } }],
    });
    const recent = await store.recentMessages(convo.id, 3);
    expect(recent.map((m) => m.text)).toEqual(['m3', 'm4', 'done']);
    expect(recent[2]).toMatchObject({
      tokensIn: 120,
      tokensOut: 30,
      costUsd: 0.00081,
      toolCalls: [{ name: 'run_code' }],
    });
  });

  it('refuses a message with an unknown role or unknown field', async () => {
    const convo = await store.upsertConversation({
      platform: 'terminal',
      workspaceId: 'local',
      channelId: 'x',
    });
    await expect(
      store.appendMessage(convo.id, { role: 'robot' as 'user', text: 'hi' }),
    ).rejects.toMatchObject({
      code: 'STORE_VALIDATION',
    });
    await expect(
      store.appendMessage(convo.id, { role: 'user', text: 'hi', ...({ surprise: 1 } as object) }),
    ).rejects.toMatchObject({ code: 'STORE_VALIDATION', userMessage: expect.stringContaining('surprise') });
  });

  it('records audit entries, runs and schedules', async () => {
    await store.recordAudit({
      actor: 'slack:U1',
      action: 'sandbox.run',
      target: 'task:1',
      outcome: 'denied',
    });
    expect((await store.listAudit({ actor: 'slack:U1' }))[0]).toMatchObject({
      action: 'sandbox.run',
      outcome: 'denied',
    });

    const runId = await store.startRun({
      image: 'deckhand-sandbox:latest',
      command: ['python3', '-c', 'print(1)'],
      limits: { cpus: 1, memoryMb: 256, pids: 64, timeoutSeconds: 10, network: 'none' },
    });
    await store.finishRun(runId, {
      status: 'succeeded',
      exitCode: 0,
      stdout: '1\n',
      stderr: '',
      truncated: false,
      durationMs: 420,
    });
    expect(await store.getRun(runId)).toMatchObject({ status: 'succeeded', exitCode: 0, stdout: '1\n' });

    const schedule = {
      name: 'daily',
      platform: 'slack' as const,
      workspaceId: 'T1',
      channelId: 'C1',
      cron: '0 9 * * 1-5',
      timezone: 'Europe/Berlin',
      repos: ['acme/api'],
      enabled: true,
    };
    await store.saveSchedule(schedule);
    await store.saveSchedule({ ...schedule, cron: '0 10 * * 1-5' });
    const schedules = await store.listSchedules({ workspaceId: 'T1' });
    expect(schedules).toHaveLength(1);
    expect(schedules[0]?.cron).toBe('0 10 * * 1-5');
  });

  it('builds the declared unique indexes at start', async () => {
    // Deliveries dedupe on their derived _id (platform:key); task decisions and threads on these.
    const transitions = await store.models.TaskTransition.collection.indexes();
    expect(
      transitions.some(
        (ix) => ix.unique && ix.key.taskId === 1 && ix.key.attempt === 1 && ix.key.phase === 1,
      ),
    ).toBe(true);
    const conversations = await store.models.Conversation.collection.indexes();
    expect(conversations.some((ix) => ix.unique && ix.key.threadId === 1)).toBe(true);
  });

  it('names the host but not the password when the server cannot be reached', async () => {
    const attempt = openStore({
      uri: 'mongodb://deckhand:hunter2secret@127.0.0.1:1/x',
      retries: 1,
      retryDelayMs: 10,
      serverSelectionTimeoutMs: 300,
    });
    await expect(attempt).rejects.toMatchObject({ code: 'STORE_UNREACHABLE' });
    const error = (await attempt.catch((e: unknown) => e)) as Error;
    expect(error.message).toContain('127.0.0.1:1');
    expect(error.message).not.toContain('hunter2secret');
  });
});
