import { generateKeyPairSync } from 'node:crypto';
import { Octokit } from '@octokit/rest';
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { isDeckhandError } from '../../src/core/index.js';
import { collectActivity, collectRepoActivity, createGitHubAccess } from '../../src/github/index.js';
import { githubOctokitFor } from '../../src/scheduler/index.js';
import { useNockForThirdPartyApis } from '../support/nock.js';

useNockForThirdPartyApis();

const API = 'https://api.github.com';
const REPO = '/repos/acme/rocket';
const window = { since: new Date('2027-07-01T09:00:00Z'), until: new Date('2027-07-02T09:00:00Z') };

function pr(number: number, fields: Record<string, unknown>) {
  return {
    number,
    title: `PR ${number}`,
    user: { login: `dev${number}` },
    html_url: `https://github.com/acme/rocket/pull/${number}`,
    draft: false,
    requested_reviewers: [],
    requested_teams: [],
    created_at: '2027-06-01T00:00:00Z',
    updated_at: '2027-07-01T12:00:00Z',
    merged_at: null,
    ...fields,
  };
}

function quietRepo(scope: nock.Scope, branch = 'main'): nock.Scope {
  return scope
    .get(`${REPO}/commits/${branch}/check-runs`)
    .query(true)
    .reply(200, { total_count: 0, check_runs: [] })
    .get(`${REPO}/commits/${branch}/status`)
    .reply(200, { state: 'success', statuses: [] })
    .get(`${REPO}/commits`)
    .query(true)
    .reply(200, []);
}

describe('repository activity over a time window', () => {
  it('follows pagination for merged pull requests and stops once pages predate the window', async () => {
    const page1 = Array.from({ length: 100 }, (_, i) =>
      pr(300 - i, { merged_at: '2027-07-01T10:00:00Z', updated_at: '2027-07-01T10:00:00Z' }),
    );
    const page2 = [
      pr(150, { merged_at: '2027-07-01T09:30:00Z', updated_at: '2027-07-01T09:30:00Z' }),
      pr(149, { merged_at: '2027-06-30T09:30:00Z', updated_at: '2027-06-30T09:30:00Z' }),
    ];
    const scope = nock(API)
      .get(REPO)
      .reply(200, { default_branch: 'trunk' })
      .get(`${REPO}/pulls`)
      .query({ state: 'closed', sort: 'updated', direction: 'desc', per_page: '100' })
      .reply(200, page1, {
        link: `<${API}${REPO}/pulls?state=closed&sort=updated&direction=desc&per_page=100&page=2>; rel="next"`,
      })
      .get(`${REPO}/pulls`)
      .query({ state: 'closed', sort: 'updated', direction: 'desc', per_page: '100', page: '2' })
      .reply(200, page2, {
        link: `<${API}${REPO}/pulls?state=closed&sort=updated&direction=desc&per_page=100&page=3>; rel="next"`,
      })
      .get(`${REPO}/pulls`)
      .query((q) => q.state === 'open')
      .reply(200, [])
      .get(`${REPO}/issues`)
      .query(true)
      .reply(200, []);
    quietRepo(scope, 'trunk');

    const activity = await collectRepoActivity(new Octokit(), 'acme/rocket', window, { maxItems: 500 });
    expect(activity.defaultBranch).toBe('trunk');
    expect(activity.merged).toHaveLength(101);
    expect(activity.merged.map((m) => m.number)).not.toContain(149);
    expect(activity.contributors).toContain('dev150');
    // Page 3 was never asked for: page 2 already reached before the window.
    expect(scope.isDone()).toBe(true);
  });

  it('lists open non-draft pull requests waiting for review with their age, and issues opened and closed', async () => {
    const scope = nock(API)
      .get(REPO)
      .reply(200, { default_branch: 'main' })
      .get(`${REPO}/pulls`)
      .query((q) => q.state === 'closed')
      .reply(200, [])
      .get(`${REPO}/pulls`)
      .query((q) => q.state === 'open')
      .reply(200, [
        pr(7, {
          created_at: '2027-06-29T09:00:00Z',
          requested_reviewers: [{ login: 'carol' }],
          requested_teams: [{ slug: 'core' }],
        }),
        pr(8, { draft: true }),
      ])
      .get(`${REPO}/issues`)
      .query((q) => q.since === '2027-07-01T09:00:00.000Z' && q.state === 'all')
      .reply(200, [
        {
          number: 20,
          title: 'New bug',
          state: 'open',
          user: { login: 'eve' },
          html_url: 'u20',
          created_at: '2027-07-01T10:00:00Z',
          closed_at: null,
        },
        {
          number: 21,
          title: 'Old bug fixed',
          state: 'closed',
          user: { login: 'fay' },
          html_url: 'u21',
          created_at: '2027-05-01T10:00:00Z',
          closed_at: '2027-07-01T11:00:00Z',
        },
        {
          number: 22,
          title: 'A PR',
          state: 'open',
          user: { login: 'gus' },
          html_url: 'u22',
          created_at: '2027-07-01T10:00:00Z',
          pull_request: {},
        },
      ])
      .get(`${REPO}/commits/main/check-runs`)
      .query(true)
      .reply(200, {
        total_count: 2,
        check_runs: [
          { name: 'build', conclusion: 'failure', html_url: 'https://ci/1' },
          { name: 'lint', conclusion: 'success', html_url: 'https://ci/2' },
        ],
      })
      .get(`${REPO}/commits/main/status`)
      .reply(200, {
        state: 'failure',
        statuses: [{ context: 'legacy-ci', state: 'error', target_url: 'https://ci/3' }],
      })
      .get(`${REPO}/commits`)
      .query(
        (q) =>
          q.sha === 'main' &&
          q.since === '2027-07-01T09:00:00.000Z' &&
          q.until === '2027-07-02T09:00:00.000Z',
      )
      .reply(200, [
        { author: { login: 'hal' }, commit: { author: { name: 'Hal' } } },
        { author: null, commit: { author: { name: 'Ivy' } } },
      ]);

    const activity = await collectRepoActivity(new Octokit(), 'acme/rocket', window);
    expect(activity.waitingForReview).toEqual([
      expect.objectContaining({ number: 7, ageHours: 72, reviewers: ['carol', 'team:core'] }),
    ]);
    expect(activity.openedIssues.map((i) => i.number)).toEqual([20]);
    expect(activity.closedIssues.map((i) => i.number)).toEqual([21]);
    expect(activity.failingChecks.map((c) => `${c.name}:${c.conclusion}`)).toEqual([
      'build:failure',
      'legacy-ci:error',
    ]);
    expect(activity.contributors).toEqual(['hal', 'Ivy']);
    expect(scope.isDone()).toBe(true);
  });

  it('reports a repository it cannot read in the digest instead of failing the whole digest', async () => {
    nock(API).get('/repos/acme/secret').reply(404, { message: 'Not Found' });
    const [activity] = await collectActivity(() => new Octokit(), ['acme/secret'], window);
    expect(activity?.error).toMatch(
      /cannot read acme\/secret \(HTTP 404 \(Not Found\)\): is the GitHub App installed there\?/,
    );
  });

  it('throws a retryable error when GitHub is down, so the digest is retried later', async () => {
    nock(API).get(REPO).reply(502, { message: 'Bad Gateway' });
    const error = await collectRepoActivity(new Octokit(), 'acme/rocket', window).catch((e: unknown) => e);
    expect(isDeckhandError(error, 'UPSTREAM_FAILED') && error.retryable).toBe(true);
  });

  it('refuses something that is not owner/name', async () => {
    await expect(collectRepoActivity(new Octokit(), 'not a repo', window)).rejects.toThrow(
      /write it as owner\/name/,
    );
  });

  it('reads as the GitHub App installation on the repository owner', async () => {
    const { privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const scope = nock(API)
      .get(`${REPO}/installation`)
      .reply(200, { id: 4242 })
      .post('/app/installations/4242/access_tokens')
      .reply(201, { token: 'ghs_digestInstallationToken000000000000', expires_at: '2099-01-01T00:00:00Z' })
      .get(REPO)
      .matchHeader('authorization', 'token ghs_digestInstallationToken000000000000')
      .reply(200, { default_branch: 'main' })
      .get('/repos/acme/other/installation')
      .reply(200, { id: 4242 });
    // The digest's client is the one `deckhand start` makes: the GitHub access, per installation.
    const octokitFor = githubOctokitFor(createGitHubAccess({ appId: 1, privateKey }));
    const octokit = await octokitFor('acme/rocket');
    const { data } = await octokit.request('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'rocket' });
    expect(data.default_branch).toBe('main');
    // Another repository of the same installation: the same client, and no new installation token.
    expect(await octokitFor('acme/other')).toBe(octokit);
    expect(scope.isDone()).toBe(true);
  });
});
