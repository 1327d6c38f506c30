/**
 * Tools from MCP servers named in config (stdio or streamable HTTP). Each server starts on its own;
 * one that fails to start is reported (deckhand doctor, logs) and the other tools keep working.
 * A stdio server gets only the safe default environment plus its configured `env`: our secrets stay here.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { z } from 'zod';
import type { Logger, McpServerSettings } from '../../core/index.js';
import { describeIssues, type Tool } from './tool.js';

export interface McpServerStatus {
  server: string;
  state: 'ok' | 'broken';
  tools: string[];
  detail: string;
}

export interface McpToolSet {
  tools: Tool[];
  status: McpServerStatus[];
  close(): Promise<void>;
}

/** Provider tool names allow [A-Za-z0-9_-]{1,64}. */
function toolNameFor(server: string, tool: string): string {
  return `mcp_${server}_${tool.replace(/[^A-Za-z0-9_-]/g, '_')}`.slice(0, 64);
}

/**
 * Runs one SDK request with a deadline: the SDK cancels the request (and tells the server) when the
 * signal fires. `timeout` only keeps the SDK's own 60 s default from firing first.
 */
async function withDeadline<T>(
  ms: number,
  what: string,
  request: (options: { signal: AbortSignal; timeout: number }) => Promise<T>,
): Promise<T> {
  const signal = AbortSignal.timeout(ms);
  try {
    return await request({ signal, timeout: ms + 1000 });
  } catch (error) {
    if (signal.aborted) throw new Error(`${what} did not answer within ${ms} ms`, { cause: error });
    throw error;
  }
}

function validatorFor(inputSchema: unknown): z.ZodType {
  try {
    return z.fromJSONSchema(inputSchema as Parameters<typeof z.fromJSONSchema>[0]);
  } catch {
    // A schema zod cannot read: the server validates its own arguments.
    return z.record(z.string(), z.unknown());
  }
}

function textOf(result: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const item of Array.isArray(result.content) ? result.content : []) {
    const block = item as { type?: string; text?: string; resource?: { text?: string; uri?: string } };
    if (block.type === 'text' && typeof block.text === 'string') parts.push(block.text);
    else if (block.type === 'resource' && block.resource?.text) parts.push(block.resource.text);
    else parts.push(`[${block.type ?? 'unknown'} content omitted]`);
  }
  if (parts.length === 0 && result.structuredContent !== undefined) {
    parts.push(JSON.stringify(result.structuredContent));
  }
  return parts.join('\n');
}

async function connect(name: string, settings: McpServerSettings): Promise<Client> {
  const client = new Client({ name: 'deckhand', version: '0.1.0' });
  const transport = settings.command
    ? new StdioClientTransport({
        command: settings.command,
        args: settings.args,
        env: settings.env,
        ...(settings.cwd ? { cwd: settings.cwd } : {}),
        stderr: 'pipe',
      })
    : new StreamableHTTPClientTransport(new URL(settings.url ?? ''));
  try {
    await withDeadline(settings.startTimeoutMs, `MCP server ${name}`, (options) =>
      client.connect(transport, options),
    );
    return client;
  } catch (error) {
    await client.close().catch(() => undefined);
    throw error;
  }
}

async function openServer(
  name: string,
  settings: McpServerSettings,
): Promise<{ client: Client; tools: Tool[] }> {
  const client = await connect(name, settings);
  try {
    const listed = await withDeadline(settings.startTimeoutMs, `MCP server ${name}`, (options) =>
      client.listTools(undefined, options),
    );
    const tools = listed.tools.map((spec): Tool => {
      const validator = validatorFor(spec.inputSchema);
      const inputSchema = { ...(spec.inputSchema as Record<string, unknown>), type: 'object' };
      return {
        name: toolNameFor(name, spec.name),
        description: `${spec.description ?? spec.name} (MCP server ${name})`,
        category: 'mcp',
        mutates: settings.mutates,
        server: name,
        inputSchema,
        prepare(raw) {
          const parsed = validator.safeParse(raw ?? {});
          if (!parsed.success) return { ok: false, error: describeIssues(parsed.error) };
          const args = parsed.data as Record<string, unknown>;
          return {
            ok: true,
            call: {
              target: `mcp:${name}/${spec.name}`,
              async run(ctx) {
                const result = await client.callTool({ name: spec.name, arguments: args }, undefined, {
                  signal: ctx.signal,
                  timeout: settings.callTimeoutMs,
                });
                return { output: textOf(result), isError: result.isError === true };
              },
            },
          };
        },
      };
    });
    return { client, tools };
  } catch (error) {
    await client.close().catch(() => undefined);
    throw error;
  }
}

/** Starts every configured server in parallel; failures become `broken` statuses, not errors. */
export async function openMcpTools(
  servers: Record<string, McpServerSettings>,
  logger?: Logger,
): Promise<McpToolSet> {
  const clients: Client[] = [];
  const tools: Tool[] = [];
  const status = await Promise.all(
    Object.entries(servers).map(async ([name, settings]): Promise<McpServerStatus> => {
      try {
        const opened = await openServer(name, settings);
        clients.push(opened.client);
        tools.push(...opened.tools);
        const names = opened.tools.map((t) => t.name);
        return { server: name, state: 'ok', tools: names, detail: `${names.length} tool(s)` };
      } catch (error) {
        const detail = (error as Error).message || String(error);
        logger?.warn({ mcpServer: name, err: error }, 'MCP server failed to start; its tools are off');
        return { server: name, state: 'broken', tools: [], detail };
      }
    }),
  );
  return {
    tools,
    status,
    async close() {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    },
  };
}
