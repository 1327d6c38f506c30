/**
 * A loopback server standing in for slack.com/api and discord.com/api in the end-to-end tests (nock
 * cannot be loaded there: its interceptor breaks the Docker engine's hijacked attach streams). It
 * records every call and answers with what `reply` returns, so a test can script failures, 429s and
 * Retry-After headers per call.
 */
import { listenOnLoopback, parseBody, readBody, sendJson } from './server.js';

export interface ApiCall {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

export type ApiReply = (call: ApiCall) => {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
};

export interface FakeApi {
  url: string;
  calls: ApiCall[];
  reply: ApiReply;
  close(): Promise<void>;
}

export async function startFakeApi(reply: ApiReply): Promise<FakeApi> {
  const fake: FakeApi = { url: '', calls: [], reply, close: async () => undefined };
  const loopback = await listenOnLoopback(async (req, res) => {
    const text = await readBody(req);
    const call: ApiCall = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers: req.headers,
      body: parseBody(text, req.headers['content-type']),
    };
    fake.calls.push(call);
    const answer = fake.reply(call);
    sendJson(res, answer.status, answer.body, answer.headers);
  });
  fake.url = loopback.url;
  fake.close = loopback.close;
  return fake;
}
