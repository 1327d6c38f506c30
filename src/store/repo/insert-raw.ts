/**
 * One round trip for many inserts, with a verdict per document. Used for group commit on ingest:
 * FerretDB's SQLite handler commits each insert on its own (~400 single inserts/s here) but a
 * 100-document insertMany in one go (~20 000 documents/s), and MongoDB gains the same way.
 * Unordered, so a duplicate key rejects only its own document; the unique index still decides.
 */
import { isDuplicateKeyError, toStoreError } from '../errors.js';

export type InsertVerdict<T> =
  | { inserted: true; doc: T }
  | { inserted: false; duplicate: true }
  | { inserted: false; duplicate: false; error: unknown };

/**
 * Without mongoose's casting, validation and hydration, which were a fifth of the web process's
 * CPU on the ingest hot path (`npm run bench -- ingest`). The documents must be
 * complete and valid as stored: every default applied, every type final. Verdicts by index from
 * the server's writeErrors; anything else (a lost connection) throws, as nothing can be trusted.
 */
export async function insertRaw<T extends { _id: unknown }>(
  collection: {
    insertMany(docs: T[], options: { ordered: false; ignoreUndefined: true }): Promise<unknown>;
  },
  docs: T[],
  what: string,
): Promise<InsertVerdict<T>[]> {
  if (docs.length === 0) return [];
  try {
    // Fields left undefined are left out, as mongoose does (the driver would store them as null).
    await collection.insertMany(docs, { ordered: false, ignoreUndefined: true });
    return docs.map((doc) => ({ inserted: true, doc }));
  } catch (error) {
    // The driver reports a lost connection as a MongoBulkWriteError too, with no writeErrors and
    // nothing inserted (npm run test:faults: requests acked while the store was down, then lost).
    // Only the server's own count, every document either inserted or in writeErrors, is trusted.
    const { writeErrors: given, insertedCount } = error as { writeErrors?: unknown; insertedCount?: unknown };
    const writeErrors = Array.isArray(given) ? given : given ? [given] : [];
    const byIndex = new Map<number, unknown>();
    for (const writeError of writeErrors as { index?: unknown }[])
      if (typeof writeError.index === 'number') byIndex.set(writeError.index, writeError);
    const accounted =
      writeErrors.length > 0 &&
      byIndex.size === writeErrors.length &&
      typeof insertedCount === 'number' &&
      insertedCount + writeErrors.length === docs.length;
    if (!accounted) throw toStoreError(error, what);
    return docs.map((doc, i): InsertVerdict<T> => {
      const writeError = byIndex.get(i);
      if (writeError === undefined) return { inserted: true, doc };
      if (isDuplicateKeyError(writeError)) return { inserted: false, duplicate: true };
      return { inserted: false, duplicate: false, error: toStoreError(writeError, what) };
    });
  }
}
