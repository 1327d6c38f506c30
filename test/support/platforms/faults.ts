/**
 * The third-party APIs a Deckhand worker calls during the fault suite, on one loopback server:
 * Slack's Web API under /slack/api/ (every method answers ok; chat.postMessage is counted per thread,
 * i.e. per event) and the model providers (models.ts), which can be told to fail with 500s.
 */
import { createModelStandIn } from './models.js';
import { listenOnLoopback, parseBody, readBody, sendJson } from './server.js';
import { isSlackPost } from './slack.js';

export interface FaultStandIns {
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

const SLACK_API = '/slack/api/';

export async function startFaultStandIns(): Promise<FaultStandIns> {
  const repliesByThread = new Map<string, number>();
  const models = createModelStandIn();
  let ts = 1_700_000_000;
  const loopback = await listenOnLoopback(async (req, res) => {
    const body = parseBody(await readBody(req), req.headers['content-type']);
    const path = req.url ?? '';
    if (path.startsWith(SLACK_API)) {
      if (isSlackPost(path.slice(SLACK_API.length))) {
        const thread = String(body.thread_ts ?? body.ts ?? '');
        repliesByThread.set(thread, (repliesByThread.get(thread) ?? 0) + 1);
      }
      return sendJson(res, 200, { ok: true, ts: `${ts++}.000100`, channel: body.channel ?? 'C1' });
    }
    if (models.handles(path)) {
      const answer = models.answer(path, body);
      return sendJson(res, answer.status, answer.body);
    }
    return sendJson(res, 404, { error: `no stand-in for ${path}` });
  });
  return {
    url: loopback.url,
    repliesByThread,
    modelCalls: models.calls,
    armModelOutage: models.armOutage,
    modelOutageOver: models.outageOver,
    close: loopback.close,
  };
}
