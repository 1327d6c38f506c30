import type { Models } from '../models/index.js';

/**
 * Deliveries were recorded on ingest before each task, as the dedupe. The task's _id now derives
 * from the delivery key and its insert is the dedupe (src/bots/pipeline.ts), so nothing writes
 * deliveries any more; the purge clears what earlier versions wrote.
 */
export function deliveryRepo(models: Models) {
  return {
    /** Deletes deliveries received before `olderThan`; returns how many went. */
    async purgeDeliveries(olderThan: Date): Promise<number> {
      const result = await models.Delivery.deleteMany({ receivedAt: { $lt: olderThan } });
      return result.deletedCount;
    },
  };
}
