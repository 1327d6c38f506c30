/**
 * The host's git steps against a real remote over HTTP on loopback: git's own http-backend behind a
 * tiny server that demands the installation token, as GitHub does.
 */
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDeckhandError } from '../../src/core/index.js';
import {
  changedPaths,
  cloneBranch,
  commitAll,
  createWorkspace,
  pushBranch,
  type Remote,
  remoteBranches,
  removeWorkspace,
} from '../../src/github/git.js';
import { bareRemote, git } from './support.js';

const TOKEN = 'ghs_gitHttpTokenForTests0123456789';
const BASIC = `Basic ${Buffer.from(`x-access-token:${TOKEN}`).toString('base64')}`;
let root: string;
let server: Server;
let url: string;
let bare: string;
const seenAuth: (string | undefined)[] = [];

/** git http-backend as CGI, behind basic auth with the token. */
function gitHttpServer(projectRoot: string): Server {
  return createServer((req, res) => {
    seenAuth.push(req.headers.authorization);
    if (req.headers.authorization !== BASIC) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="GitHub"' });
      res.end('Unauthorized');
      return;
    }
    const target = new URL(req.url ?? '/', 'http://git');
    const cgi = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH,
        GIT_PROJECT_ROOT: projectRoot,
        GIT_HTTP_EXPORT_ALL: '1',
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
        PATH_INFO: target.pathname,
        QUERY_STRING: target.search.slice(1),
        REQUEST_METHOD: req.method ?? 'GET',
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        HTTP_CONTENT_ENCODING: String(req.headers['content-encoding'] ?? ''),
        HTTP_GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
        REMOTE_USER: 'x-access-token',
        REMOTE_ADDR: '127.0.0.1',
      },
    });
    req.pipe(cgi.stdin);
    const chunks: Buffer[] = [];
    cgi.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    cgi.on('close', () => {
      const output = Buffer.concat(chunks);
      const end = output.indexOf('\r\n\r\n');
      const head = output.subarray(0, end).toString('utf8');
      const headers: Record<string, string> = {};
      let status = 200;
      for (const line of head.split('\r\n')) {
        const [key = '', ...rest] = line.split(':');
        const value = rest.join(':').trim();
        if (key.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else headers[key] = value;
      }
      res.writeHead(status, headers);
      res.end(output.subarray(end + 4));
    });
  });
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'deckhand-git-http-'));
  bare = bareRemote(root, 'acme/widgets', { 'README.md': 'hello teh world\n' });
  git(['--git-dir', bare, 'config', 'http.receivepack', 'true']);
  server = gitHttpServer(root);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/acme/widgets.git`;
});
afterAll(async () => {
  await new Promise((r) => server?.close(r));
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('git on the host', () => {
  it('clones with the token, commits as the bot and pushes a branch, leaving the token nowhere on disk', async () => {
    const remote: Remote = { url, token: TOKEN };
    const ws = await createWorkspace(root);
    try {
      expect(await remoteBranches(remote, 'deckhand/9-')).toEqual([]);
      await cloneBranch(ws, remote, 'main');
      // The checkout has no git metadata at all; the repository lives beside it.
      expect(existsSync(join(ws.workDir, '.git'))).toBe(false);
      expect(readFileSync(join(ws.workDir, 'README.md'), 'utf8')).toBe('hello teh world\n');
      writeFileSync(join(ws.workDir, 'README.md'), 'hello the world\n');
      writeFileSync(join(ws.workDir, 'NOTES.md'), 'new\n');
      expect((await changedPaths(ws)).sort()).toEqual(['NOTES.md', 'README.md']);
      const sha = await commitAll(ws, { name: 'deckhand[bot]', email: 'bot@example.com' }, 'Fix the typo');
      await pushBranch(ws, remote, 'deckhand/9-fix-the-typo');

      expect(git(['--git-dir', bare, 'rev-parse', 'deckhand/9-fix-the-typo']).trim()).toBe(sha);
      expect(git(['--git-dir', bare, 'log', '-1', '--format=%an <%ae>|%s', sha]).trim()).toBe(
        'deckhand[bot] <bot@example.com>|Fix the typo',
      );
      expect(await remoteBranches(remote, 'deckhand/9-')).toEqual(['deckhand/9-fix-the-typo']);
      // Every request that got through carried the token; none of it was written down.
      expect(seenAuth.filter((auth) => auth === BASIC).length).toBeGreaterThanOrEqual(4);
      const config = readFileSync(join(ws.gitDir, 'config'), 'utf8');
      expect(config).not.toContain(TOKEN);
      expect(config).not.toMatch(/extraheader|x-access-token/i);
      const files = readdirSync(ws.gitDir, { recursive: true, withFileTypes: true }).filter((e) =>
        e.isFile(),
      );
      for (const file of files) {
        expect(readFileSync(join(file.parentPath, file.name)).includes(TOKEN)).toBe(false);
      }
    } finally {
      await removeWorkspace(ws);
    }
    expect(existsSync(ws.root)).toBe(false);
  });

  it('says in plain words when the remote refuses, without the token in the message', async () => {
    const ws = await createWorkspace(root);
    try {
      const refused = await cloneBranch(ws, { url, token: 'ghs_wrongToken000000000000' }, 'main').catch(
        (e: unknown) => e,
      );
      expect(isDeckhandError(refused, 'UPSTREAM_FAILED')).toBe(true);
      expect((refused as Error).message).toMatch(/^git could not clone main: /);
      expect((refused as Error).message).not.toContain('ghs_wrongToken');
    } finally {
      await removeWorkspace(ws);
    }
  });

  it('never runs hooks or an fsmonitor the sandbox planted in the checkout', async () => {
    const ws = await createWorkspace(root);
    const marker = join(root, 'planted-ran');
    try {
      await cloneBranch(ws, { url, token: TOKEN }, 'main');
      // What untrusted code could write into the mounted checkout.
      mkdirSync(join(ws.workDir, '.git', 'hooks'), { recursive: true });
      writeFileSync(join(ws.workDir, '.git', 'config'), `[core]\n\tfsmonitor = touch ${marker}\n`);
      writeFileSync(join(ws.workDir, '.git', 'hooks', 'pre-commit'), `#!/bin/sh\ntouch ${marker}\n`, {
        mode: 0o755,
      });
      writeFileSync(join(ws.workDir, 'README.md'), 'changed\n');
      const sha = await commitAll(ws, { name: 'deckhand[bot]', email: 'bot@example.com' }, 'Change');
      expect(existsSync(marker)).toBe(false);
      expect(git(['--git-dir', ws.gitDir, 'show', '--name-only', '--format=', sha]).trim()).toBe('README.md');
    } finally {
      await removeWorkspace(ws);
    }
  });
});
