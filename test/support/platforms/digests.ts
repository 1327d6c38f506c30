/**
 * The stand-ins a digest touches, on one loopback server: Slack's chat.postMessage, Discord's channel
 * messages and the GitHub REST endpoints activity.ts reads. The first path segment is a prefix, so
 * each process under test can use its own base URL (`${url}/a` for Slack, `${url}/gh` for GitHub).
 * A post counts once the stand-in has answered it, the way a platform shows a message only after
 * accepting it; a test can hold posts open (a hung platform), slow them, or fail the next few.
 */
import type { ServerResponse } from 'node:http';
import { discordChannelOf } from './discord.js';
import { answerGitHubActivity, type GitHubActivity } from './github.js';
import { listenOnLoopback, parseBody, readBody, sendJson } from './server.js';
import { isSlackPost } from './slack.js';

export interface RecordedPost {
  /** First path segment: lets each process under test use its own base URL. */
  prefix: string;
  platform: 'slack' | 'discord';
  channel: string;
  body: Record<string, unknown>;
  at: number;
}

export interface DigestStandIns {
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
  github: GitHubActivity;
  close(): Promise<void>;
}

function postOf(prefix: string, rest: string, body: Record<string, unknown>): RecordedPost | undefined {
  if (isSlackPost(rest))
    return { prefix, platform: 'slack', channel: String(body.channel), body, at: Date.now() };
  const channel = discordChannelOf(rest);
  return channel === undefined ? undefined : { prefix, platform: 'discord', channel, body, at: Date.now() };
}

export async function startDigestStandIns(): Promise<DigestStandIns> {
  const failures: { status: number; body: unknown }[] = [];
  const standIns: DigestStandIns = {
    url: '',
    delayMs: 0,
    posts: [],
    hang: new Set(),
    held: [],
    github: new Map(),
    failNext(count, answer) {
      for (let i = 0; i < count; i++) failures.push(answer);
    },
    close: async () => undefined,
  };

  async function answerPost(res: ServerResponse, post: RecordedPost): Promise<void> {
    if (standIns.hang.has(post.prefix)) {
      standIns.held.push(post); // never answered: close() drops the connection
      return;
    }
    if (standIns.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, standIns.delayMs));
    const failure = failures.shift();
    if (failure) return sendJson(res, failure.status, failure.body);
    standIns.posts.push(post);
    const count = standIns.posts.length;
    return post.platform === 'slack'
      ? sendJson(res, 200, { ok: true, ts: `${count}.000100`, channel: post.channel })
      : sendJson(res, 200, { id: String(1000 + count) });
  }

  const loopback = await listenOnLoopback(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const [prefix = '', ...parts] = url.pathname.split('/').filter(Boolean);
    const rest = parts.join('/');
    if (req.method === 'POST') {
      const body = parseBody(await readBody(req), req.headers['content-type']);
      const post = postOf(prefix, rest, body);
      return post ? answerPost(res, post) : sendJson(res, 404, { message: 'Not Found' });
    }
    const answer = answerGitHubActivity(standIns.github, rest, url.searchParams);
    return sendJson(res, answer.status, answer.body);
  });
  standIns.url = loopback.url;
  standIns.close = loopback.close;
  return standIns;
}

/** Posts per channel, for "each posted exactly once". */
export function countByChannel(posts: RecordedPost[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const post of posts) counts.set(post.channel, (counts.get(post.channel) ?? 0) + 1);
  return counts;
}
