/**
 * Shared by the GitHub pull request tests: a bare repository as the real git remote, example webhook
 * payloads edited for a mention, and a signed POST to the webhook route. GitHub's API on loopback is
 * githubStandIn in test/support/platforms/.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signGitHubPayload } from '../../src/github/index.js';

const examples = JSON.parse(
  readFileSync(
    createRequire(import.meta.url).resolve('@octokit/webhooks-examples/api.github.com/index.json'),
    'utf8',
  ),
) as { name: string; examples: Record<string, unknown>[] }[];

/** A copy of the first @octokit/webhooks-examples payload of `name` with `action`. */
export function examplePayload(name: string, action: string): Record<string, unknown> {
  const found = examples.find((e) => e.name === name)?.examples.find((p) => p.action === action);
  if (!found) throw new Error(`no ${name}.${action} example`);
  return structuredClone(found);
}

export function git(args: string[], cwd?: string): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      HOME: tmpdir(),
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
    },
  });
}

/** `<root>/<owner>/<repo>.git`, a bare repository whose `main` holds `files`. */
export function bareRemote(root: string, fullName: string, files: Record<string, string>): string {
  const bare = join(root, `${fullName}.git`);
  mkdirSync(bare, { recursive: true });
  git(['init', '--quiet', '--bare', '--initial-branch=main', bare]);
  const seed = mkdtempSync(join(tmpdir(), 'deckhand-seed-'));
  git(['init', '--quiet', '--initial-branch=main', seed]);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(seed, path, '..'), { recursive: true });
    writeFileSync(join(seed, path), content);
  }
  git(['add', '--all'], seed);
  git(
    [
      '-c',
      'user.name=Octo Cat',
      '-c',
      'user.email=octocat@example.com',
      'commit',
      '--quiet',
      '-m',
      'Initial',
    ],
    seed,
  );
  git(['push', '--quiet', bare, 'HEAD:refs/heads/main'], seed);
  return bare;
}

export function signedWebhook(
  base: string,
  secret: string,
  name: string,
  payload: unknown,
  deliveryId: string,
): Promise<Response> {
  const body = JSON.stringify(payload);
  return fetch(`${base}/github/webhooks`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': name,
      'x-github-delivery': deliveryId,
      'x-hub-signature-256': signGitHubPayload(secret, body),
    },
    body,
  });
}
