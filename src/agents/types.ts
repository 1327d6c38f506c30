/**
 * The provider-neutral shapes the orchestrator speaks: a conversation, the tools offered, and the
 * events a streaming model call produces. Each provider translates these to and from its wire format.
 */

/** One tool call as the model made it; `arguments` is unvalidated model output. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: unknown;
}

export interface ToolResultMessage {
  callId: string;
  name: string;
  output: string;
  isError: boolean;
}

export type ChatMessage =
  | { role: 'user'; text: string }
  | { role: 'assistant'; text: string; toolCalls: ToolCall[] }
  | { role: 'tool'; results: ToolResultMessage[] };

/** A tool as offered to a model: a name, what it does, and its arguments as JSON Schema. */
export interface ToolSpec {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
}

export interface ModelRequest {
  /** The provider's own model name (without the `provider:` prefix). */
  model: string;
  system: string;
  messages: ChatMessage[];
  tools: ToolSpec[];
  maxTokens: number;
}

export type StopReason = 'end' | 'tool_use' | 'max_tokens' | 'other';

export type ModelEvent =
  | { type: 'text'; text: string }
  /** A complete tool call: emitted once its streamed arguments are whole. */
  | { type: 'tool_call'; call: ToolCall }
  | { type: 'usage'; inputTokens: number; outputTokens: number }
  | { type: 'stop'; reason: StopReason };

export type ProviderName = 'anthropic' | 'openai';

export interface ModelProvider {
  readonly name: ProviderName;
  /** Streams one model call. Throws the SDK's errors; the chain classifies them. */
  stream(request: ModelRequest, signal: AbortSignal): AsyncIterable<ModelEvent>;
}

/** `anthropic:claude-sonnet-4-5` -> provider and model name. */
export function splitModelId(id: string): { provider: ProviderName; model: string } {
  const at = id.indexOf(':');
  const provider = id.slice(0, at);
  if (at < 1 || (provider !== 'anthropic' && provider !== 'openai')) {
    throw new Error(`model id ${id} must be anthropic:<model> or openai:<model>`);
  }
  return { provider, model: id.slice(at + 1) };
}
