/**
 * GitHub's REST API on loopback. githubStandIn is a route table for the tests that also drive Docker:
 * nock's request interception breaks the hijacked attach stream dockerode uses, so these tests point
 * Octokit's baseUrl here instead. Like nock, each route answers once unless persisted, and a request
 * no route matches answers 404 and is listed in `unmatched`. answerGitHubActivity serves the
 * read-only endpoints a digest's activity report calls, from data a test sets per repository;
 * answerDeviceFlow serves `link github`'s device flow; answerPullRequests serves what opening a pull
 * request calls (permission lookups, the repository, its pulls).
 */
import type { IncomingMessage } from 'node:http';
import { listenOnLoopback, parseBody, readBody, sendJson } from './server.js';

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

const NOT_FOUND = { message: 'Not Found' };

export async function githubStandIn() {
  const routes: Route[] = [];
  const unmatched: string[] = [];
  const loopback = await listenOnLoopback(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const request: StandInRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: parseBody(await readBody(req), req.headers['content-type']),
    };
    const route = routes.find(
      (r) =>
        (r.persist || !r.used) &&
        r.method === request.method &&
        (typeof r.path === 'string' ? r.path === request.path : r.path.test(request.path)),
    );
    if (!route) {
      unmatched.push(`${request.method} ${request.path}${url.search}`);
      sendJson(res, 404, NOT_FOUND);
      return;
    }
    route.used = true;
    const body = typeof route.reply === 'function' ? route.reply(request) : route.reply;
    sendJson(res, route.status, body ?? {});
  });
  return {
    url: loopback.url,
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
    close: loopback.close,
  };
}
export type GitHubStandIn = Awaited<ReturnType<typeof githubStandIn>>;

/** The activity endpoints: pulls?state=closed, pulls?state=open, issues, check-runs, status, commits. */
export type GitHubEndpoint = 'repo' | 'closed' | 'open' | 'issues' | 'check-runs' | 'status' | 'commits';

/** Activity data per `owner/repo`; the key `*missing*` makes every repository not listed a 404. */
export type GitHubActivity = Map<string, Partial<Record<GitHubEndpoint, unknown>>>;

/**
 * The answer to GET `path` (after the API base, e.g. `repos/o/r/pulls`) from `github`: what the test
 * set, or an empty default (no pulls, no issues, checks passing). Other paths answer 404.
 */
export function answerGitHubActivity(
  github: GitHubActivity,
  path: string,
  query: URLSearchParams,
): { status: number; body: unknown } {
  const match = /^repos\/([^/]+)\/([^/]+)(?:\/(.*))?$/.exec(path);
  if (!match) return { status: 404, body: NOT_FOUND };
  const repo = `${match[1]}/${match[2]}`;
  const data = github.get(repo) ?? {};
  const tail = match[3] ?? '';
  const ok = (body: unknown) => ({ status: 200, body });
  if (!github.has(repo) && github.has('*missing*')) return { status: 404, body: NOT_FOUND };
  if (tail === '') return ok(data.repo ?? { full_name: repo, default_branch: 'main' });
  if (tail === 'pulls') return ok((query.get('state') === 'open' ? data.open : data.closed) ?? []);
  if (tail === 'issues') return ok(data.issues ?? []);
  if (/^commits\/[^/]+\/check-runs$/.test(tail)) {
    return ok(data['check-runs'] ?? { total_count: 0, check_runs: [] });
  }
  if (/^commits\/[^/]+\/status$/.test(tail)) return ok(data.status ?? { state: 'success', statuses: [] });
  if (tail === 'commits') return ok(data.commits ?? []);
  return { status: 404, body: NOT_FOUND };
}

/** The user token the device-flow stand-in hands out (a test checks it went only to GET /user). */
export const DEVICE_FLOW_TOKEN = 'ghu_standInUserToken0000000000000000';

/**
 * GitHub's device flow on the stand-in: POST /login/device/code, then POST
 * /login/oauth/access_token answering `authorization_pending` `pendingPolls` times before the
 * token (or `access_denied` / `expired_token`), and GET /user answering `login`/`id` for that token
 * only. Returns the requests seen, in order, so a test can check where the token went.
 */
export function answerDeviceFlow(
  standIn: GitHubStandIn,
  options: {
    login: string;
    id: number;
    pendingPolls?: number;
    outcome?: 'ok' | 'denied' | 'expired';
    interval?: number;
  },
): StandInRequest[] {
  const { login, id, pendingPolls = 1, outcome = 'ok', interval = 1 } = options;
  const seen: StandInRequest[] = [];
  standIn.route(
    'POST',
    '/login/device/code',
    200,
    (req) => {
      seen.push(req);
      return {
        device_code: 'device-code-1',
        user_code: 'WDJB-MJHT',
        verification_uri: `${standIn.url}/login/device`,
        expires_in: 900,
        interval,
      };
    },
    true,
  );
  let polls = 0;
  standIn.route(
    'POST',
    '/login/oauth/access_token',
    200,
    (req) => {
      seen.push(req);
      polls += 1;
      if (polls <= pendingPolls) {
        return { error: 'authorization_pending', error_description: 'pending', error_uri: 'https://docs' };
      }
      if (outcome === 'denied') return { error: 'access_denied', error_description: 'denied', error_uri: '' };
      if (outcome === 'expired')
        return { error: 'expired_token', error_description: 'expired', error_uri: '' };
      return { access_token: DEVICE_FLOW_TOKEN, token_type: 'bearer', scope: '' };
    },
    true,
  );
  standIn.route(
    'GET',
    '/user',
    200,
    (req) => {
      seen.push(req);
      const authorization = String(req.headers.authorization ?? '').toLowerCase();
      const expected = `bearer ${DEVICE_FLOW_TOKEN}`.toLowerCase();
      if (authorization !== expected && authorization !== `token ${DEVICE_FLOW_TOKEN}`.toLowerCase()) {
        return { message: 'Bad credentials' };
      }
      return { login, id };
    },
    true,
  );
  return seen;
}

/**
 * `owner`'s repositories on the stand-in as a place where a pull request can be opened: each login's
 * permission from `permissions` (`none` for a login not listed), the repository with default branch
 * `main`, no open pulls, and POST /pulls answering pull request `pullNumber`. Every route persists;
 * a test's own routes for the same paths (a failing lookup) must be registered first, as the first
 * matching route answers. Returns the permission lookups and pull request openings seen, in order.
 */
export function answerPullRequests(
  standIn: GitHubStandIn,
  options: { owner: string; permissions: Record<string, string>; pullNumber?: number },
): { permissionAsks: StandInRequest[]; pullsOpened: StandInRequest[] } {
  const { owner, permissions, pullNumber = 1 } = options;
  const repos = `^/repos/${owner.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/[^/]+`;
  const permissionAsks: StandInRequest[] = [];
  const pullsOpened: StandInRequest[] = [];
  standIn.route(
    'GET',
    new RegExp(`${repos}/collaborators/[^/]+/permission$`),
    200,
    (req) => {
      permissionAsks.push(req);
      const permission = permissions[req.path.split('/')[5] ?? ''] ?? 'none';
      return { permission, role_name: permission };
    },
    true,
  );
  standIn.route('GET', new RegExp(`${repos}$`), 200, { default_branch: 'main' }, true);
  standIn.route('GET', new RegExp(`${repos}/pulls$`), 200, [], true);
  standIn.route(
    'POST',
    new RegExp(`${repos}/pulls$`),
    201,
    (req) => {
      pullsOpened.push(req);
      const repo = req.path.split('/')[3] ?? '';
      return {
        number: pullNumber,
        html_url: `https://github.com/${owner}/${repo}/pull/${pullNumber}`,
        head: { ref: String(req.body.head) },
        base: { ref: String(req.body.base) },
      };
    },
    true,
  );
  return { permissionAsks, pullsOpened };
}
