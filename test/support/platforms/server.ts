/**
 * What every loopback platform stand-in shares: reading a request body, parsing it the way the
 * platform clients send it (Slack's Web API as a form, Discord, GitHub and the model APIs as JSON),
 * answering JSON, and a server on 127.0.0.1 at a free port that closes without waiting on held
 * requests. Tests never reach the real platforms; they point a client's base URL here.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseSlackForm } from './slack.js';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface LoopbackServer {
  url: string;
  server: Server;
  /** Drops every connection, answered or held open, then stops listening. */
  close(): Promise<void>;
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A request body as an object: a form (what @slack/web-api sends) through parseSlackForm, JSON as
 * itself (a JSON value that is not an object as `{ value }`), anything else as `{ raw }`.
 */
export function parseBody(text: string, contentType: string | undefined): Record<string, unknown> {
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

/** Answers `status` with `body` as JSON; an undefined body answers an empty one. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

/** Serves `handler` on 127.0.0.1 at a free port; a handler that throws answers 500. */
export async function listenOnLoopback(handler: Handler): Promise<LoopbackServer> {
  const server = createServer((req, res) => {
    Promise.resolve(handler(req, res)).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { message: `stand-in failed: ${String(error)}` });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
