import { Schema } from 'mongoose';

/**
 * A signed-in /admin browser session. The cookie holds a random id; `_id` is its SHA-256, so the
 * store never holds a usable credential and each check is a primary-key read (FerretDB pushes only
 * `_id` filters down). `tokenTag` binds the session to the DECKHAND_ADMIN_TOKEN it was opened with:
 * rotating the token ends every session. The TTL index removes expired sessions on MongoDB (lazily,
 * about once a minute; FerretDB gets only unique indexes), so expiry is also checked on every read.
 */
export interface AdminSessionDoc {
  _id: string;
  tokenTag: string;
  createdAt: Date;
  expiresAt: Date;
}

export const adminSessionSchema = new Schema<AdminSessionDoc>(
  {
    _id: { type: String },
    tokenTag: { type: String, required: true, minlength: 1, maxlength: 128 },
    createdAt: { type: Date, required: true },
    expiresAt: { type: Date, required: true },
  },
  { strict: 'throw', versionKey: false },
);
adminSessionSchema.index({ expiresAt: 1 }, { expireAfterSeconds: 0 });
