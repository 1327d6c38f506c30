/**
 * A loopback HTTP server standing in for slack.com/api and discord.com/api in the end-to-end tests
 * (nock cannot be loaded there: its interceptor breaks the Docker engine's hijacked attach streams).
 * It records every call and answers with what `reply` returns.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

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

/** Slack form fields that carry JSON, and flags: WebClient sends every Web API call as a form. */
const JSON_FIELDS = new Set(['blocks', 'attachments']);
const FLAG_FIELDS = new Set([
  'mrkdwn',
  'unfurl_links',
  'unfurl_media',
  'replace_original',
  'delete_original',
]);

function formField(key: string, value: string): unknown {
  if (JSON_FIELDS.has(key)) {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return value;
    }
  }
  return FLAG_FIELDS.has(key) && (value === 'true' || value === 'false') ? value === 'true' : value;
}

/**
 * A form-encoded Slack Web API body as the JSON body would have carried it: `blocks` as a list,
 * flags as booleans, everything else as the string it is. Stand-ins for chat.postMessage use it.
 */
export function parseSlackForm(text: string): Record<string, unknown> {
  return Object.fromEntries(
    [...new URLSearchParams(text)].map(([key, value]) => [key, formField(key, value)]),
  );
}

function parseBody(text: string, contentType: string | undefined): Record<string, unknown> {
  if (!text) return {};
  if (contentType?.includes('application/x-www-form-urlencoded')) return parseSlackForm(text);
  try {
    const parsed = JSON.parse(text) as unknown;
    return typeof parsed === 'object' && parsed !== null
      ? (parsed as Record<string, unknown>)
      : { value: parsed };
  } catch {
    return { raw: text };
  }
}

export async function startFakeApi(reply: ApiReply): Promise<FakeApi> {
  const fake: FakeApi = { url: '', calls: [], reply, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const call: ApiCall = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: req.headers,
        body: parseBody(Buffer.concat(chunks).toString('utf8'), req.headers['content-type']),
      };
      fake.calls.push(call);
      const answer = fake.reply(call);
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () => new Promise((resolve) => server.close(() => resolve()));
  return fake;
}
