/**
 * GitHub's part of the fault suite. GitHub, unlike Slack, never sends a webhook again by itself: each
 * event is POSTed once, and what our web process answered (503 while the store is down, or nothing
 * within 10 s) is only written into the App's delivery log. Here each event is sent exactly once,
 * signed, and recorded in the GitHub stand-in's deliveries API with the status it got, as GitHub
 * would; the workers' redelivery job (src/github/redelivery.ts) lists that log as the App and asks for
 * the failed ones again, and the stand-in sends those to the web process a second time. The books
 * then say which events got in only through a redelivery: `github_redelivered`, K > 0 when the store
 * outage refused some.
 *
 * The stand-in also answers what a worker calls for a GitHub `help` mention: the App's installation
 * token, the reply comment (counted per issue, for `replied_more_than_once`), its edits, reactions.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { signGitHubPayload } from '../../src/github/index.js';
import {
  answerWebhookDeliveries,
  type GitHubStandIn,
  githubStandIn,
  type WebhookDeliveries,
} from '../support/platforms/index.js';

const SECRET = 'faults-github-webhook-secret';
const INSTALLATION = 4343;
/** GitHub gives up on a webhook answer after 10 s. */
const GITHUB_TIMEOUT_MS = 10_000;

export interface GitHubEvent {
  guid: string;
  issue: number;
  /** What the single delivery GitHub makes got (0: no answer in time). */
  firstStatus: number;
  /** The task the web process answered with, from the first delivery or a redelivery. */
  taskId?: string;
  /** Accepted (2xx) only through a redelivery the job asked for. */
  redelivered: boolean;
  done: Promise<void>;
}

export interface GitHubBooks {
  events: number;
  acked: number;
  processed: number;
  lost: GitHubEvent[];
  /** Events refused at first and accepted through a redelivery. */
  redelivered: number;
  /** Issues that got more than one reply comment. */
  repliedMoreThanOnce: number;
}

function issueCommentPayload(issue: number, commentId: number): Record<string, unknown> {
  const file = createRequire(import.meta.url).resolve('@octokit/webhooks-examples/api.github.com/index.json');
  const examples = JSON.parse(readFileSync(file, 'utf8')) as {
    name: string;
    examples: Record<string, unknown>[];
  }[];
  const example = examples
    .find((e) => e.name === 'issue_comment')
    ?.examples.find((p) => p.action === 'created') as
    | { issue: { number: number }; comment: { id: number; body: string }; installation?: { id: number } }
    | undefined;
  if (!example) throw new Error('no issue_comment.created example');
  const payload = structuredClone(example);
  payload.issue.number = issue;
  payload.comment.id = commentId;
  payload.comment.body = '@deckhand help';
  payload.installation = { id: INSTALLATION };
  return payload as unknown as Record<string, unknown>;
}

/** The stand-in's routes a worker calls while answering a `help` mention on Codertocat/Hello-World. */
function answerMentionWork(api: GitHubStandIn, repliesByIssue: Map<number, number>): void {
  api.route(
    'POST',
    `/app/installations/${INSTALLATION}/access_tokens`,
    201,
    () => ({
      token: `ghs_${randomUUID().replaceAll('-', '')}`,
      expires_at: new Date(Date.now() + 3_600_000),
    }),
    true,
  );
  api.route(
    'POST',
    /^\/repos\/Codertocat\/Hello-World\/issues\/\d+\/comments$/,
    201,
    (req) => {
      const issue = Number(/issues\/(\d+)\/comments/.exec(req.path)?.[1]);
      repliesByIssue.set(issue, (repliesByIssue.get(issue) ?? 0) + 1);
      return { id: 800_000 + issue };
    },
    true,
  );
  api.route('PATCH', /^\/repos\/Codertocat\/Hello-World\/issues\/comments\/\d+$/, 200, { id: 1 }, true);
  api.route('POST', /^\/repos\/Codertocat\/Hello-World\/.*\/reactions$/, 201, { id: 1 }, true);
  api.route(
    'GET',
    /^\/repos\/Codertocat\/Hello-World\/collaborators\/[^/]+\/permission$/,
    200,
    { permission: 'write', role_name: 'write' },
    true,
  );
}

/**
 * The GitHub stand-in, the env that points Deckhand at it as an App (with the redelivery job every
 * `intervalSeconds`), and the sender. `setTarget` names the web process once it listens: both the
 * first deliveries and the redeliveries go there.
 */
export async function startGitHubFaultTraffic(options: { intervalSeconds?: number } = {}) {
  const api = await githubStandIn();
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const target = { url: '', secret: SECRET };
  const deliveries: WebhookDeliveries = answerWebhookDeliveries(api, { target });
  const repliesByIssue = new Map<number, number>();
  answerMentionWork(api, repliesByIssue);
  const events: GitHubEvent[] = [];
  const minutes = (seconds: number) => String(seconds / 60);
  const env: Record<string, string> = {
    GITHUB_APP_ID: '4343',
    GITHUB_PRIVATE_KEY: privateKey,
    GITHUB_WEBHOOK_SECRET: SECRET,
    GITHUB_API_URL: api.url,
    DECKHAND_GITHUB_REDELIVERY_INTERVAL_MINUTES: minutes(options.intervalSeconds ?? 5),
    DECKHAND_GITHUB_REDELIVERY_COOLDOWN_MINUTES: minutes(15),
  };

  /** One POST, as GitHub makes it; the answer goes into the delivery log the job reads. */
  async function deliverOnce(event: GitHubEvent, payload: Record<string, unknown>): Promise<void> {
    const body = JSON.stringify(payload);
    const deliveredAt = new Date();
    try {
      const res = await fetch(target.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'issue_comment',
          'x-github-delivery': event.guid,
          'x-hub-signature-256': signGitHubPayload(SECRET, body),
        },
        body,
        signal: AbortSignal.timeout(GITHUB_TIMEOUT_MS),
      });
      const answer = (await res.json().catch(() => ({}))) as { task?: string };
      event.firstStatus = res.status;
      if (res.ok && answer.task) event.taskId = answer.task;
    } catch {
      event.firstStatus = 0;
    }
    deliveries.add({ guid: event.guid, payload, statusCode: event.firstStatus, deliveredAt });
  }

  return {
    api,
    env,
    events,
    repliesByIssue,
    deliveries,
    setTarget(webBase: string): void {
      target.url = `${webBase}/github/webhooks`;
    },
    /** Sends the `n`th GitHub event (its own issue and comment), once. */
    send(n: number): GitHubEvent {
      const issue = 10_000 + n;
      const event: GitHubEvent = {
        guid: randomUUID(),
        issue,
        firstStatus: -1,
        redelivered: false,
        done: Promise.resolve(),
      };
      event.done = deliverOnce(event, issueCommentPayload(issue, 70_000_000 + n));
      events.push(event);
      return event;
    },
    /**
     * Waits (up to `timeoutMs`) until every event sent got a 2xx, from its one delivery or from a
     * redelivery the job asked for; true when all did.
     */
    async waitForRedeliveries(timeoutMs: number): Promise<boolean> {
      await Promise.all(events.map((e) => e.done));
      const deadline = Date.now() + timeoutMs;
      const ok = (status: number) => status >= 200 && status < 300;
      for (;;) {
        await deliveries.settled();
        const through = new Set(deliveries.answers.filter((a) => ok(a.status)).map((a) => a.guid));
        if (events.every((e) => ok(e.firstStatus) || through.has(e.guid))) return true;
        if (Date.now() > deadline) return false;
        await new Promise((r) => setTimeout(r, 1000));
      }
    },
    /**
     * The books, once the first deliveries are done and the job has had its runs: an event counts
     * as acked when any delivery of it got a 2xx (the redeliveries' answers name their task), and
     * as processed when that task succeeded.
     */
    async books(statusOf: (taskId: string) => Promise<string | undefined>): Promise<GitHubBooks> {
      await Promise.all(events.map((e) => e.done));
      await deliveries.settled();
      for (const answer of deliveries.answers) {
        const event = events.find((e) => e.guid === answer.guid);
        const task = (answer.body as { task?: unknown } | undefined)?.task;
        if (!event || event.taskId || answer.status < 200 || answer.status >= 300) continue;
        if (typeof task === 'string') {
          event.taskId = task;
          event.redelivered = true;
        }
      }
      const statuses = await Promise.all(events.map((e) => (e.taskId ? statusOf(e.taskId) : undefined)));
      const processed = events.filter((_, i) => statuses[i] === 'succeeded');
      return {
        events: events.length,
        acked: events.filter((e) => e.taskId).length,
        processed: processed.length,
        lost: events.filter((_, i) => statuses[i] !== 'succeeded'),
        redelivered: events.filter((e) => e.redelivered).length,
        repliedMoreThanOnce: [...repliesByIssue.values()].filter((n) => n > 1).length,
      };
    },
    close: () => api.close(),
  };
}
export type GitHubFaultTraffic = Awaited<ReturnType<typeof startGitHubFaultTraffic>>;
