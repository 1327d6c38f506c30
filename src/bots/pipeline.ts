/**
 * Ingest: a verified, parsed event becomes exactly one durable task, then the request is acked.
 *
 * Order matters for "nothing acked is lost, nothing done twice": the delivery key is recorded first
 * (a unique insert, atomic on every server) together with a pre-allocated task id; the task is then
 * inserted under that id. If we crash between the two, the platform's retry finds the delivery,
 * sees its task missing and inserts the same id: a retry can recreate the task but never duplicate it.
 */
import type { Store, TaskRecord } from '../store/index.js';
import type { NormalizedEvent } from './events.js';

export const EVENT_TASK_KIND = 'event';

export interface IngestResult {
  duplicate: boolean;
  taskId: string;
}

export type TaskListener = (task: TaskRecord) => void;

/** Tasks get the store's default attempt limit (config tasks.maxAttempts, given to openStore). */
export function createPipeline(store: Store) {
  const listeners = new Set<TaskListener>();

  async function enqueue(id: string, event: NormalizedEvent): Promise<TaskRecord | null> {
    try {
      return await store.enqueueTask({
        id,
        kind: EVENT_TASK_KIND,
        source: {
          platform: event.platform,
          workspaceId: event.workspaceId,
          channelId: event.channelId,
          threadId: event.threadId,
          userId: event.userId,
          eventId: event.deliveryKey,
        },
        payload: event,
      });
    } catch (error) {
      if ((error as { code?: string }).code === 'STORE_CONFLICT') return null; // a concurrent retry won
      throw error;
    }
  }

  return {
    /** Call this before acking. Resolves once the task is durable. */
    async ingest(event: NormalizedEvent): Promise<IngestResult> {
      const id = store.newTaskId();
      const delivery = await store.recordDelivery(event.platform, event.deliveryKey, id);
      if (!delivery.duplicate) {
        const task = await enqueue(id, event);
        if (task) for (const listener of listeners) listener(task);
        return { duplicate: false, taskId: id };
      }
      const firstId = delivery.taskId;
      if (firstId && !(await store.getTask(firstId))) {
        const task = await enqueue(firstId, event); // the first attempt crashed before persisting its task
        if (task) for (const listener of listeners) listener(task);
      }
      return { duplicate: true, taskId: firstId ?? '' };
    },

    /** In-process workers subscribe so a new task starts at once instead of at the next poll. */
    onTask(listener: TaskListener): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export type Pipeline = ReturnType<typeof createPipeline>;
