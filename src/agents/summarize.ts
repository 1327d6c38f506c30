/**
 * When a thread's memory is over the token budget, the older turns are summarised by the model
 * once and the summary is stored (a system Message naming the last message it covers), so later
 * turns load the summary plus the recent messages instead of the whole thread.
 */
import type { Logger } from '../core/index.js';
import type { Store } from '../store/index.js';
import type { CostMeter } from './cost.js';
import {
  estimateTokens,
  type Memory,
  messageTokens,
  SUMMARY_SYSTEM_PROMPT,
  splitForSummary,
  transcriptOf,
} from './memory.js';
import type { ModelChain } from './providers/chain.js';

export interface SummarizeDeps {
  store: Pick<Store, 'appendMessage'>;
  chain: ModelChain;
  cost: CostMeter;
  turn: { conversationId: string; taskId: string; workspaceKey: string; signal: AbortSignal };
  modelIds: string[];
  budgetTokens: number;
  maxOutputTokens: number;
  logger?: Logger;
}

export async function summarizeIfNeeded(memory: Memory, deps: SummarizeDeps): Promise<Memory> {
  const total =
    estimateTokens(memory.summary ?? '') + memory.messages.reduce((n, m) => n + messageTokens(m.message), 0);
  if (total <= deps.budgetTokens) return memory;
  const cut = splitForSummary(memory.messages, Math.floor(deps.budgetTokens / 2));
  if (cut === 0) return memory;
  const older = memory.messages.slice(0, cut);
  const last = older[older.length - 1];
  if (!last) return memory;

  let text = '';
  let modelId = '';
  let tokensIn = 0;
  let tokensOut = 0;
  for await (const event of deps.chain.stream(
    deps.modelIds,
    {
      system: SUMMARY_SYSTEM_PROMPT,
      messages: [{ role: 'user', text: transcriptOf(memory.summary, older) }],
      tools: [],
      maxTokens: deps.maxOutputTokens,
    },
    deps.turn.signal,
  )) {
    if (event.type === 'model') modelId = event.modelId;
    else if (event.type === 'text') text += event.text;
    else if (event.type === 'usage') {
      tokensIn = event.inputTokens;
      tokensOut = event.outputTokens;
    }
  }
  const costUsd = deps.cost.costOf(modelId, tokensIn, tokensOut);
  await deps.store.appendMessage(deps.turn.conversationId, {
    role: 'system',
    text: text.trim(),
    summaryThrough: last.recordId,
    model: modelId,
    tokensIn,
    tokensOut,
    costUsd,
    taskId: deps.turn.taskId,
    workspaceKey: deps.turn.workspaceKey,
  });
  deps.cost.add(deps.turn.workspaceKey, costUsd, { modelId, tokensIn, tokensOut });
  deps.logger?.info(
    { conversation: deps.turn.conversationId, summarised: older.length, tokensBefore: total },
    'summarised older turns of a thread',
  );
  return { summary: text.trim(), messages: memory.messages.slice(cut) };
}
