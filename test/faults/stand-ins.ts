/**
 * Loopback stand-ins for the third-party APIs a Deckhand worker calls during the fault suite: Slack's
 * Web API (every method answers ok; chat.postMessage is counted per thread, i.e. per event) and the
 * model providers (Anthropic Messages, OpenAI Chat Completions) which can be told to fail with 500s.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';

export interface StandIns {
  url: string;
  /** chat.postMessage calls per thread_ts. */
  repliesByThread: Map<string, number>;
  modelCalls: { ok: number; failed: number };
  /**
   * The model API fails (500) for `ms` from the first model call after this, so the outage hits
   * calls whenever the workers get to them, not only if they are quick.
   */
  armModelOutage(ms: number): void;
  /** False only while an outage that has started is still failing calls. */
  modelOutageOver(): boolean;
  close(): Promise<void>;
}

async function bodyOf(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return {};
  if ((req.headers['content-type'] ?? '').includes('json')) {
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch {
      return {};
    }
  }
  return Object.fromEntries(new URLSearchParams(text));
}

export async function startStandIns(): Promise<StandIns> {
  const repliesByThread = new Map<string, number>();
  const modelCalls = { ok: 0, failed: 0 };
  let armedMs = 0;
  let failingUntil = 0;
  let ts = 1_700_000_000;

  const server: Server = createServer(async (req, res) => {
    const body = await bodyOf(req);
    const path = req.url ?? '';
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    };
    if (path.startsWith('/slack/api/')) {
      if (path.startsWith('/slack/api/chat.postMessage')) {
        const thread = String(body.thread_ts ?? body.ts ?? '');
        repliesByThread.set(thread, (repliesByThread.get(thread) ?? 0) + 1);
      }
      json(200, { ok: true, ts: `${ts++}.000100`, channel: body.channel ?? 'C1' });
      return;
    }
    if (path.includes('/messages') || path.includes('/chat/completions')) {
      if (armedMs > 0) {
        failingUntil = Date.now() + armedMs;
        armedMs = 0;
      }
      if (Date.now() < failingUntil) {
        modelCalls.failed++;
        json(500, { type: 'error', error: { type: 'api_error', message: 'fault suite: model API is down' } });
        return;
      }
      modelCalls.ok++;
      if (path.includes('/messages')) {
        json(200, {
          id: `msg_${ts++}`,
          type: 'message',
          role: 'assistant',
          model: String(body.model ?? 'claude'),
          content: [{ type: 'text', text: 'The model is back.' }],
          stop_reason: 'end_turn',
          stop_sequence: null,
          usage: { input_tokens: 10, output_tokens: 5 },
        });
      } else {
        json(200, {
          id: `chatcmpl-${ts++}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: String(body.model ?? 'gpt'),
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content: 'The model is back.' },
              finish_reason: 'stop',
            },
          ],
          usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
        });
      }
      return;
    }
    json(404, { error: `no stand-in for ${path}` });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('stand-ins have no address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    repliesByThread,
    modelCalls,
    armModelOutage(ms) {
      armedMs = ms;
    },
    modelOutageOver: () => Date.now() >= failingUntil,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
