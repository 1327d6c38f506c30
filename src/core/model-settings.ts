/**
 * The agent orchestrator's settings, spread into the `models` section of config.ts. Kept in its own
 * file so the shared config schema only gains one line. Model ids are `provider:model`
 * (`anthropic:claude-sonnet-4-5`, `openai:gpt-4.1`; an OPENAI_BASE_URL endpoint is `openai:<its model>`).
 */
import { z } from 'zod';
import { roleSchema } from './policy.js';

const modelId = z.string().regex(/^(anthropic|openai):\S+$/, 'must be provider:model (anthropic or openai)');
const toolName = z.string().regex(/^[A-Za-z0-9_*:-]+$/);

export const priceSchema = z
  .object({
    /** US dollars per million input tokens. */
    inputPerMTok: z.coerce.number().min(0),
    /** US dollars per million output tokens. */
    outputPerMTok: z.coerce.number().min(0),
  })
  .strict();

export const profileSchema = z
  .object({
    systemPrompt: z.string().min(1),
    /** Overrides models.default for this profile. */
    model: modelId.optional(),
    /** Tool names this profile may use; `mcp:<server>` for a whole MCP server, `*` for all. */
    tools: z.array(toolName).default([]),
  })
  .strict();

export const mcpServerSchema = z
  .object({
    /** stdio: the command and its arguments. */
    command: z.string().min(1).optional(),
    args: z.array(z.string()).default([]),
    /** Extra environment for a stdio server (values, not secrets: use the server's own NAME_FILE). */
    env: z.record(z.string(), z.string()).default({}),
    cwd: z.string().optional(),
    /** Streamable HTTP: the server's URL. */
    url: z.url().optional(),
    /** Its tools change things outside the conversation (audited); false for read-only servers. */
    mutates: z.boolean().default(true),
    startTimeoutMs: z.coerce.number().int().min(100).default(10_000),
    callTimeoutMs: z.coerce.number().int().min(100).default(60_000),
    /** Roles whose requests may use this server's tools (the policy decides from the requester). */
    roles: z.array(roleSchema).default(['member', 'admin', 'owner']),
    /** `platform:channelId` channels where its tools are offered; empty: every channel. */
    channels: z.array(z.string().min(1)).default([]),
  })
  .strict()
  .refine((s) => Boolean(s.command) !== Boolean(s.url), 'set exactly one of command (stdio) or url (HTTP)');

export const modelSettingsShape = {
  /** Tried in order after `default` when it fails for good (errors, overload, timeouts). */
  fallback: z.array(modelId).default([]),
  /** Per model call, from request to the end of the stream. */
  timeoutMs: z.coerce.number().int().min(100).default(120_000),
  /** Retries of one model on 429 / 5xx / 529 / timeouts before the next in the chain. */
  maxRetries: z.coerce.number().int().min(0).max(10).default(2),
  retryBaseMs: z.coerce.number().int().min(0).default(500),
  /** Longest retry-after honoured; a longer one moves on to the next model. */
  maxRetryAfterMs: z.coerce.number().int().min(0).default(30_000),
  /** Model calls in one turn (each tool round is one). */
  maxSteps: z.coerce.number().int().min(1).max(100).default(8),
  /** Wall clock for one turn, tools included. */
  turnBudgetMs: z.coerce.number().int().min(1000).default(300_000),
  maxOutputTokens: z.coerce.number().int().min(16).default(4096),
  /** Conversation tokens sent to the model; older turns are summarised beyond this. */
  contextTokens: z.coerce.number().int().min(200).default(24_000),
  /** A tool result longer than this is cut, with a note saying so. */
  toolResultMaxChars: z.coerce.number().int().min(200).default(8000),
  /** Keyed by model id. A model without a price is counted at $0 (and logged once). */
  prices: z.record(z.string(), priceSchema).default({}),
  profiles: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/), profileSchema).default({}),
  defaultProfile: z.string().default('engineer'),
  /** Channel (`platform:channelId`) -> profile used when a message does not say `ask <profile>`. */
  channelProfiles: z.record(z.string(), z.string()).default({}),
  /** Who may run code through the agent: `platform:channelId` channels and `platform:userId` users. */
  codeRun: z
    .object({
      channels: z.array(z.string()).default([]),
      users: z.array(z.string()).default([]),
    })
    .strict()
    .prefault({}),
  mcpServers: z.record(z.string().regex(/^[A-Za-z0-9_-]{1,24}$/), mcpServerSchema).default({}),
};

export type ModelPrice = z.infer<typeof priceSchema>;
export type AgentProfileSettings = z.infer<typeof profileSchema>;
export type McpServerSettings = z.infer<typeof mcpServerSchema>;
