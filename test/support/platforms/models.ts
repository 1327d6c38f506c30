/**
 * The model providers on loopback (Anthropic Messages, OpenAI Chat Completions) for the fault suite:
 * each call answers a short final text, unless an armed outage makes it fail with a 500 for a while.
 * Not a chat platform, but served from the same loopback server as the Slack stand-in there.
 */

export interface ModelStandIn {
  calls: { ok: number; failed: number };
  /**
   * The model API fails (500) for `ms` from the first model call after this, so the outage hits
   * calls whenever the workers get to them, not only if they are quick.
   */
  armOutage(ms: number): void;
  /** False only while an outage that has started is still failing calls. */
  outageOver(): boolean;
  /** Whether `path` is a model call (a Messages or Chat Completions endpoint). */
  handles(path: string): boolean;
  answer(path: string, body: Record<string, unknown>): { status: number; body: unknown };
}

function messagesReply(id: number, model: string): unknown {
  return {
    id: `msg_${id}`,
    type: 'message',
    role: 'assistant',
    model,
    content: [{ type: 'text', text: 'The model is back.' }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: 10, output_tokens: 5 },
  };
}

function completionReply(id: number, model: string): unknown {
  return {
    id: `chatcmpl-${id}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      { index: 0, message: { role: 'assistant', content: 'The model is back.' }, finish_reason: 'stop' },
    ],
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
  };
}

export function createModelStandIn(): ModelStandIn {
  const calls = { ok: 0, failed: 0 };
  let armedMs = 0;
  let failingUntil = 0;
  let nextId = 1_700_000_000;
  return {
    calls,
    armOutage(ms) {
      armedMs = ms;
    },
    outageOver: () => Date.now() >= failingUntil,
    handles: (path) => path.includes('/messages') || path.includes('/chat/completions'),
    answer(path, body) {
      if (armedMs > 0) {
        failingUntil = Date.now() + armedMs;
        armedMs = 0;
      }
      if (Date.now() < failingUntil) {
        calls.failed++;
        const error = { type: 'api_error', message: 'fault suite: model API is down' };
        return { status: 500, body: { type: 'error', error } };
      }
      calls.ok++;
      return path.includes('/messages')
        ? { status: 200, body: messagesReply(nextId++, String(body.model ?? 'claude')) }
        : { status: 200, body: completionReply(nextId++, String(body.model ?? 'gpt')) };
    },
  };
}
