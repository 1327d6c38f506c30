/**
 * OpenAI Chat Completions through the openai SDK, streaming; any compatible endpoint (Ollama, vLLM,
 * llama.cpp) through baseURL. SDK retries are off: the chain (chain.ts) retries and falls back.
 */
import OpenAI from 'openai';
import type { ChatMessage, ModelEvent, ModelProvider, ModelRequest, StopReason } from '../types.js';
import { parseToolArguments } from './tool-arguments.js';

type MessageParam = OpenAI.Chat.Completions.ChatCompletionMessageParam;
type Tool = OpenAI.Chat.Completions.ChatCompletionFunctionTool;

export interface OpenAIProviderOptions {
  /** A compatible endpoint without keys takes any non-empty value. */
  apiKey?: string;
  baseURL?: string;
  fetch?: typeof fetch;
}

function toOpenAIMessages(system: string, messages: ChatMessage[]): MessageParam[] {
  const out: MessageParam[] = [{ role: 'system', content: system }];
  for (const message of messages) {
    if (message.role === 'user') {
      out.push({ role: 'user', content: message.text });
    } else if (message.role === 'assistant') {
      if (!message.text && message.toolCalls.length === 0) continue;
      out.push({
        role: 'assistant',
        content: message.text || null,
        ...(message.toolCalls.length > 0
          ? {
              tool_calls: message.toolCalls.map((call) => ({
                id: call.id,
                type: 'function' as const,
                function: { name: call.name, arguments: JSON.stringify(call.arguments ?? {}) },
              })),
            }
          : {}),
      });
    } else {
      for (const result of message.results) {
        out.push({ role: 'tool', tool_call_id: result.callId, content: result.output });
      }
    }
  }
  return out;
}

const STOP_REASONS: Record<string, StopReason> = {
  stop: 'end',
  tool_calls: 'tool_use',
  function_call: 'tool_use',
  length: 'max_tokens',
};

export function createOpenAIProvider(options: OpenAIProviderOptions): ModelProvider {
  const client = new OpenAI({
    apiKey: options.apiKey || 'not-needed',
    ...(options.baseURL ? { baseURL: options.baseURL } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    maxRetries: 0,
  });

  return {
    name: 'openai',
    async *stream(request: ModelRequest, signal: AbortSignal): AsyncIterable<ModelEvent> {
      const stream = await client.chat.completions.create(
        {
          model: request.model,
          // Compatible servers (Ollama, vLLM, llama.cpp) know max_tokens; OpenAI's newer models only max_completion_tokens.
          ...(options.baseURL
            ? { max_tokens: request.maxTokens }
            : { max_completion_tokens: request.maxTokens }),
          messages: toOpenAIMessages(request.system, request.messages),
          stream: true,
          stream_options: { include_usage: true },
          ...(request.tools.length > 0
            ? {
                tools: request.tools.map(
                  (t): Tool => ({
                    type: 'function',
                    function: { name: t.name, description: t.description, parameters: t.inputSchema },
                  }),
                ),
              }
            : {}),
        },
        { signal },
      );
      // Tool calls stream by index: id and name first, then argument fragments.
      const pending = new Map<number, { id: string; name: string; json: string }>();
      let inputTokens = 0;
      let outputTokens = 0;
      let stop: StopReason = 'other';
      for await (const chunk of stream) {
        if (chunk.usage) {
          inputTokens = chunk.usage.prompt_tokens ?? inputTokens;
          outputTokens = chunk.usage.completion_tokens ?? outputTokens;
        }
        const choice = chunk.choices[0];
        if (!choice) continue;
        const delta = choice.delta;
        if (delta?.content) yield { type: 'text', text: delta.content };
        for (const part of delta?.tool_calls ?? []) {
          let call = pending.get(part.index);
          if (!call) {
            call = { id: part.id ?? `call_${part.index}`, name: '', json: '' };
            pending.set(part.index, call);
          }
          if (part.id) call.id = part.id;
          if (part.function?.name) call.name += part.function.name;
          if (part.function?.arguments) call.json += part.function.arguments;
        }
        if (choice.finish_reason) stop = STOP_REASONS[choice.finish_reason] ?? 'other';
      }
      for (const call of [...pending.entries()].sort((a, b) => a[0] - b[0]).map(([, c]) => c)) {
        yield {
          type: 'tool_call',
          call: { id: call.id, name: call.name, arguments: parseToolArguments(call.json) },
        };
      }
      if (pending.size > 0 && stop === 'other') stop = 'tool_use';
      yield { type: 'usage', inputTokens, outputTokens };
      yield { type: 'stop', reason: stop };
    },
  };
}
