/**
 * GitHub's REST API on loopback. githubStandIn is a route table for the tests that also drive Docker:
 * nock's request interception breaks the hijacked attach stream dockerode uses, so these tests point
 * Octokit's baseUrl here instead. Like nock, each route answers once unless persisted, and a request
 * no route matches answers 404 and is listed in `unmatched`. answerGitHubActivity serves the
 * read-only endpoints a digest's activity report calls, from data a test sets per repository;
 * answerDeviceFlow serves `link github`'s device flow; answerPullRequests serves what opening a pull
 * request calls (permission lookups, the repository, its pulls); answerWebhookDeliveries serves the
 * App's (or a repository hook's) webhook deliveries and redelivers them when asked.
 */
import { createHmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { listenOnLoopback, parseBody, readBody, sendJson } from './server.js';

export interface StandInRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

/** A reply with response headers of its own (a Link header for the next page). */
export class StandInAnswer {
  constructor(
    readonly body: unknown,
    readonly headers: Record<string, string>,
  ) {}
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
    if (body instanceof StandInAnswer) sendJson(res, route.status, body.body ?? {}, body.headers);
    else sendJson(res, route.status, body ?? {});
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

/** One webhook delivery as GitHub lists it (GET /app/hook/deliveries), plus the payload it sent. */
export interface StandInDelivery {
  id: number;
  guid: string;
  delivered_at: string;
  redelivery: boolean;
  duration: number;
  status: string;
  status_code: number;
  event: string;
  action: string | null;
  installation_id: number | null;
  repository_id: number | null;
  throttled_at: null;
  payload: unknown;
}

/** A delivery a test adds: the event, what our server answered (0: no answer) and when. */
export interface DeliveryInput {
  guid: string;
  event?: string;
  payload?: unknown;
  statusCode: number;
  deliveredAt: Date;
  redelivery?: boolean;
}

export interface WebhookDeliveries {
  /** Every delivery the stand-in knows, in the order added; redeliveries it made are appended. */
  deliveries: StandInDelivery[];
  /** Delivery ids POST .../attempts was asked for, in order. */
  asked: number[];
  /** What the target answered to each redelivery the stand-in made (status 0: no answer). */
  answers: { guid: string; status: number; body: unknown }[];
  /** The list requests seen (query: per_page, cursor; headers: the App's JWT), in order. */
  pages: StandInRequest[];
  /** Records a delivery; returns its id. */
  add(input: DeliveryInput): number;
  /** Waits for the redeliveries the stand-in is still making to `target`. */
  settled(): Promise<void>;
}

function statusText(code: number): string {
  if (code === 0) return 'timed out';
  return code >= 200 && code < 300 ? 'OK' : `Invalid HTTP Response: ${code}`;
}

/**
 * The webhook deliveries API on the stand-in, at `base` (`/app/hook` for the App's webhook, or
 * `/repos/{owner}/{repo}/hooks/{id}` for a repository hook): GET `${base}/deliveries` lists them
 * newest first, `per_page` at a time with an opaque `cursor` in the Link header's `rel="next"`, as
 * GitHub does; POST `${base}/deliveries/{id}/attempts` answers 202 and records the id, and with a
 * `target` sends the stored payload there again, signed with `target.secret` and carrying the
 * original guid as X-GitHub-Delivery, recording the answer as a new delivery (redelivery: true).
 */
export function answerWebhookDeliveries(
  standIn: GitHubStandIn,
  options: { base?: string; target?: { url: string; secret: string } } = {},
): WebhookDeliveries {
  const base = options.base ?? '/app/hook';
  const deliveries: StandInDelivery[] = [];
  const asked: number[] = [];
  const pages: StandInRequest[] = [];
  const answers: WebhookDeliveries['answers'] = [];
  const inFlight = new Set<Promise<void>>();
  let lastId = 90_000_000;
  const add = (input: DeliveryInput): number => {
    lastId += 1;
    deliveries.push({
      id: lastId,
      guid: input.guid,
      delivered_at: input.deliveredAt.toISOString(),
      redelivery: input.redelivery ?? false,
      duration: 0.05,
      status: statusText(input.statusCode),
      status_code: input.statusCode,
      event: input.event ?? 'issue_comment',
      action: (input.payload as { action?: string } | undefined)?.action ?? null,
      installation_id: null,
      repository_id: null,
      throttled_at: null,
      payload: input.payload ?? {},
    });
    return lastId;
  };
  const redeliver = async (original: StandInDelivery, target: { url: string; secret: string }) => {
    const body = JSON.stringify(original.payload);
    const signature = createHmac('sha256', target.secret).update(body).digest('hex');
    let statusCode = 0;
    let answer: unknown;
    try {
      const res = await fetch(target.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-github-event': original.event,
          'x-github-delivery': original.guid,
          'x-hub-signature-256': `sha256=${signature}`,
        },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      const text = await res.text();
      statusCode = res.status;
      answer = parseBody(text, res.headers.get('content-type') ?? undefined);
    } catch {
      statusCode = 0;
    }
    answers.push({ guid: original.guid, status: statusCode, body: answer });
    add({ ...original, statusCode, deliveredAt: new Date(), redelivery: true });
  };
  const escaped = base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  standIn.route(
    'GET',
    `${base}/deliveries`,
    200,
    (req) => {
      pages.push(req);
      const perPage = Math.min(Number(req.query.get('per_page') ?? 30) || 30, 100);
      const start = Number(req.query.get('cursor') ?? 0) || 0;
      const newestFirst = [...deliveries].sort(
        (a, b) => b.delivered_at.localeCompare(a.delivered_at) || b.id - a.id,
      );
      const page = newestFirst
        .slice(start, start + perPage)
        .map(({ payload: _payload, ...listed }) => listed);
      const next = start + perPage;
      const headers: Record<string, string> =
        next < newestFirst.length
          ? { link: `<${standIn.url}${base}/deliveries?per_page=${perPage}&cursor=${next}>; rel="next"` }
          : {};
      return new StandInAnswer(page, headers);
    },
    true,
  );
  standIn.route(
    'POST',
    new RegExp(`^${escaped}/deliveries/\\d+/attempts$`),
    202,
    (req) => {
      const id = Number(req.path.split('/').at(-2));
      asked.push(id);
      const original = deliveries.find((d) => d.id === id);
      if (original && options.target) {
        const sent = redeliver(original, options.target);
        inFlight.add(sent);
        void sent.finally(() => inFlight.delete(sent));
      }
      return {};
    },
    true,
  );
  return {
    deliveries,
    asked,
    answers,
    pages,
    add,
    async settled() {
      while (inFlight.size) await Promise.all([...inFlight]);
    },
  };
}
