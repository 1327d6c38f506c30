/**
 * A tool is defined once: a zod schema for its arguments (turned into JSON Schema for every provider),
 * what kind of thing it touches (for the policy and the audit log), and how it runs. Arguments are
 * validated before anything runs; invalid ones go back to the model as the validation error.
 */
import { z } from 'zod';
import type { NormalizedEvent } from '../../core/index.js';
import type { ToolSpec } from '../types.js';

/** What a tool touches; the policy decides per category. */
export type ToolCategory =
  | 'code' // runs code in the sandbox
  | 'repo-read'
  | 'repo-write'
  | 'schedule-read'
  | 'schedule-write'
  | 'activity'
  | 'mcp'
  // works on a repository checkout inside the sandbox (the GitHub work's coding tools): part of the
  // repository change the requester was allowed, so decided as repo.write on `repo`
  | 'workspace';

export interface ToolContext {
  event: NormalizedEvent;
  taskId: string;
  signal: AbortSignal;
}

export interface ToolOutput {
  output: string;
  isError?: boolean;
}

/** A validated call, ready for the policy and then to run. */
export interface PreparedCall {
  /** What it acts on, for the audit log and the policy (`owner/repo`, a schedule name, a language). */
  target: string;
  /** The repository a repo tool acts on, for the permission check. */
  repo?: string;
  /** What will happen, shown to an approver before the click (the code; the repository, branch and files). */
  summary?: string;
  /** Every repository a digest covers: each must be connected to the workspace. */
  repos?: string[];
  run(ctx: ToolContext): Promise<ToolOutput>;
}

export interface Tool {
  name: string;
  description: string;
  category: ToolCategory;
  /** Changes something outside the conversation: audited. */
  mutates: boolean;
  /** For MCP tools, the server; the policy and profiles refer to it as `mcp:<server>`. */
  server?: string;
  /** A successful call ends the turn (its result is the outcome: a review, a finished change). */
  endsTurn?: boolean;
  inputSchema: Record<string, unknown>;
  prepare(raw: unknown): { ok: true; call: PreparedCall } | { ok: false; error: string };
}

export interface ToolDefinition<S extends z.ZodType> {
  name: string;
  description: string;
  category: ToolCategory;
  mutates: boolean;
  endsTurn?: boolean;
  schema: S;
  target(args: z.infer<S>): { target: string; repo?: string; repos?: string[]; summary?: string };
  run(args: z.infer<S>, ctx: ToolContext): Promise<ToolOutput>;
}

/** Issues as a short list the model can act on: `path: message`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(arguments)'}: ${issue.message}`)
    .join('; ');
}

export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { target: 'draft-7', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  delete json.$schema;
  return json;
}

export function defineTool<S extends z.ZodType>(definition: ToolDefinition<S>): Tool {
  return {
    name: definition.name,
    description: definition.description,
    category: definition.category,
    mutates: definition.mutates,
    ...(definition.endsTurn ? { endsTurn: true } : {}),
    inputSchema: jsonSchemaOf(definition.schema),
    prepare(raw) {
      const parsed = definition.schema.safeParse(raw);
      if (!parsed.success) return { ok: false, error: describeIssues(parsed.error) };
      const args = parsed.data;
      return {
        ok: true,
        call: { ...definition.target(args), run: (ctx) => definition.run(args, ctx) },
      };
    },
  };
}

export function toolSpec(tool: Tool): ToolSpec {
  return { name: tool.name, description: tool.description, inputSchema: tool.inputSchema };
}
