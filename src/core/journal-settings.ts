/**
 * The `journal` section of config.ts, in its own file so the shared config schema only gains one line.
 */
import { z } from 'zod';

/**
 * The local ingest journal (src/bots/journal.ts): events of platforms that never resend (Discord)
 * kept on disk, fsynced, while the store is slow or down, and replayed into it after. Empty dir:
 * ~/.local/state/deckhand/journal. On Kubernetes give it a volume that outlives the container.
 */
export const journalSettingsSchema = z
  .object({
    dir: z.string().default(''),
    maxMb: z.coerce.number().int().min(1).max(10_240).default(64),
    replayIntervalMs: z.coerce.number().int().min(100).default(2000),
  })
  .strict()
  .prefault({});
