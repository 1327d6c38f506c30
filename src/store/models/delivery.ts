import { Schema } from 'mongoose';
import { PLATFORMS, type Platform } from './platform.js';

/**
 * A platform delivery we have accepted. The unique (platform, key) index is the dedupe: platforms
 * retry deliveries, and a second insert of the same key fails atomically on every server.
 * Expiry is an explicit purge (purgeDeliveries), not a TTL index, so it works on FerretDB too.
 */
export interface DeliveryDoc {
  platform: Platform;
  key: string;
  receivedAt: Date;
  taskId?: string | null;
}

export const deliverySchema = new Schema<DeliveryDoc>(
  {
    platform: { type: String, enum: PLATFORMS, required: true },
    key: { type: String, required: true, minlength: 1, maxlength: 512 },
    receivedAt: { type: Date, default: () => new Date() },
    taskId: { type: String, default: null },
  },
  { strict: 'throw', versionKey: false },
);
deliverySchema.index({ platform: 1, key: 1 }, { unique: true });
deliverySchema.index({ receivedAt: 1 });
