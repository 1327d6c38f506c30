/**
 * Shared by the GitHub pull request tests: a bare repository as the real git remote, example webhook
 * payloads edited for a mention, a signed POST to the webhook route, and GitHub's API on loopback.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signGitHubPayload } from '../../src/github/index.js';

const examples = JSON.parse(
  readFileSync(
    createRequire(import.meta.url).resolve('@octokit/webhooks-examples/api.github.com/index.json'),
    'utf8',
  ),
) as { name: string; examples: Record<string, unknown>[] }[];

/** A copy of the first @octokit/webhooks-examples payload of `name` with `action`. */
export function examplePayload(name: string, action: string): Record<string, unknown> {
  const found = examples.find((e) => e.name === name)?.examples.find((p) => p.action === action);
  if (!found) throw new Error(`no ${name}.${action} example`);
  return structuredClone(found);
}

export function git(args: string[], cwd?: string): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      HOME: tmpdir(),
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
    },
  });
}

/** `<root>/<owner>/<repo>.git`, a bare repository whose `main` holds `files`. */
export function bareRemote(root: string, fullName: string, files: Record<string, string>): string {
  const bare = join(root, `${fullName}.git`);
  mkdirSync(bare, { recursive: true });
  git(['init', '--quiet', '--bare', '--initial-branch=main', bare]);
  const seed = mkdtempSync(join(tmpdir(), 'deckhand-seed-'));
  git(['init', '--quiet', '--initial-branch=main', seed]);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(seed, path, '..'), { recursive: true });
    writeFileSync(join(seed, path), content);
  }
  git(['add', '--all'], seed);
  git(
    [
      '-c',
      'user.name=Octo Cat',
      '-c',
      'user.email=octocat@example.com',
      'commit',
      '--quiet',
      '-m',
      'Initial',
    ],
    seed,
  );
  git(['push', '--quiet', bare, 'HEAD:refs/heads/main'], seed);
  return bare;
}

export function signedWebhook(
  base: string,
  secret: string,
  name: string,
  payload: unknown,
  deliveryId: string,
): Promise<Response> {
  const body = JSON.stringify(payload);
  return fetch(`${base}/github/webhooks`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': name,
      'x-github-delivery': deliveryId,
      'x-hub-signature-256': signGitHubPayload(secret, body),
    },
    body,
  });
}

export interface StandInRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

type Reply = ((req: StandInRequest) => unknown) | Record<string, unknown> | unknown[];

interface Route {
  method: string;
  path: string | RegExp;
  status: number;
  reply: Reply;
  persist: boolean;
  used: boolean;
}

/**
 * GitHub's REST API on loopback, for tests that also drive Docker: nock's request interception breaks
 * the hijacked attach stream dockerode uses, so these tests point Octokit's baseUrl here instead. Like
 * nock, each route answers once unless persisted, and a request no route matches answers 404 and is
 * listed in `unmatched`.
 */
export async function githubStandIn() {
  const routes: Route[] = [];
  const unmatched: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://stand-in');
      const text = Buffer.concat(chunks).toString('utf8');
      const request: StandInRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
      };
      const route = routes.find(
        (r) =>
          (r.persist || !r.used) &&
          r.method === request.method &&
          (typeof r.path === 'string' ? r.path === request.path : r.path.test(request.path)),
      );
      if (!route) {
        unmatched.push(`${request.method} ${request.path}${url.search}`);
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'Not Found' }));
        return;
      }
      route.used = true;
      const body =
        typeof route.reply === 'function'
          ? (route.reply as (r: StandInRequest) => unknown)(request)
          : route.reply;
      res.writeHead(route.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body ?? {}));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    unmatched,
    route(method: string, path: string | RegExp, status: number, reply: Reply, persist = false): void {
      routes.push({ method, path, status, reply, persist, used: false });
    },
    /** Routes not called yet (persisted ones excluded). */
    pending(): string[] {
      return routes.filter((r) => !r.persist && !r.used).map((r) => `${r.method} ${r.path}`);
    },
    reset(): void {
      routes.length = 0;
      unmatched.length = 0;
    },
    close(): Promise<void> {
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
export type GitHubStandIn = Awaited<ReturnType<typeof githubStandIn>>;
