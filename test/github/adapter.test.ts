/**
 * The GitHub PlatformAdapter as the server and worker use it: its one signed route (what a delivery
 * signed by GitHub, a forger and a half-configured install each get back) and its reply sink (what the
 * operator sees in the log when the App is not set up, and the App's installation client otherwise).
 * Payloads are @octokit/webhooks-examples' and signatures @octokit/webhooks' own `sign`, so neither
 * side of the check is Deckhand's code.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Webhooks } from '@octokit/webhooks';
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import {
  type Config,
  IngressError,
  type IngressRoute,
  loadConfig,
  type NormalizedEvent,
  type Secrets,
} from '../../src/core/index.js';
import { createGitHubAdapter, type GitHubClient } from '../../src/github/index.js';
import { eventOf } from '../support/ingress.js';
import { captureLogs } from '../support/logs.js';
import { useNockForThirdPartyApis } from '../support/nock.js';
import { errorOf, refusalOf } from './refusal.js';

const SECRET = 'adapter-test-webhook-secret-91c2';

const examples = JSON.parse(
  readFileSync(
    createRequire(import.meta.url).resolve('@octokit/webhooks-examples/api.github.com/index.json'),
    'utf8',
  ),
) as { name: string; examples: Record<string, unknown>[] }[];

/** The first example of `name` (with `action`) that satisfies `where`, as a fresh copy. */
function example(
  name: string,
  action?: string,
  where: (payload: Record<string, unknown>) => boolean = () => true,
): Record<string, unknown> {
  const found = examples
    .find((e) => e.name === name)
    ?.examples.find((p) => (action === undefined || p.action === action) && where(p));
  if (!found) throw new Error(`no ${name}.${action ?? '*'} example`);
  return structuredClone(found);
}

/** An issue_comment.created from an App installation whose comment mentions @deckhand. */
function mentioningComment(): Record<string, unknown> {
  const payload = example('issue_comment', 'created', (p) => p.installation !== undefined) as {
    comment: { body: string };
  };
  payload.comment.body = '@deckhand please fix the typo';
  return payload;
}

function configWith(secrets: Secrets): Config {
  return { ...loadConfig({}), secrets };
}

/** A delivery as GitHub sends it: the body, and headers signed by @octokit/webhooks with `secret`. */
async function delivery(name: string, payload: unknown, secret = SECRET) {
  const text = JSON.stringify(payload);
  return {
    rawBody: Buffer.from(text),
    headers: {
      'content-type': 'application/json',
      'x-github-event': name,
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': await new Webhooks({ secret }).sign(text),
    } as Record<string, string | undefined>,
  };
}

function webhookRoute(secrets: Secrets = { GITHUB_WEBHOOK_SECRET: SECRET }): IngressRoute {
  const { logger } = captureLogs();
  const adapter = createGitHubAdapter({ config: configWith(secrets), logger });
  const route = adapter.routes.find((r) => r.path === '/github/webhooks');
  if (!route) throw new Error('the GitHub adapter has no /github/webhooks route');
  return route;
}

function githubEvent(workspaceId = '4242'): NormalizedEvent {
  return {
    platform: 'github',
    workspaceId,
    channelId: 'acme/widgets',
    threadId: '7',
    userId: 'alice',
    text: 'hi',
    mentions: [],
    deliveryKey: `issue_comment.created:comment:${randomUUID()}:`,
    eventType: 'issue_comment',
    replyTo: { repo: 'acme/widgets', issueNumber: '7', kind: 'issue' },
    receivedAt: '2025-01-15T12:00:00.000Z',
  };
}

describe('GitHub adapter: the /github/webhooks route', () => {
  it('accepts a delivery signed with GITHUB_WEBHOOK_SECRET and parses it into an event', async () => {
    const payload = mentioningComment();
    const { rawBody, headers } = await delivery('issue_comment', payload);
    const event = eventOf(await webhookRoute().accept(rawBody, headers));
    expect(event).toMatchObject({
      platform: 'github',
      workspaceId: '1',
      channelId: 'Codertocat/Hello-World',
      threadId: '1',
      userId: 'Codertocat',
      text: 'please fix the typo',
      eventType: 'issue_comment',
      // Keyed by the signed body, not by the unsigned X-GitHub-Delivery.
      deliveryKey: 'issue_comment.created:comment:492700400:2019-05-15T15:20:21Z',
      replyTo: {
        commentId: '492700400',
        issueNumber: '1',
        kind: 'issue',
        deliveryId: headers['x-github-delivery'],
      },
    });
  });

  it('acknowledges a signed delivery it does not act on, without an event', async () => {
    const route = webhookRoute();
    const { rawBody, headers } = await delivery('push', example('push'));
    expect(await route.accept(rawBody, headers)).toEqual({
      kind: 'ignore',
      reason: 'GitHub event push is not handled',
    });
    expect(route.ignoredStatus).toBe(202);
  });

  it('refuses a delivery signed with another secret with 401, as a forger would see it', async () => {
    const { rawBody, headers } = await delivery('issue_comment', mentioningComment(), 'not-the-secret');
    const refusal = await errorOf(() => webhookRoute().accept(rawBody, headers));
    expect(refusal).toBeInstanceOf(IngressError);
    expect(refusal).toMatchObject({
      httpStatus: 401,
      userMessage: 'GitHub signature does not match the request body.',
    });
  });

  it('refuses a body changed after signing, and an unsigned one, with 401', async () => {
    const route = webhookRoute();
    const { rawBody, headers } = await delivery('issue_comment', mentioningComment());
    const changed = Buffer.from(rawBody.toString().replace('please fix the typo', 'delete the repo'));
    expect(await refusalOf(async () => route.accept(changed, headers))).toBe(401);
    const { 'x-hub-signature-256': _signature, ...unsigned } = headers;
    expect(await refusalOf(async () => route.accept(rawBody, unsigned))).toBe(401);
  });

  it('answers 503 naming GITHUB_WEBHOOK_SECRET when it is not set, even for a signed delivery', async () => {
    const { rawBody, headers } = await delivery('issue_comment', mentioningComment());
    const refusal = await errorOf(() => webhookRoute({}).accept(rawBody, headers));
    expect(refusal).toBeInstanceOf(IngressError);
    expect(refusal).toMatchObject({ httpStatus: 503 });
    expect((refusal as IngressError).userMessage).toContain('GITHUB_WEBHOOK_SECRET');
  });

  it('answers 400 for a signed delivery without X-GitHub-Event or X-GitHub-Delivery, or not JSON', async () => {
    const route = webhookRoute();
    const { rawBody, headers } = await delivery('issue_comment', mentioningComment());
    const { 'x-github-event': _name, ...nameless } = headers;
    expect(await refusalOf(async () => route.accept(rawBody, nameless))).toBe(400);
    const { 'x-github-delivery': _id, ...idless } = headers;
    expect(await refusalOf(async () => route.accept(rawBody, idless))).toBe(400);
    const notJson = 'zen: keep it logically awesome';
    const signed = {
      ...headers,
      'x-hub-signature-256': await new Webhooks({ secret: SECRET }).sign(notJson),
    };
    expect(await refusalOf(async () => route.accept(Buffer.from(notJson), signed))).toBe(400);
  });

  it('acks a recorded task with 202 naming the task and whether it was a duplicate', () => {
    const route = webhookRoute();
    expect(route.ack({ taskId: 'task-1', duplicate: false, headers: {} })).toEqual({
      status: 202,
      body: { task: 'task-1', duplicate: false },
    });
    expect(route.ack({ taskId: 'task-1', duplicate: true, headers: {} })).toEqual({
      status: 202,
      body: { task: 'task-1', duplicate: true },
    });
  });
});

describe('GitHub adapter: its shape', () => {
  it('is GitHub, shows no receipt, joins no threads and posts no digests', () => {
    const { logger } = captureLogs();
    const adapter = createGitHubAdapter({ config: configWith({}), logger });
    expect(adapter.platform).toBe('github');
    expect(adapter.routes.map((route) => route.path)).toEqual(['/github/webhooks']);
    expect(adapter.showsReceipt(githubEvent())).toBe(false);
    expect(adapter.joinsThreads).toBe(false);
    expect(adapter.digests).toBeUndefined();
    expect(adapter.connect).toBeUndefined();
  });
});

describe('GitHub adapter: reply sinks', () => {
  useNockForThirdPartyApis();
  const env = { GITHUB_API_URL: 'http://github.test' };

  it('logs replies naming GITHUB_APP_ID and GITHUB_PRIVATE_KEY when the App is not configured', async () => {
    const { lines, logger } = captureLogs();
    const sink = createGitHubAdapter({ config: configWith({}), logger, env }).sinkFor(githubEvent());
    await sink.post('the answer');
    const warning = lines.find((line) => line.level === 40);
    expect(warning?.text).toBe('the answer');
    expect(String(warning?.msg)).toContain('GITHUB_APP_ID');
    expect(String(warning?.msg)).toContain('GITHUB_PRIVATE_KEY');
  });

  it('logs replies to a delivery that names no App installation', async () => {
    const { lines, logger } = captureLogs();
    const config = configWith({ GITHUB_APP_ID: '123', GITHUB_PRIVATE_KEY: 'unused' });
    await createGitHubAdapter({ config, logger, env }).sinkFor(githubEvent('none')).post('logged');
    expect(String(lines.find((line) => line.level === 40)?.msg)).toContain(
      'the GitHub webhook names no App installation',
    );
  });

  it('writes the tracking comment through an injected client, and logs an unaddressable event', async () => {
    const routes: string[] = [];
    const client: GitHubClient = {
      async request(route) {
        routes.push(route);
        return { data: { id: 12 } };
      },
    };
    const { lines, logger } = captureLogs();
    const adapter = createGitHubAdapter({ config: configWith({}), logger, clientFor: () => client });
    const sink = adapter.sinkFor(githubEvent());
    await sink.post('one');
    await sink.post('two');
    expect(routes).toEqual([
      'POST /repos/{owner}/{repo}/issues/{issue_number}/comments',
      'PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}',
    ]);
    const broken = { ...githubEvent(), channelId: 'not-a-repo', replyTo: {} };
    await adapter.sinkFor(broken).post('x');
    expect(String(lines.find((line) => line.level === 40)?.msg)).toContain('Cannot reply on GitHub');
  });

  it('acts as the App installation at GITHUB_API_URL, with one token for every reply there', async () => {
    const { privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const token = 'ghs_adapterTokenForTests0000000000';
    const scope = nock('http://github.test')
      .post('/app/installations/4242/access_tokens')
      .once()
      .reply(201, { token, expires_at: '2999-01-01T00:00:00Z' })
      .post('/repos/acme/widgets/issues/7/comments')
      .times(2)
      .matchHeader('authorization', `token ${token}`)
      .reply(201, { id: 31 });
    const { logger } = captureLogs();
    const config = configWith({ GITHUB_APP_ID: '123', GITHUB_PRIVATE_KEY: privateKey });
    const adapter = createGitHubAdapter({ config, logger, env });
    expect(await adapter.sinkFor(githubEvent()).post('first task')).toEqual({ id: '31#0' });
    expect(await adapter.sinkFor(githubEvent()).post('second task')).toEqual({ id: '31#0' });
    expect(scope.isDone()).toBe(true);
  });
});
