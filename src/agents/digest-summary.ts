/**
 * The model side of scheduled digests: the `digest-writer` profile turns a digest's facts (GitHub
 * activity over its window) into a few sentences for the top of the post. The call is metered and
 * recorded like any other (a Message in the channel's digest conversation, with tokens and cost), and
 * a workspace over its monthly budget gets no call: the scheduler then posts the plain template.
 */
import { DeckhandError } from '../core/index.js';
import type { Store } from '../store/index.js';
import type { CostMeter } from './cost.js';
import type { AgentProfile } from './profiles.js';
import type { ModelChain } from './providers/chain.js';

export interface DigestSummaryRequest {
  /** The digest's name, for its conversation. */
  name: string;
  platform: 'slack' | 'discord' | 'github' | 'terminal';
  workspaceId: string;
  channelId: string;
  /** The facts as the model should read them (JSON or text). */
  facts: string;
}

export interface DigestSummaryDeps {
  store: Pick<Store, 'upsertConversation' | 'appendMessage'>;
  chain: ModelChain;
  cost: CostMeter;
  profile: AgentProfile;
  fallback: string[];
  maxOutputTokens: number;
  timeoutMs?: number;
}

/** Appended to the digest-writer profile's prompt: this call writes the opening, nothing else. */
export const DIGEST_SUMMARY_TASK =
  'Now write only the opening of a digest from the JSON facts you are given: three to five short sentences on what shipped, what is waiting and for how long, and what is failing. No preamble, no invented facts.';

const DEFAULT_PROMPT =
  "You write the opening of a team's engineering digest from GitHub activity. Three to five short sentences: what shipped, what is waiting and for how long, what is failing. No preamble, no lists, no invented facts.";

export function createDigestSummariser(deps: DigestSummaryDeps) {
  return async (request: DigestSummaryRequest): Promise<string> => {
    const workspaceKey = `${request.platform}:${request.workspaceId}`;
    const refusal = await deps.cost.overBudget(workspaceKey);
    if (refusal) throw new DeckhandError('BUDGET_EXCEEDED', refusal);
    const signal = AbortSignal.timeout(deps.timeoutMs ?? 60_000);
    let text = '';
    let modelId = '';
    let tokensIn = 0;
    let tokensOut = 0;
    for await (const event of deps.chain.stream(
      [deps.profile.model, ...deps.fallback],
      {
        system: deps.profile.systemPrompt || DEFAULT_PROMPT,
        messages: [{ role: 'user', text: request.facts }],
        tools: [],
        maxTokens: deps.maxOutputTokens,
      },
      signal,
    )) {
      if (event.type === 'model') modelId = event.modelId;
      else if (event.type === 'text') text += event.text;
      else if (event.type === 'usage') {
        tokensIn = event.inputTokens;
        tokensOut = event.outputTokens;
      }
    }
    const costUsd = deps.cost.costOf(modelId, tokensIn, tokensOut);
    const conversation = await deps.store.upsertConversation({
      platform: request.platform,
      workspaceId: request.workspaceId,
      channelId: request.channelId,
      threadId: `digest:${request.name}`,
    });
    await deps.store.appendMessage(conversation.id, {
      role: 'assistant',
      text: text.trim(),
      model: modelId,
      tokensIn,
      tokensOut,
      costUsd,
      workspaceKey,
    });
    deps.cost.add(workspaceKey, costUsd, { modelId, tokensIn, tokensOut });
    return text.trim();
  };
}

export type DigestSummariser = ReturnType<typeof createDigestSummariser>;
