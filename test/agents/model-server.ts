/**
 * A loopback stand-in for the Anthropic and OpenAI APIs, for test files that also drive the Docker
 * sandbox (nock's interceptor breaks Docker's hijacked attach stream, so those files cannot load nock).
 * It answers each POST with the next scripted SSE body and records what the SDK sent.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ScriptedReply {
  status?: number;
  headers?: Record<string, string>;
  body: string;
}

export class ModelServer {
  readonly requests: Array<{
    path: string;
    headers: Record<string, unknown>;
    body: Record<string, unknown>;
  }> = [];
  private readonly replies: ScriptedReply[] = [];
  private server: Server | undefined;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      let raw = '';
      req.on('data', (chunk: Buffer) => {
        raw += chunk.toString('utf8');
      });
      req.on('end', () => {
        this.requests.push({
          path: req.url ?? '',
          headers: req.headers,
          body: raw ? (JSON.parse(raw) as Record<string, unknown>) : {},
        });
        const reply = this.replies.shift();
        if (!reply) {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { type: 'api_error', message: 'no scripted reply left' } }));
          return;
        }
        res.writeHead(reply.status ?? 200, {
          'content-type': 'text/event-stream; charset=utf-8',
          ...reply.headers,
        });
        res.end(reply.body);
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  reply(...replies: Array<string | ScriptedReply>): this {
    for (const r of replies) this.replies.push(typeof r === 'string' ? { body: r } : r);
    return this;
  }

  get pending(): number {
    return this.replies.length;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
