/**
 * The `github.redelivery` section of config.ts, in its own file so the shared config schema only
 * gains one line: the job that asks GitHub to redeliver webhooks our server failed.
 */
import { z } from 'zod';

/**
 * Asking GitHub again for webhooks our server failed (src/github/redelivery.ts): GitHub never
 * redelivers by itself. Unset `enabled`: on with an App; with GITHUB_TOKEN only for the
 * repository hooks listed (`owner/repo:hookId`).
 */
export const redeliverySettingsSchema = z
  .object({
    enabled: z.boolean().optional(),
    intervalMinutes: z.coerce.number().positive().max(1440).default(5),
    /** Events first delivered longer ago are left alone (GitHub keeps deliveries for 3 days). */
    windowHours: z.coerce.number().positive().max(72).default(2),
    /** One event is asked for again at most this often. */
    cooldownMinutes: z.coerce.number().positive().default(15),
    repositoryHooks: z
      .array(z.string().regex(/^[^/\s:]+\/[^/\s:]+:\d+$/, 'expected owner/repo:hookId'))
      .default([]),
  })
  .strict()
  .prefault({});
