import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nock from 'nock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDeckhandError, loadConfig } from '../../src/core/index.js';
import { createGitHubAccess, createGitHubToolPort } from '../../src/github/index.js';
import { useNockForThirdPartyApis } from '../support/nock.js';
import { bareRemote, git } from './support.js';

const API = 'https://api.github.com';
const TOKEN = 'ghp_toolPortTokenForTests00000000';
let remotes: string;
let bare: string;
let port: ReturnType<typeof createGitHubToolPort>;

useNockForThirdPartyApis();

beforeAll(() => {
  remotes = mkdtempSync(join(tmpdir(), 'deckhand-tool-remotes-'));
  bare = bareRemote(remotes, 'acme/widgets', { 'README.md': 'hello\n', 'old.txt': 'bye\n' });
  const settings = { ...loadConfig({}).github, cloneBaseUrl: `file://${remotes}` };
  port = createGitHubToolPort({
    access: createGitHubAccess({ token: TOKEN, throttle: { enabled: false }, retry: { enabled: false } }),
    settings,
  });
});
afterAll(() => {
  if (remotes) rmSync(remotes, { recursive: true, force: true });
});

const slackUser = { platform: 'slack', workspaceId: 'T1', userId: 'U1', userName: 'alice' };

describe("the agent's repository tools over GitHub", () => {
  it('reads a file at the default branch, lists a folder and searches code', async () => {
    nock(API)
      .get('/repos/acme/widgets')
      .reply(200, { default_branch: 'main' })
      .get('/repos/acme/widgets/contents/src%2Fapp.ts')
      .query({ ref: 'main' })
      .reply(200, {
        type: 'file',
        encoding: 'base64',
        content: Buffer.from('export {};\n').toString('base64'),
      })
      .get('/repos/acme/widgets/contents/src')
      .reply(200, [
        { path: 'src/app.ts', type: 'file' },
        { path: 'src/lib', type: 'dir' },
      ])
      .get('/search/code')
      .query({ q: 'createApp repo:acme/widgets', per_page: '20' })
      .reply(200, { items: [{ path: 'src/app.ts', text_matches: [{ fragment: 'createApp()' }] }] });
    expect(await port.readFile('acme/widgets', 'src/app.ts')).toEqual({
      content: 'export {};\n',
      ref: 'main',
    });
    expect(await port.listFiles('acme/widgets', 'src/')).toEqual([
      { path: 'src/app.ts', type: 'file' },
      { path: 'src/lib', type: 'dir' },
    ]);
    expect(await port.searchCode('acme/widgets', 'createApp')).toEqual([
      { path: 'src/app.ts', snippet: 'createApp()' },
    ]);
  });

  it('refuses paths outside the repository and names what was not found', async () => {
    nock(API).get('/repos/acme/widgets').reply(200, { default_branch: 'main' });
    const outside = await port.readFile('acme/widgets', '../../etc/passwd').catch((e: unknown) => e);
    expect(isDeckhandError(outside, 'BAD_REQUEST')).toBe(true);
    nock(API).get('/repos/acme/widgets/contents/nope').reply(404, { message: 'Not Found' });
    const missing = await port.listFiles('acme/widgets', 'nope').catch((e: unknown) => e);
    expect(isDeckhandError(missing, 'NOT_FOUND')).toBe(true);
    expect(await port.readFile('not a repo', 'x').catch((e: unknown) => (e as Error).message)).toContain(
      'write it as owner/name',
    );
  });

  it("asks GitHub for a login's role on the repository, and answers none for a login GitHub does not know there", async () => {
    nock(API)
      .get('/repos/acme/widgets/collaborators/octocat/permission')
      .reply(200, { permission: 'write', role_name: 'maintain' })
      .get('/repos/acme/widgets/collaborators/stranger/permission')
      .reply(404, { message: 'Not Found' })
      .get('/repos/acme/widgets/collaborators/odd/permission')
      .reply(200, { permission: 'custom-thing' });
    // The login a Slack user linked is asked about like any other: the port does not care where the asker came from.
    expect(await port.permissionOf('acme/widgets', 'octocat')).toBe('maintain');
    expect(await port.permissionOf('acme/widgets', 'stranger')).toBe('none');
    expect(await port.permissionOf('acme/widgets', 'odd')).toBe('none');
    expect(nock.isDone()).toBe(true);
  });

  it('opens a pull request from file changes: branch pushed as the bot, one PR', async () => {
    const bodies: Record<string, unknown>[] = [];
    nock(API)
      .get('/repos/acme/widgets')
      .reply(200, { default_branch: 'main' })
      .get('/repos/acme/widgets/pulls')
      .query(true)
      .reply(200, [])
      .post('/repos/acme/widgets/pulls', (body) => bodies.push(body) > 0)
      .reply(201, {
        number: 3,
        html_url: 'https://github.com/acme/widgets/pull/3',
        head: { ref: 'docs/hello' },
        base: { ref: 'main' },
      });
    const pr = await port.openPullRequest({
      repo: 'acme/widgets',
      title: 'Say hello properly',
      body: 'As discussed.',
      branch: 'docs/hello',
      changes: [
        { path: 'README.md', content: 'Hello, world!\n' },
        { path: 'docs/new.md', content: '# New\n' },
        { path: 'old.txt', content: null },
      ],
      actor: slackUser,
    });
    expect(pr).toEqual({ url: 'https://github.com/acme/widgets/pull/3', number: 3 });
    expect(git(['--git-dir', bare, 'log', '-1', '--format=%an|%s', 'docs/hello']).trim()).toBe(
      'deckhand[bot]|Say hello properly',
    );
    expect(
      git(['--git-dir', bare, 'diff', '--name-status', 'main', 'docs/hello']).trim().split('\n'),
    ).toEqual(['M\tREADME.md', 'A\tdocs/new.md', 'D\told.txt']);
    expect(bodies[0]).toMatchObject({
      title: 'Say hello properly',
      head: 'docs/hello',
      base: 'main',
      body: 'As discussed.\n\nRequested by alice on slack, through Deckhand.',
    });

    // The same branch again is refused before anything is written.
    nock(API).get('/repos/acme/widgets').reply(200, { default_branch: 'main' });
    const again = await port
      .openPullRequest({
        repo: 'acme/widgets',
        title: 'x',
        body: '',
        branch: 'docs/hello',
        changes: [{ path: 'a', content: 'b' }],
        actor: slackUser,
      })
      .catch((e: unknown) => e);
    expect((again as Error).message).toContain('Branch docs/hello already exists in acme/widgets');
  });
});
