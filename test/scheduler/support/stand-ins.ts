/**
 * Loopback stand-ins for the third-party APIs a digest touches: Slack's chat.postMessage, Discord's
 * channel messages and the GitHub REST endpoints activity.ts reads. A post counts once the stand-in
 * has answered it, the way a platform shows a message only after accepting it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { parseSlackForm } from '../../bots/slack/fake-api.js';

export interface RecordedPost {
  /** First path segment: lets each process under test use its own base URL. */
  prefix: string;
  platform: 'slack' | 'discord';
  channel: string;
  body: Record<string, unknown>;
  at: number;
}

export interface StandIns {
  url: string;
  posts: RecordedPost[];
  /** Requests under these prefixes are held open and never answered. */
  hang: Set<string>;
  /** Prefixes of requests that were held. */
  held: RecordedPost[];
  /** Posts are answered after this many milliseconds (a slow platform). */
  delayMs: number;
  /** The next N posts are answered with this failure. */
  failNext(count: number, answer: { status: number; body: unknown }): void;
  /** GitHub data per `owner/repo` and endpoint (pulls?state=closed, pulls?state=open, issues, check-runs, status, commits). */
  github: Map<string, Partial<Record<GitHubEndpoint, unknown>>>;
  close(): Promise<void>;
}

export type GitHubEndpoint = 'repo' | 'closed' | 'open' | 'issues' | 'check-runs' | 'status' | 'commits';

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      data += chunk;
    });
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export async function startStandIns(): Promise<StandIns> {
  const posts: RecordedPost[] = [];
  const held: RecordedPost[] = [];
  const hang = new Set<string>();
  const github = new Map<string, Partial<Record<GitHubEndpoint, unknown>>>();
  const failures: { status: number; body: unknown }[] = [];
  const open = new Set<ServerResponse>();

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const [prefix = '', ...parts] = url.pathname.split('/').filter(Boolean);
    const rest = parts.join('/');
    if (req.method === 'POST') {
      const text = await readBody(req);
      // Slack's Web API takes form bodies (what @slack/web-api sends); Discord takes JSON.
      const form = (req.headers['content-type'] ?? '').includes('application/x-www-form-urlencoded');
      const body = (form ? parseSlackForm(text) : text ? JSON.parse(text) : {}) as Record<string, unknown>;
      const discord = /^channels\/([^/]+)\/messages$/.exec(rest);
      const post: RecordedPost | undefined =
        rest === 'chat.postMessage'
          ? { prefix, platform: 'slack', channel: String(body.channel), body, at: Date.now() }
          : discord
            ? { prefix, platform: 'discord', channel: decodeURIComponent(discord[1]!), body, at: Date.now() }
            : undefined;
      if (!post) return json(res, 404, { message: 'Not Found' });
      if (hang.has(prefix)) {
        held.push(post);
        open.add(res);
        return;
      }
      if (standIns.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, standIns.delayMs));
      const failure = failures.shift();
      if (failure) return json(res, failure.status, failure.body);
      posts.push(post);
      return post.platform === 'slack'
        ? json(res, 200, { ok: true, ts: `${posts.length}.000100`, channel: post.channel })
        : json(res, 200, { id: String(1000 + posts.length) });
    }
    // GitHub: /<prefix>/repos/{owner}/{repo}/...
    const match = /^repos\/([^/]+)\/([^/]+)(?:\/(.*))?$/.exec(rest);
    if (!match) return json(res, 404, { message: 'Not Found' });
    const repo = `${match[1]}/${match[2]}`;
    const data = github.get(repo) ?? {};
    const tail = match[3] ?? '';
    if (!github.has(repo) && github.has('*missing*')) return json(res, 404, { message: 'Not Found' });
    if (tail === '') return json(res, 200, data.repo ?? { full_name: repo, default_branch: 'main' });
    if (tail === 'pulls') {
      const state = url.searchParams.get('state');
      return json(res, 200, (state === 'open' ? data.open : data.closed) ?? []);
    }
    if (tail === 'issues') return json(res, 200, data.issues ?? []);
    if (/^commits\/[^/]+\/check-runs$/.test(tail)) {
      return json(res, 200, data['check-runs'] ?? { total_count: 0, check_runs: [] });
    }
    if (/^commits\/[^/]+\/status$/.test(tail)) {
      return json(res, 200, data.status ?? { state: 'success', statuses: [] });
    }
    if (tail === 'commits') return json(res, 200, data.commits ?? []);
    return json(res, 404, { message: 'Not Found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const standIns: StandIns = {
    url: `http://127.0.0.1:${port}`,
    delayMs: 0,
    posts,
    hang,
    held,
    github,
    failNext(count, answer) {
      for (let i = 0; i < count; i++) failures.push(answer);
    },
    async close() {
      for (const res of open) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return standIns;
}

/** Posts per channel, for "each posted exactly once". */
export function countByChannel(posts: RecordedPost[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const post of posts) counts.set(post.channel, (counts.get(post.channel) ?? 0) + 1);
  return counts;
}
