/**
 * One typed configuration object: config/default.yaml, then DECKHAND_CONFIG (a second YAML file),
 * then environment variables. Secrets are only read from the environment or from a file named by
 * `NAME_FILE`; the YAML schema is strict, so a secret pasted into YAML is refused, not ignored.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { DeckhandError } from './errors.js';
import { registerSecret } from './redact.js';

const settingsSchema = z
  .object({
    env: z.enum(['development', 'production', 'test']).default('development'),
    port: z.coerce.number().int().min(0).max(65535).default(3000),
    log: z
      .object({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
      })
      .strict()
      .default({ level: 'info' }),
    store: z
      .object({
        uri: z.string().default(''),
        connectRetries: z.coerce.number().int().min(0).max(50).default(5),
      })
      .strict()
      .prefault({}),
    redis: z
      .object({ url: z.string().default('') })
      .strict()
      .prefault({}),
    tasks: z
      .object({
        leaseMs: z.coerce.number().int().min(1000).default(60_000),
        maxAttempts: z.coerce.number().int().min(1).max(20).default(3),
        retryBaseMs: z.coerce.number().int().min(0).default(2000),
        deliveryRetentionHours: z.coerce.number().min(1).default(72),
        concurrency: z.coerce.number().int().min(1).max(64).default(4),
        userPerMinute: z.coerce.number().int().min(1).default(20),
        workspacePerMinute: z.coerce.number().int().min(1).default(200),
      })
      .strict()
      .prefault({}),
    sandbox: z
      .object({
        image: z.string().min(1).default('deckhand-sandbox:latest'),
        cpus: z.coerce.number().positive().max(64).default(1),
        memoryMb: z.coerce.number().int().min(32).default(512),
        pids: z.coerce.number().int().min(16).default(256),
        timeoutSeconds: z.coerce.number().int().min(1).max(3600).default(120),
        network: z.enum(['none', 'bridge']).default('none'),
        warmPool: z.coerce.number().int().min(0).max(32).default(1),
        /** Per stream; longer output is cut with a note. The Run record keeps at most 100 000 chars. */
        outputLimitBytes: z.coerce.number().int().min(1024).max(16_777_216).default(65_536),
        /** Size of each writable tmpfs in a sandbox (/tmp, /work, /dev/shm); counts toward memoryMb. */
        tmpfsMb: z.coerce.number().int().min(1).max(4096).default(64),
        /** Extra languages or overrides of python/node/bash: { name: { image?, command, fileName } }. */
        languages: z
          .record(
            z.string().regex(/^[a-z][a-z0-9_+-]*$/),
            z
              .object({
                image: z.string().min(1).optional(),
                command: z.array(z.string().min(1)).min(1),
                fileName: z.string().regex(/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/),
              })
              .strict(),
          )
          .default({}),
      })
      .strict()
      .prefault({}),
    models: z
      .object({
        default: z.string().min(1).default('anthropic:claude-sonnet-4-5'),
        monthlyBudgetUsd: z.coerce.number().min(0).default(50),
      })
      .strict()
      .prefault({}),
  })
  .strict();

/** Secrets: environment only. Each key is the variable name that sets it. */
export const SECRET_VARIABLES = [
  'SLACK_SIGNING_SECRET',
  'SLACK_BOT_TOKEN',
  'SLACK_APP_TOKEN',
  'DISCORD_PUBLIC_KEY',
  'DISCORD_BOT_TOKEN',
  'DISCORD_APPLICATION_ID',
  'GITHUB_APP_ID',
  'GITHUB_PRIVATE_KEY',
  'GITHUB_WEBHOOK_SECRET',
  'ANTHROPIC_API_KEY',
  'OPENAI_API_KEY',
  'OPENAI_BASE_URL',
  'DECKHAND_ADMIN_TOKEN',
] as const;
export type SecretVariable = (typeof SECRET_VARIABLES)[number];

/** Non-secret environment overrides: variable -> dotted settings path. */
const ENV_OVERRIDES: Record<string, string> = {
  NODE_ENV: 'env',
  PORT: 'port',
  LOG_LEVEL: 'log.level',
  MONGODB_URI: 'store.uri',
  REDIS_URL: 'redis.url',
  DECKHAND_LEASE_MS: 'tasks.leaseMs',
  DECKHAND_MAX_ATTEMPTS: 'tasks.maxAttempts',
  DECKHAND_CONCURRENCY: 'tasks.concurrency',
  DECKHAND_USER_PER_MINUTE: 'tasks.userPerMinute',
  DECKHAND_WORKSPACE_PER_MINUTE: 'tasks.workspacePerMinute',
  DECKHAND_SANDBOX_IMAGE: 'sandbox.image',
  DECKHAND_SANDBOX_WARM_POOL: 'sandbox.warmPool',
  DECKHAND_DEFAULT_MODEL: 'models.default',
};

export type Settings = z.infer<typeof settingsSchema>;
export type Secrets = Partial<Record<SecretVariable, string>>;
export interface Config extends Settings {
  secrets: Secrets;
  /** Where each setting came from, for `deckhand doctor`. */
  sources: { configFiles: string[] };
}

const here = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_CONFIG_FILE = resolve(here, '../../config/default.yaml');

function readYamlFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new DeckhandError('CONFIG_INVALID', `Cannot read config file ${path}. Check DECKHAND_CONFIG.`, {
      cause,
    });
  }
  const parsed: unknown = parseYaml(text) ?? {};
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new DeckhandError('CONFIG_INVALID', `Config file ${path} must hold a YAML mapping.`);
  }
  return parsed as Record<string, unknown>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prior = out[key];
    out[key] = isRecord(prior) && isRecord(value) ? deepMerge(prior, value) : value;
  }
  return out;
}

function setPath(target: Record<string, unknown>, path: string, value: string): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (!isRecord(next)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1] as string] = value;
}

/** Reads NAME, or the file named by NAME_FILE (for Docker/Kubernetes secrets). */
export function readSecret(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const direct = env[name];
  if (direct !== undefined && direct !== '') return direct;
  const file = env[`${name}_FILE`];
  if (!file) return undefined;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (cause) {
    throw new DeckhandError('CONFIG_INVALID', `${name}_FILE names ${file}, which cannot be read.`, { cause });
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, configFile = DEFAULT_CONFIG_FILE): Config {
  const files = [configFile];
  let raw = readYamlFile(configFile);
  const extra = env.DECKHAND_CONFIG;
  if (extra) {
    raw = deepMerge(raw, readYamlFile(extra));
    files.push(extra);
  }
  for (const [variable, path] of Object.entries(ENV_OVERRIDES)) {
    const value = env[variable];
    if (value !== undefined && value !== '') setPath(raw, path, value);
  }
  const result = settingsSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues
      .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
      .join('; ');
    throw new DeckhandError(
      'CONFIG_INVALID',
      `Invalid configuration in ${files.join(', ')} or the environment: ${problems}`,
    );
  }
  const secrets: Secrets = {};
  for (const name of SECRET_VARIABLES) {
    const value = readSecret(env, name);
    if (value !== undefined) {
      secrets[name] = value;
      if (name !== 'OPENAI_BASE_URL' && name !== 'GITHUB_APP_ID' && name !== 'DISCORD_APPLICATION_ID') {
        registerSecret(value);
      }
    }
  }
  registerSecret(passwordOf(result.data.store.uri));
  registerSecret(passwordOf(result.data.redis.url));
  return { ...result.data, secrets, sources: { configFiles: files } };
}

function passwordOf(uri: string): string | undefined {
  try {
    return uri ? decodeURIComponent(new URL(uri).password) || undefined : undefined;
  } catch {
    return undefined;
  }
}

/** Throws a message naming the variable and how to set it. */
export function requireSecret(config: Config, name: SecretVariable, purpose: string): string {
  const value = config.secrets[name];
  if (!value) {
    throw new DeckhandError(
      'CONFIG_MISSING',
      `${purpose} needs ${name}. Set it in the environment (export ${name}=...) or put it in a file and set ${name}_FILE=/path/to/file.`,
    );
  }
  return value;
}
