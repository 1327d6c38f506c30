import { Schema } from 'mongoose';
import { PLATFORMS, type Platform } from './platform.js';

/**
 * A platform delivery we have accepted. The unique (platform, key) index is the dedupe: platforms
 * retry deliveries, and a second insert of the same key fails atomically on every server.
 * `_id` is `platform:key` too, so reading a duplicate's first delivery is a primary-key lookup:
 * FerretDB's SQLite handler only pushes `_id` filters down and would scan every delivery otherwise.
 * Expiry is an explicit purge (purgeDeliveries), not a TTL index, so it works on FerretDB too.
 */
export interface DeliveryDoc {
  _id: string;
  platform: Platform;
  key: string;
  receivedAt: Date;
  taskId?: string | null;
}

export const deliverySchema = new Schema<DeliveryDoc>(
  {
    _id: { type: String },
    platform: { type: String, enum: PLATFORMS, required: true },
    key: { type: String, required: true, minlength: 1, maxlength: 512 },
    receivedAt: { type: Date, default: () => new Date() },
    taskId: { type: String, default: null },
  },
  { strict: 'throw', versionKey: false },
);
// No second unique index on (platform, key): the derived _id is that key, and every index is paid on
// the ingest hot path.
deliverySchema.index({ receivedAt: 1 });

export function deliveryId(platform: Platform, key: string): string {
  return `${platform}:${key}`;
}

// The id is derived, never supplied: every insert path gets the same primary key for the same delivery.
deliverySchema.pre('validate', function deriveDeliveryId() {
  if (this.platform && this.key) this._id = deliveryId(this.platform, this.key);
});
