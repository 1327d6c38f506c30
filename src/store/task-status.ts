/** The task state machine. Every status change in the store is checked against this table. */
import { DeckhandError } from '../core/index.js';

export const TASK_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

const ALLOWED: Record<TaskStatus, readonly TaskStatus[]> = {
  queued: ['running', 'cancelled', 'failed'],
  // running -> queued is a retry (failed attempt or expired lease).
  running: ['succeeded', 'failed', 'cancelled', 'queued'],
  succeeded: [],
  failed: [],
  cancelled: [],
};

export function canTransition(from: TaskStatus, to: TaskStatus): boolean {
  return ALLOWED[from].includes(to);
}

export function assertTransition(from: TaskStatus, to: TaskStatus, taskId?: string): void {
  if (!canTransition(from, to)) {
    throw new DeckhandError(
      'ILLEGAL_TRANSITION',
      `Task ${taskId ?? ''} cannot move from ${from} to ${to}.`.replace('Task  ', 'Task '),
    );
  }
}

export function isFinished(status: TaskStatus): boolean {
  return ALLOWED[status].length === 0;
}
