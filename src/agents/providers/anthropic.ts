/**
 * Anthropic Messages API through @anthropic-ai/sdk, streaming. The SDK's own retries are off
 * (maxRetries 0): the chain (chain.ts) retries, honours retry-after and falls back across providers.
 */
import Anthropic from '@anthropic-ai/sdk';
import type { ChatMessage, ModelEvent, ModelProvider, ModelRequest, StopReason } from '../types.js';
import { parseToolArguments } from './tool-arguments.js';

type MessageParam = Anthropic.MessageParam;
type Tool = Anthropic.Tool;
type MessageCreateParamsStreaming = Anthropic.MessageCreateParamsStreaming;

export interface AnthropicProviderOptions {
  apiKey: string;
  baseURL?: string;
  fetch?: typeof fetch;
}

function toAnthropicMessages(messages: ChatMessage[]): MessageParam[] {
  const out: MessageParam[] = [];
  for (const message of messages) {
    if (message.role === 'user') {
      out.push({ role: 'user', content: message.text });
    } else if (message.role === 'assistant') {
      const content: Anthropic.ContentBlockParam[] = [];
      if (message.text) content.push({ type: 'text', text: message.text });
      for (const call of message.toolCalls) {
        const input = isObject(call.arguments) ? call.arguments : {};
        content.push({ type: 'tool_use', id: call.id, name: call.name, input });
      }
      if (content.length > 0) out.push({ role: 'assistant', content });
    } else {
      out.push({
        role: 'user',
        content: message.results.map((r) => ({
          type: 'tool_result' as const,
          tool_use_id: r.callId,
          content: r.output,
          is_error: r.isError,
        })),
      });
    }
  }
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const STOP_REASONS: Record<string, StopReason> = {
  end_turn: 'end',
  stop_sequence: 'end',
  tool_use: 'tool_use',
  max_tokens: 'max_tokens',
};

export function createAnthropicProvider(options: AnthropicProviderOptions): ModelProvider {
  const client = new Anthropic({
    apiKey: options.apiKey,
    ...(options.baseURL ? { baseURL: options.baseURL } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    maxRetries: 0,
  });

  return {
    name: 'anthropic',
    async *stream(request: ModelRequest, signal: AbortSignal): AsyncIterable<ModelEvent> {
      const params: MessageCreateParamsStreaming = {
        model: request.model,
        max_tokens: request.maxTokens,
        system: request.system,
        messages: toAnthropicMessages(request.messages),
        stream: true,
        ...(request.tools.length > 0
          ? {
              tools: request.tools.map(
                (t): Tool => ({
                  name: t.name,
                  description: t.description,
                  input_schema: { ...t.inputSchema, type: 'object' },
                }),
              ),
            }
          : {}),
      };
      const stream = await client.messages.create(params, { signal });
      // Tool calls arrive as a start block and JSON fragments; emitted whole at the block's end.
      const pending = new Map<number, { id: string; name: string; json: string }>();
      let inputTokens = 0;
      let outputTokens = 0;
      let stop: StopReason = 'other';
      for await (const event of stream) {
        switch (event.type) {
          case 'message_start':
            inputTokens = event.message.usage.input_tokens ?? 0;
            outputTokens = event.message.usage.output_tokens ?? 0;
            break;
          case 'content_block_start':
            if (event.content_block.type === 'tool_use') {
              pending.set(event.index, {
                id: event.content_block.id,
                name: event.content_block.name,
                json: '',
              });
            }
            break;
          case 'content_block_delta':
            if (event.delta.type === 'text_delta') {
              if (event.delta.text) yield { type: 'text', text: event.delta.text };
            } else if (event.delta.type === 'input_json_delta') {
              const call = pending.get(event.index);
              if (call) call.json += event.delta.partial_json;
            }
            break;
          case 'content_block_stop': {
            const call = pending.get(event.index);
            if (call) {
              pending.delete(event.index);
              yield {
                type: 'tool_call',
                call: { id: call.id, name: call.name, arguments: parseToolArguments(call.json) },
              };
            }
            break;
          }
          case 'message_delta':
            if (event.usage.output_tokens != null) outputTokens = event.usage.output_tokens;
            if (event.usage.input_tokens != null)
              inputTokens = Math.max(inputTokens, event.usage.input_tokens);
            stop = STOP_REASONS[event.delta.stop_reason ?? ''] ?? 'other';
            break;
          default:
            break;
        }
      }
      yield { type: 'usage', inputTokens, outputTokens };
      yield { type: 'stop', reason: stop };
    },
  };
}
