/**
 * The `sandbox.egress` section of config.ts, in its own file so the shared config schema only gains
 * one line: the setup run that installs a GitHub change's dependencies (src/runners setup-run.ts).
 */
import { z } from 'zod';

/**
 * Dependency installs before a GitHub change's tests: a setup run whose only way out is an
 * egress proxy (tinyproxy) allowing these registry hosts (`host`, `*.suffix`, `host:port`; no IP
 * addresses), reached from the proxy over `outboundNetwork`. Caches per repository and lockfile,
 * `cacheMb` in total (least recently used removed first). The tests themselves run with no network.
 * `setupTimeoutSeconds` is capped by sandbox.timeoutSeconds, like every sandbox run's time limit.
 */
export const egressSettingsSchema = z
  .object({
    enabled: z.boolean().default(true),
    allow: z
      .array(z.string().min(1))
      .min(1)
      .max(100)
      .default([
        'registry.npmjs.org',
        'pypi.org',
        'files.pythonhosted.org',
        'proxy.golang.org',
        'sum.golang.org',
      ]),
    outboundNetwork: z.string().min(1).default('bridge'),
    cacheMb: z.coerce.number().int().min(0).max(1_048_576).default(2048),
    setupTimeoutSeconds: z.coerce.number().int().min(10).max(3600).default(300),
  })
  .strict()
  .prefault({});
