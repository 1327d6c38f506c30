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
import { accessSettingsSchema } from './access-settings.js';
import { egressSettingsSchema } from './egress-settings.js';
import { DeckhandError } from './errors.js';
import { journalSettingsSchema } from './journal-settings.js';
import { modelSettingsShape } from './model-settings.js';
import { registerSecret } from './redact.js';
import { redeliverySettingsSchema } from './redelivery-settings.js';

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
    /** The local ingest journal of serving processes (journal-settings.ts). */
    journal: journalSettingsSchema,
    tasks: z
      .object({
        leaseMs: z.coerce.number().int().min(1000).default(60_000),
        maxAttempts: z.coerce.number().int().min(1).max(20).default(3),
        retryBaseMs: z.coerce.number().int().min(0).default(2000),
        deliveryRetentionHours: z.coerce.number().min(1).default(72),
        concurrency: z.coerce.number().int().min(1).max(64).default(4),
        userPerMinute: z.coerce.number().int().min(1).default(20),
        workspacePerMinute: z.coerce.number().int().min(1).default(200),
        /**
         * After SIGTERM/SIGINT, how long running tasks get to finish before they are released to the
         * queue (another process runs them). Below Kubernetes' 30 s terminationGracePeriodSeconds.
         */
        shutdownGraceMs: z.coerce.number().int().min(0).max(600_000).default(10_000),
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
        /**
         * Size of the work folder (a tmpfs) of a GitHub change's sandbox, which holds the checkout;
         * that sandbox's memory limit is memoryMb plus this, since tmpfs pages count as memory.
         */
        workspaceMb: z.coerce.number().int().min(16).max(65_536).default(512),
        /** Dependency installs before a GitHub change's tests, through the egress proxy (egress-settings.ts). */
        egress: egressSettingsSchema,
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
    /** Scheduled team digests and the periodic jobs (src/scheduler, on Agenda). */
    digests: z
      .object({
        /** How often a process looks for due digests (it also wakes exactly at the next due time). */
        sweepSeconds: z.coerce.number().int().min(1).max(300).default(5),
        /** Digests one process composes and posts at once (mostly waiting on GitHub, Slack and the store). */
        concurrency: z.coerce.number().int().min(1).max(64).default(16),
        /** A run whose process stops renewing this long is taken over by another process. */
        leaseMs: z.coerce.number().int().min(1000).default(60_000),
        /** Attempts at posting one digest before the failure is reported in its channel. */
        maxAttempts: z.coerce.number().int().min(1).max(10).default(3),
        /** Wait before the second attempt; doubled for each further one. */
        retryBaseMs: z.coerce.number().int().min(0).default(30_000),
        /** Finished digest runs are kept this long (the run log). */
        runRetentionDays: z.coerce.number().min(1).default(30),
        purgeMinutes: z.coerce.number().int().min(1).default(60),
        leaseSweepSeconds: z.coerce.number().int().min(1).default(30),
        reapMinutes: z.coerce.number().int().min(1).default(5),
        /** Least time between two due times of one digest; a more frequent cadence is refused. */
        minIntervalMinutes: z.coerce.number().int().min(1).max(10_080).default(60),
        /** Digests defined here (kept in sync at start; chat can pause them). */
        schedules: z
          .array(
            z
              .object({
                name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$/),
                platform: z.enum(['slack', 'discord']),
                workspaceId: z.string().min(1),
                channelId: z.string().min(1),
                /** `daily 09:00`, `weekdays 09:00`, `weekly mon 09:00`, or a cron expression. */
                when: z.string().min(1),
                timezone: z.string().min(1).default('UTC'),
                repos: z.array(z.string().regex(/^[\w.-]+\/[\w.-]+$/)).default([]),
                skipWeekends: z.boolean().default(false),
              })
              .strict(),
          )
          .default([]),
      })
      .strict()
      .prefault({}),
    /** Who may do what (src/core/policy.ts): roles, repository connections, approvals. */
    access: accessSettingsSchema,
    /** Slack adapter: who may talk to Deckhand, and how replies are shaped. */
    slack: z
      .object({
        /** Answer messages other bots post (the bot's own messages are always ignored). */
        allowBots: z.boolean().default(false),
        /** Channel ids (C…, D…, G…) Deckhand answers in; empty: every channel it is in. */
        allowedChannels: z.array(z.string().min(1)).default([]),
        /** User ids (U…, W…) Deckhand answers; empty: everyone in the workspace. */
        allowedUsers: z.array(z.string().min(1)).default([]),
        /** Connect over Socket Mode when SLACK_APP_TOKEN is set (no public URL needed). */
        socketMode: z.boolean().default(true),
        /** Output longer than this many characters is uploaded as a file snippet instead of split. */
        fileOverChars: z.coerce.number().int().min(4000).default(12_000),
        /** Least time between two edits of one message (Slack allows about one per second). */
        editIntervalMs: z.coerce.number().int().min(0).default(1000),
      })
      .strict()
      .prefault({}),
    /** Discord adapter: gateway, intents and who may talk to Deckhand. */
    discord: z
      .object({
        allowBots: z.boolean().default(false),
        /** Channel (or thread) ids Deckhand answers in; empty: every channel it can see. */
        allowedChannels: z.array(z.string().min(1)).default([]),
        allowedUsers: z.array(z.string().min(1)).default([]),
        /** Connect to the gateway (mentions, DMs, threads, interactions) when DISCORD_BOT_TOKEN is set. */
        gateway: z.boolean().default(true),
        /** Ask for the privileged Message Content intent (enable it in the Developer Portal too). */
        messageContent: z.boolean().default(true),
        /** The slash command `deckhand discord register-commands` registers. */
        commandName: z
          .string()
          .regex(/^[a-z0-9_-]{1,32}$/)
          .default('deckhand'),
        editIntervalMs: z.coerce.number().int().min(0).default(1000),
      })
      .strict()
      .prefault({}),
    /** GitHub: the bot mentioned in issues and PRs, and how its pull requests are made (src/github). */
    github: z
      .object({
        /** The login people mention (`@deckhand`); an App's `[bot]` suffix is optional. */
        botName: z
          .string()
          .regex(/^@?[A-Za-z0-9][A-Za-z0-9-]*(\[bot\])?$/)
          .default('deckhand'),
        /** An issue labelled with this (or assigned to the bot) is a request, no mention needed. */
        triggerLabel: z.string().min(1).default('deckhand'),
        /** Open pull requests as drafts. */
        draftPullRequests: z.boolean().default(false),
        /** REST API base for GitHub Enterprise (https://ghe.example.com/api/v3); empty: api.github.com. */
        apiUrl: z.string().default(''),
        /** Where repositories are cloned from: `<cloneBaseUrl>/<owner>/<repo>.git` (file:// works too). */
        cloneBaseUrl: z.string().min(1).default('https://github.com'),
        /** Host folder for clones; must be visible to the Docker engine. Empty: the OS temp folder. */
        workspaceDir: z.string().default(''),
        /** Commit author; empty: `<botName>[bot]` and its users.noreply.github.com address. */
        commitName: z.string().default(''),
        commitEmail: z.string().default(''),
        /** Asking GitHub again for webhooks our server failed (redelivery-settings.ts). */
        redelivery: redeliverySettingsSchema,
      })
      .strict()
      .prefault({}),
    models: z
      .object({
        default: z.string().min(1).default('anthropic:claude-sonnet-4-5'),
        monthlyBudgetUsd: z.coerce.number().min(0).default(50),
        /** Per-workspace monthly budgets in USD, keyed `<platform>:<workspaceId>` (`slack:T1`); each wins over the default. */
        budgets: z
          .record(
            z.string().regex(/^[a-z]+:\S+$/, 'expected a `<platform>:<workspaceId>` key such as slack:T1'),
            z.coerce.number().min(0),
          )
          .default({}),
        /** The agent orchestrator's settings: chain, limits, prices, profiles, MCP (see model-settings.ts). */
        ...modelSettingsShape,
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
  'SLACK_CLIENT_ID',
  'SLACK_CLIENT_SECRET',
  'SLACK_STATE_SECRET',
  'DISCORD_PUBLIC_KEY',
  'DISCORD_BOT_TOKEN',
  'DISCORD_APPLICATION_ID',
  'GITHUB_APP_ID',
  'GITHUB_PRIVATE_KEY',
  'GITHUB_WEBHOOK_SECRET',
  /** The GitHub App's client id, for `link github` (GitHub's device flow; enable it in the App settings). */
  'GITHUB_CLIENT_ID',
  /** A personal access token: the simple alternative to the GitHub App. */
  'GITHUB_TOKEN',
  'ANTHROPIC_API_KEY',
  'OPENAI_API_KEY',
  'OPENAI_BASE_URL',
  'DECKHAND_ADMIN_TOKEN',
  /** When set, GET /metrics answers only `Authorization: Bearer <token>` (Prometheus' bearer_token). */
  'DECKHAND_METRICS_TOKEN',
  /** Encrypts the credentials kept in the store (Slack bot tokens from OAuth installs). */
  'DECKHAND_SECRET_KEY',
  /** Keys that still read what they encrypted, never write (comma-separated): key rotation. */
  'DECKHAND_SECRET_KEY_PREVIOUS',
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
  DECKHAND_SHUTDOWN_GRACE_MS: 'tasks.shutdownGraceMs',
  DECKHAND_SANDBOX_IMAGE: 'sandbox.image',
  DECKHAND_SANDBOX_WARM_POOL: 'sandbox.warmPool',
  DECKHAND_DEFAULT_MODEL: 'models.default',
  DECKHAND_GITHUB_BOT_NAME: 'github.botName',
  GITHUB_API_URL: 'github.apiUrl',
  DECKHAND_GITHUB_REDELIVERY_INTERVAL_MINUTES: 'github.redelivery.intervalMinutes',
  DECKHAND_GITHUB_REDELIVERY_COOLDOWN_MINUTES: 'github.redelivery.cooldownMinutes',
  DECKHAND_JOURNAL_DIR: 'journal.dir',
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
      if (!PUBLIC_IDS.has(name)) {
        registerSecret(value);
      }
    }
  }
  registerSecret(passwordOf(result.data.store.uri));
  registerSecret(passwordOf(result.data.redis.url));
  return { ...result.data, secrets, sources: { configFiles: files } };
}

/** Identifiers read like secrets but shown freely (not redacted from logs). */
const PUBLIC_IDS = new Set<string>([
  'OPENAI_BASE_URL',
  'GITHUB_APP_ID',
  'DISCORD_APPLICATION_ID',
  'GITHUB_CLIENT_ID',
]);

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
