import { generateKeyPairSync } from 'node:crypto';
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { isDeckhandError, loadConfig } from '../../src/core/index.js';
import { createGitHubAccess, githubAccessFromConfig } from '../../src/github/index.js';
import { useNockForThirdPartyApis } from '../support/nock.js';

const API = 'https://api.github.com';
const { privateKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});
const minutes = (n: number) => new Date(Date.now() + n * 60_000).toISOString();

useNockForThirdPartyApis();

describe('GitHub access', () => {
  it('uses a personal token for the API and for git when there is no App', async () => {
    const token = 'ghp_personalTokenForTests0123456789';
    const access = githubAccessFromConfig(loadConfig({ GITHUB_TOKEN: token }));
    expect(access?.mode).toBe('token');
    const scope = nock(API, { reqheaders: { authorization: `token ${token}` } })
      .get('/repos/acme/widgets')
      .reply(200, { default_branch: 'main' });
    const octokit = await access!.octokit('none');
    expect(
      (await octokit.request('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'widgets' })).data,
    ).toEqual({
      default_branch: 'main',
    });
    expect(await access!.gitToken('none')).toBe(token);
    expect(scope.isDone()).toBe(true);
    expect(githubAccessFromConfig(loadConfig({}))).toBeUndefined();
  });

  it('prefers the App, caches its installation token, and renews it for git before it expires', async () => {
    const access = githubAccessFromConfig(
      loadConfig({ GITHUB_APP_ID: '123', GITHUB_PRIVATE_KEY: privateKey, GITHUB_TOKEN: 'ghp_unused_000000' }),
    );
    expect(access?.mode).toBe('app');
    const issued: string[] = [];
    const tokens = nock(API)
      .post('/app/installations/77/access_tokens')
      .reply(201, () => {
        issued.push('ghs_soon');
        return { token: 'ghs_soonToExpire000000000000', expires_at: minutes(5) };
      })
      .post('/app/installations/77/access_tokens')
      .reply(201, () => {
        issued.push('ghs_fresh');
        return { token: 'ghs_freshToken00000000000000', expires_at: minutes(60) };
      });
    const api = nock(API, { reqheaders: { authorization: 'token ghs_freshToken00000000000000' } })
      .get('/repos/acme/widgets')
      .twice()
      .reply(200, {});
    // Five minutes left is too little for a clone or push: a new token is made.
    expect(await access!.gitToken('77')).toBe('ghs_freshToken00000000000000');
    expect(await access!.gitToken('77')).toBe('ghs_freshToken00000000000000');
    const octokit = await access!.octokit('77');
    await octokit.request('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'widgets' });
    await (await access!.octokit('77')).request('GET /repos/{owner}/{repo}', {
      owner: 'acme',
      repo: 'widgets',
    });
    expect(issued).toEqual(['ghs_soon', 'ghs_fresh']);
    expect(tokens.isDone()).toBe(true);
    expect(api.isDone()).toBe(true);
  });

  it('waits out a secondary rate limit and retries a server error', async () => {
    const access = createGitHubAccess({
      token: 'ghp_limitsTokenForTests000000',
      // Seconds become milliseconds here, so the test does not sleep.
      throttle: { retryAfterBaseValue: 1 },
      retry: { retryAfterBaseValue: 1 },
    });
    const scope = nock(API)
      .post('/repos/acme/widgets/issues/1/comments')
      .reply(
        403,
        {
          message:
            'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
        },
        { 'retry-after': '2' },
      )
      .post('/repos/acme/widgets/issues/1/comments')
      .reply(502, { message: 'Bad Gateway' })
      .post('/repos/acme/widgets/issues/1/comments', { body: 'hi' })
      .reply(201, { id: 5 });
    const octokit = await access.octokit('none');
    const { data } = await octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', {
      owner: 'acme',
      repo: 'widgets',
      issue_number: 1,
      body: 'hi',
    });
    expect(data).toEqual({ id: 5 });
    expect(scope.isDone()).toBe(true);
  });

  it('finds the App installation for a repository, for work that does not start from a webhook', async () => {
    const access = createGitHubAccess({ appId: 1, privateKey });
    const scope = nock(API, { reqheaders: { authorization: /^bearer / } })
      .get('/repos/acme/widgets/installation')
      .reply(200, { id: 99, account: { login: 'acme' } })
      .get('/repos/acme/secret/installation')
      .reply(404, { message: 'Not Found' });
    expect(await access.installationIdFor('acme', 'widgets')).toBe('99');
    const missing = await access.installationIdFor('acme', 'secret').catch((e: unknown) => e);
    expect(isDeckhandError(missing, 'NOT_CONFIGURED')).toBe(true);
    expect((missing as Error).message).toContain('The GitHub App is not installed on acme/secret.');
    expect(scope.isDone()).toBe(true);
    expect(await createGitHubAccess({ token: 'ghp_x00000000000000' }).installationIdFor('a', 'b')).toBe(
      'none',
    );
  });

  it('says what to do when an App event names no installation, or nothing is configured', async () => {
    const access = createGitHubAccess({ appId: 1, privateKey });
    const error = await access.octokit('none').catch((e: unknown) => e);
    expect(isDeckhandError(error, 'NOT_CONFIGURED')).toBe(true);
    expect((error as Error).message).toContain('Install the GitHub App on the repository');
    expect(() => createGitHubAccess({})).toThrow(/GITHUB_APP_ID and GITHUB_PRIVATE_KEY .* or GITHUB_TOKEN/);
  });
});
