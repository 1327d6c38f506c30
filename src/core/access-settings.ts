/**
 * The `access` section of the config (who may do what; src/core/policy.ts decides with it): the
 * default role, roles and repository connections named in config, the least role per action, and
 * approvals. Kept beside the policy so config.ts stays the list of sections.
 */
import { z } from 'zod';
import { DEFAULT_MIN_ROLE, RANKED_ACTIONS, roleSchema } from './policy.js';

function stripUndefined<T extends Record<string, unknown>>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export const accessSettingsSchema = z
  .object({
    /** The role of a person no one has granted one (in a workspace, a server, the terminal). */
    defaultRole: roleSchema.default('member'),
    /** `<platform>:<workspaceId>:<userId>` -> role, fixed: chat grants cannot change it (`slack:T1:U1: owner`). */
    roles: z
      .record(
        z.string().regex(/^[a-z]+:[^:\s]+:\S+$/, 'expected `<platform>:<workspaceId>:<userId>`'),
        roleSchema,
      )
      .default({}),
    /** `<platform>:<workspaceId>` -> repositories connected from config (as `repos connect` does). */
    repos: z
      .record(
        z.string().regex(/^[a-z]+:\S+$/, 'expected `<platform>:<workspaceId>`'),
        z.array(z.string().regex(/^[\w.-]+\/[\w.-]+$/)),
      )
      .default({}),
    /** The least role per action (defaults: the README's "Who may do what" table). */
    minRole: z
      .object(Object.fromEntries(RANKED_ACTIONS.map((a) => [a, roleSchema.optional()])))
      .strict()
      .default({})
      .transform((given) => ({ ...DEFAULT_MIN_ROLE, ...stripUndefined(given) })),
    /** Actions that wait for Approve from a person of this role or above (`run: admin`). */
    approvals: z
      .object({ run: roleSchema.optional(), 'repo.write': roleSchema.optional() })
      .strict()
      .default({}),
    /** An approval not given within this many minutes cancels the action. */
    approvalTimeoutMinutes: z.coerce.number().min(0.01).max(1440).default(30),
  })
  .strict()
  .prefault({});
