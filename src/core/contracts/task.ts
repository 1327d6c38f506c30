/**
 * What the worker hands a task's handler, and the shape of the one orchestrator that answers
 * free-form messages: shared by the runtime (src/bots) that calls it and src/agents that provides it.
 */
import type { NormalizedEvent } from './event.js';
import type { ReplySink } from './reply.js';

export interface TaskContext {
  signal: AbortSignal;
  workerId: string;
}

/** Answers free-form messages; provided by src/agents once a model is configured. */
export type Orchestrator = (
  event: NormalizedEvent,
  sink: ReplySink,
  ctx: TaskContext & { taskId: string },
) => Promise<string>;
