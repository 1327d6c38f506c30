import { guard, isDuplicateKeyError } from '../errors.js';
import { deliveryId } from '../models/delivery.js';
import type { DeliveryDoc, Models, Platform } from '../models/index.js';
import { insertEach } from './insert-each.js';

export interface DeliveryOutcome {
  duplicate: boolean;
  /** The task recorded with this delivery (the first one's, for a duplicate). */
  taskId?: string | null;
}

export function deliveryRepo(models: Models) {
  return {
    /**
     * Records a platform delivery. A key seen before is reported as `{ duplicate: true }`, not thrown:
     * platforms retry on timeouts, and a retry is normal traffic, not an error.
     */
    async recordDelivery(platform: Platform, key: string, taskId?: string): Promise<DeliveryOutcome> {
      try {
        await models.Delivery.create({ platform, key, taskId: taskId ?? null });
        return taskId === undefined ? { duplicate: false } : { duplicate: false, taskId };
      } catch (error) {
        if (isDuplicateKeyError(error)) {
          if (taskId === undefined) return { duplicate: true };
          const first = await models.Delivery.findById(deliveryId(platform, key)).lean();
          return { duplicate: true, taskId: first?.taskId ?? null };
        }
        return guard('Delivery', () => Promise.reject(error));
      }
    },

    /**
     * recordDelivery for many at once, in one round trip (group commit on ingest). Outcomes are in
     * input order; a key repeated within the batch is a duplicate of its first occurrence. A
     * duplicate's task id is not looked up: ingest derives task ids from the delivery key, so the
     * caller already knows it.
     */
    async recordDeliveries(
      items: readonly { platform: Platform; key: string; taskId: string }[],
    ): Promise<({ duplicate: boolean } | { error: unknown })[]> {
      const verdicts = await insertEach<DeliveryDoc>(
        models.Delivery,
        items.map((item) => ({ platform: item.platform, key: item.key, taskId: item.taskId })),
        'Delivery',
      );
      return verdicts.map((verdict) => {
        if (verdict.inserted) return { duplicate: false };
        return verdict.duplicate ? { duplicate: true } : { error: verdict.error };
      });
    },

    /** Deletes deliveries received before `olderThan`; returns how many went. */
    async purgeDeliveries(olderThan: Date): Promise<number> {
      const result = await models.Delivery.deleteMany({ receivedAt: { $lt: olderThan } });
      return result.deletedCount;
    },
  };
}
