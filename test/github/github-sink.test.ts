import { generateKeyPairSync } from 'node:crypto';
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { DeckhandError, type NormalizedEvent } from '../../src/core/index.js';
import {
  createGitHubSink,
  type GitHubClient,
  githubInstallationClient,
  STATUS_LINES,
  TRACKING_MARKER,
} from '../../src/github/index.js';
import { useNockForThirdPartyApis } from '../support/nock.js';

const API = 'https://api.github.com';
const INSTALLATION_TOKEN = 'ghs_installationTokenForTests0123456789';
const COMMENTS = '/repos/acme/widgets/issues/42/comments';

const { privateKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});

function issueEvent(replyTo: Record<string, string> = {}): NormalizedEvent {
  return {
    platform: 'github',
    workspaceId: '777',
    channelId: 'acme/widgets',
    threadId: '42',
    userId: 'octocat',
    userName: 'octocat',
    text: 'fix the flaky test',
    mentions: [],
    deliveryKey: '11111111-2222-3333-4444-555555555555',
    eventType: 'issue_comment',
    replyTo: { commentId: '9001', issueNumber: '42', repo: 'acme/widgets', kind: 'issue', ...replyTo },
    receivedAt: '2025-01-15T12:00:00.000Z',
  };
}

/**
 * The installation-authenticated client the factory would build, against nock. Throttling is off so
 * what these tests see is the sink's own Retry-After and backoff handling, not the throttling plugin's.
 */
function client(): GitHubClient {
  return githubInstallationClient({
    appId: 123,
    privateKey,
    installationId: 777,
    throttle: { enabled: false },
  });
}

function tokenScope() {
  return nock(API)
    .post('/app/installations/777/access_tokens')
    .reply(201, {
      token: INSTALLATION_TOKEN,
      expires_at: new Date(Date.now() + 3_600_000).toISOString(),
      permissions: { issues: 'write' },
      repository_selection: 'all',
    });
}

const noWait = { sleep: async () => {} };

useNockForThirdPartyApis();

describe('GitHub tracking comment sink', () => {
  it('keeps one tracking comment for a GitHub task', async () => {
    const bodies: string[] = [];
    const keep = (body: { body: string }) => bodies.push(body.body) > 0;
    tokenScope();
    const scope = nock(API, { reqheaders: { authorization: `token ${INSTALLATION_TOKEN}` } })
      .post(COMMENTS, keep)
      .once()
      .reply(201, { id: 5550001, html_url: 'https://github.com/acme/widgets/issues/42#issuecomment-5550001' })
      .patch('/repos/acme/widgets/issues/comments/5550001', keep)
      .times(4)
      .reply(200, { id: 5550001 });

    const sink = createGitHubSink(issueEvent(), { client: client(), retry: noWait });
    await sink.status('working');
    const first = await sink.post('Reading the test…');
    expect(first.id).toBe('5550001#0');
    await sink.update(first, 'Found the race in `setup()`.');
    const second = await sink.post('Opened a fix.');
    await sink.update(second, 'Opened a fix.'); // unchanged: no request
    await sink.status('done');

    expect(scope.isDone()).toBe(true);
    expect(bodies).toHaveLength(5);
    expect(bodies[0]).toBe(`${STATUS_LINES.working}\n\n${TRACKING_MARKER}`);
    expect(bodies[4]).toBe(
      `${STATUS_LINES.done}\n\nFound the race in \`setup()\`.\n\n---\n\nOpened a fix.\n\n${TRACKING_MARKER}`,
    );
    expect(bodies[3]?.startsWith('⏳')).toBe(true);
  });

  it('creates the comment once even when calls overlap', async () => {
    let created = 0;
    const fake: GitHubClient = {
      async request(route: string) {
        await new Promise((r) => setTimeout(r, 5));
        if (route.startsWith('POST')) created += 1;
        return { data: { id: 1 } };
      },
    };
    const sink = createGitHubSink(issueEvent(), { client: fake });
    await Promise.all([sink.status('working'), sink.post('a'), sink.post('b')]);
    expect(created).toBe(1);
  });

  it('retries a 429 after Retry-After and succeeds', async () => {
    const waits: number[] = [];
    tokenScope();
    const scope = nock(API)
      .post(COMMENTS)
      .reply(429, { message: 'secondary rate limit' }, { 'retry-after': '3' })
      .post(COMMENTS)
      .reply(502, 'bad gateway')
      .post(COMMENTS)
      .reply(201, { id: 7 });
    const sink = createGitHubSink(issueEvent(), {
      client: client(),
      retry: { sleep: async (ms) => void waits.push(ms) },
    });
    expect(await sink.post('hello')).toEqual({ id: '7#0' });
    expect(waits).toEqual([3000, 1000]);
    expect(scope.isDone()).toBe(true);
  });

  it('gives up after 3 server errors with a readable error that does not contain the token', async () => {
    tokenScope();
    const scope = nock(API).post(COMMENTS).times(3).reply(500, { message: 'Server Error' });
    const error = (await createGitHubSink(issueEvent(), { client: client(), retry: noWait })
      .post('hello')
      .catch((e: unknown) => e)) as DeckhandError;
    expect(error).toBeInstanceOf(DeckhandError);
    expect(error.code).toBe('UPSTREAM_FAILED');
    expect(error.retryable).toBe(true);
    expect(error.userMessage).toMatch(/^GitHub issue comment failed: HTTP 500 \(Server Error\)/);
    expect(error.message).not.toContain(INSTALLATION_TOKEN);
    expect(error.message).not.toContain('PRIVATE KEY');
    expect(scope.isDone()).toBe(true);
  });

  it('does not retry a 404', async () => {
    const scope = nock(API)
      .post('/app/installations/777/access_tokens')
      .reply(201, { token: INSTALLATION_TOKEN, expires_at: new Date(Date.now() + 3_600_000).toISOString() })
      .post(COMMENTS)
      .once()
      .reply(404, { message: 'Not Found' });
    const error = (await createGitHubSink(issueEvent(), { client: client(), retry: noWait })
      .post('hello')
      .catch((e: unknown) => e)) as DeckhandError;
    expect(error.retryable).toBe(false);
    expect(error.userMessage).toBe('GitHub issue comment failed: HTTP 404 (Not Found).');
    expect(scope.isDone()).toBe(true);
  });

  it('uses GraphQL for a discussion', async () => {
    const queries: Array<{ query: string; variables: Record<string, string> }> = [];
    const fake: GitHubClient = {
      async request(route, params) {
        expect(route).toBe('POST /graphql');
        const call = params as { query: string; variables: Record<string, string> };
        queries.push(call);
        const field = call.query.includes('addDiscussionComment')
          ? 'addDiscussionComment'
          : 'updateDiscussionComment';
        return { data: { data: { [field]: { comment: { id: 'DC_kwDO123' } } } } };
      },
    };
    const event = issueEvent({ kind: 'discussion', discussionNodeId: 'D_kwDO999' });
    const sink = createGitHubSink(event, { client: fake });
    const reply = await sink.post('Looking…');
    await sink.update(reply, 'Answer');
    expect(queries.map((q) => Object.keys(q.variables))).toEqual([
      ['discussionId', 'body'],
      ['commentId', 'body'],
    ]);
    expect(queries[1]?.variables.commentId).toBe('DC_kwDO123');
  });

  it('reads an escaped private key and a baseUrl for GitHub Enterprise', async () => {
    const escaped = privateKey.replace(/\n/g, '\\n');
    nock('https://ghe.example.com')
      .post('/api/v3/app/installations/777/access_tokens')
      .reply(201, { token: INSTALLATION_TOKEN, expires_at: new Date(Date.now() + 3_600_000).toISOString() })
      .get('/api/v3/repos/acme/widgets')
      .reply(200, { full_name: 'acme/widgets' });
    const ghe = githubInstallationClient({
      appId: '123',
      privateKey: escaped,
      installationId: '777',
      baseUrl: 'https://ghe.example.com/api/v3/',
    });
    const { data } = await ghe.request('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'widgets' });
    expect(data).toEqual({ full_name: 'acme/widgets' });
  });
});
