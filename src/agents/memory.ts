/**
 * The agent's memory of a thread: the stored messages turned back into a conversation, with older
 * turns replaced by a stored summary once the token budget is reached, and long tool output cut.
 */
import type { MessageRecord } from '../store/index.js';
import type { ChatMessage, ToolCall, ToolResultMessage } from './types.js';

/** Roughly four characters per token for English and code; good enough for a budget. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

export function messageTokens(message: ChatMessage): number {
  if (message.role === 'user') return estimateTokens(message.text) + 4;
  if (message.role === 'assistant') {
    return (
      estimateTokens(message.text) +
      message.toolCalls.reduce((n, c) => n + estimateTokens(JSON.stringify(c.arguments ?? {}) + c.name), 0) +
      4
    );
  }
  return message.results.reduce((n, r) => n + estimateTokens(r.output) + 8, 0);
}

export function truncateOutput(output: string, maxChars: number): string {
  if (output.length <= maxChars) return output;
  const head = output.slice(0, maxChars);
  return `${head}\n[truncated: showing ${maxChars} of ${output.length} characters]`;
}

export interface RememberedMessage {
  /** The stored message this came from: a summary records the last one it replaces. */
  recordId: string;
  message: ChatMessage;
}

export interface Memory {
  summary?: string;
  messages: RememberedMessage[];
}

/**
 * Stored records -> conversation. The router stores each turn's reply again after the orchestrator's
 * own records; that copy (no model, right after a model record) is skipped so the model sees it once.
 */
export function memoryFromRecords(records: MessageRecord[], cleanUserText: (text: string) => string): Memory {
  let start = 0;
  let summary: string | undefined;
  for (let i = records.length - 1; i >= 0; i--) {
    const record = records[i];
    if (record?.role === 'system' && record.summaryThrough) {
      const through = records.findIndex((r) => r.id === record.summaryThrough);
      summary = record.text;
      // The summary is stored during a later turn: messages after the one it covers stay, wherever it sits.
      start = through >= 0 ? through + 1 : i + 1;
      break;
    }
  }
  const out: RememberedMessage[] = [];
  let previous: MessageRecord | undefined;
  for (const record of records.slice(start)) {
    if (record.role === 'system') continue;
    const prior = previous;
    previous = record;
    if (record.role === 'user') {
      out.push({ recordId: record.id, message: { role: 'user', text: cleanUserText(record.text) } });
    } else if (record.role === 'assistant') {
      const fromModel = Boolean(record.model) || record.toolCalls.length > 0;
      const afterModel =
        prior !== undefined &&
        ((prior.role === 'assistant' && Boolean(prior.model)) || prior.role === 'tool');
      if (!fromModel && afterModel) continue;
      const toolCalls: ToolCall[] = record.toolCalls.map((c) => ({
        id: c.id,
        name: c.name,
        arguments: c.arguments,
      }));
      out.push({ recordId: record.id, message: { role: 'assistant', text: record.text, toolCalls } });
    } else if (record.role === 'tool') {
      const results: ToolResultMessage[] = record.toolResults.map((r) => ({
        callId: r.callId,
        name: '',
        output: r.output,
        isError: r.isError,
      }));
      out.push({ recordId: record.id, message: { role: 'tool', results } });
    }
  }
  return { ...(summary !== undefined ? { summary } : {}), messages: wellFormed(out) };
}

/**
 * Providers refuse a tool call without its result and a result without its call; a crash between the
 * two would otherwise break every later turn of the thread. Also starts at a user message.
 */
export function wellFormed(messages: RememberedMessage[]): RememberedMessage[] {
  const out: RememberedMessage[] = [];
  for (let i = 0; i < messages.length; i++) {
    const entry = messages[i];
    if (!entry) continue;
    const { message } = entry;
    if (out.length === 0 && message.role !== 'user') continue;
    if (message.role === 'assistant' && message.toolCalls.length > 0) {
      const next = messages[i + 1]?.message;
      const ids = new Set(message.toolCalls.map((c) => c.id));
      const answered =
        next?.role === 'tool' &&
        next.results.length === ids.size &&
        next.results.every((r) => ids.has(r.callId));
      if (!answered) {
        if (message.text)
          out.push({ ...entry, message: { role: 'assistant', text: message.text, toolCalls: [] } });
        continue;
      }
      const names = new Map(message.toolCalls.map((c) => [c.id, c.name]));
      out.push(entry);
      const result = messages[i + 1];
      if (result && next?.role === 'tool') {
        out.push({
          ...result,
          message: {
            role: 'tool',
            results: next.results.map((r) => ({ ...r, name: names.get(r.callId) ?? '' })),
          },
        });
      }
      i++;
      continue;
    }
    if (message.role === 'tool') continue; // an orphan result
    out.push(entry);
  }
  return out;
}

/**
 * Where to cut for a summary: the earliest user message from which the rest fits in `keepTokens`
 * (at least the last user message is kept). 0 means nothing can be summarised.
 */
export function splitForSummary(messages: RememberedMessage[], keepTokens: number): number {
  let tail = 0;
  let cut = 0;
  for (let i = messages.length - 1; i >= 0; i--) {
    const entry = messages[i];
    if (!entry) continue;
    tail += messageTokens(entry.message);
    if (entry.message.role === 'user') {
      if (tail <= keepTokens || cut === 0) cut = i;
      else break;
    }
  }
  return cut;
}

/** The part to summarise as a plain transcript (tool output shortened: the summary needs the gist). */
export function transcriptOf(previousSummary: string | undefined, messages: RememberedMessage[]): string {
  const lines: string[] = [];
  if (previousSummary) lines.push(`Earlier summary:\n${previousSummary}\n`);
  for (const { message } of messages) {
    if (message.role === 'user') lines.push(`User: ${message.text}`);
    else if (message.role === 'assistant') {
      if (message.text) lines.push(`Assistant: ${message.text}`);
      for (const call of message.toolCalls)
        lines.push(`Assistant called ${call.name}(${JSON.stringify(call.arguments)})`);
    } else {
      for (const r of message.results)
        lines.push(`Tool ${r.name || 'result'}: ${truncateOutput(r.output, 2000)}`);
    }
  }
  return lines.join('\n');
}

export const SUMMARY_SYSTEM_PROMPT =
  'You summarise a chat between a team and their assistant so the assistant can continue it. Keep every fact, name, number, decision, open question and file or repository mentioned. Write short plain sentences; no preamble.';
