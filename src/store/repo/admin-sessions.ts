/**
 * Server-side sessions for the /admin page: opened on sign-in, checked (expiry included) on every
 * request, deleted on sign-out. Callers only ever see the raw session id once, when it is opened.
 */
import { createHash, randomBytes } from 'node:crypto';
import { guard } from '../errors.js';
import type { Models } from '../models/index.js';

export interface AdminSessionRecord {
  tokenTag: string;
  createdAt: Date;
  expiresAt: Date;
}

function sessionKey(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

export function adminSessionRepo(models: Models) {
  const { AdminSession } = models;

  return {
    /** Opens a session for `lifetimeMs` from `now`; returns the id for the cookie (stored only hashed). */
    async openAdminSession(input: {
      tokenTag: string;
      lifetimeMs: number;
      now?: Date;
    }): Promise<{ id: string; expiresAt: Date }> {
      const id = randomBytes(32).toString('base64url');
      const createdAt = input.now ?? new Date();
      const expiresAt = new Date(createdAt.getTime() + input.lifetimeMs);
      await guard('AdminSession', () =>
        AdminSession.create({ _id: sessionKey(id), tokenTag: input.tokenTag, createdAt, expiresAt }),
      );
      return { id, expiresAt };
    },

    /** The live session with this id, or null when unknown or expired (an expired one is deleted). */
    async findAdminSession(id: string, now: Date = new Date()): Promise<AdminSessionRecord | null> {
      if (!id) return null;
      const doc = await AdminSession.findById(sessionKey(id)).lean();
      if (!doc) return null;
      if (doc.expiresAt.getTime() <= now.getTime()) {
        await AdminSession.deleteOne({ _id: doc._id });
        return null;
      }
      return { tokenTag: doc.tokenTag, createdAt: doc.createdAt, expiresAt: doc.expiresAt };
    },

    /** Ends a session (sign-out). Unknown ids are ignored. */
    async closeAdminSession(id: string): Promise<void> {
      if (id) await AdminSession.deleteOne({ _id: sessionKey(id) });
    },

    /** Removes sessions expired before `now`: the TTL index's work where there is none (FerretDB). */
    async purgeAdminSessions(now: Date = new Date()): Promise<number> {
      const result = await AdminSession.deleteMany({ expiresAt: { $lte: now } });
      return result.deletedCount;
    },
  };
}
