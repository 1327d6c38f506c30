/**
 * "@deckhand fix this" on real repositories, end to end: the real server, store, worker, Docker
 * sandbox, egress proxy and a local bare remote, with a scripted OpenAI-compatible model server on
 * loopback replaying tool calls (a stand-in for the model only). A Node repository and a Python
 * repository each have a failing test that needs a dependency only the registry stand-ins (containers
 * on a network this test creates) serve: the setup step installs it through the proxy, the agent views
 * and fixes the line, the tests pass with no network, and the pull request says so. A repository
 * whose `.deckhand.yml` setup probes the proxy shows its refusals (and its tests only loopback). A
 * question gets an answer and no branch. Traffic goes only to loopback and to the containers and
 * networks this test made: refused addresses are only ever named in requests to the proxy.
 */
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agents/index.js';
import type { TaskRecord } from '../../src/store/index.js';
import { ModelServer } from '../agents/model-server.js';
import { makeAgent, openai, testConfig } from '../agents/support.js';
import { ensureSandboxImage, testDocker } from '../runners/helpers.js';
import {
  createTestNetwork,
  NPM_STAND_IN_HOST,
  PYPI_STAND_IN_HOST,
  type RegistryStandIns,
  startRegistryStandIns,
} from '../support/registry-stand-ins.js';
import { type GitHubHarness, REPO, startGitHubHarness } from './harness.js';
import { bareRemote, git } from './support.js';

const FIXTURES = join(import.meta.dirname, '../fixtures/repos');

let harness: GitHubHarness;
let server: ModelServer;
let agent: Agent;
let network: { name: string; remove(): Promise<void> };
let registries: RegistryStandIns;
let bare: string;

beforeAll(async () => {
  server = await new ModelServer().start();
  ensureSandboxImage();
  network = await createTestNetwork(testDocker(), 'deckhand-e2e-registries');
  registries = await startRegistryStandIns(testDocker(), { network: network.name });
  // The proxy may reach the stand-ins only, over the network this test made.
  harness = await startGitHubHarness({
    agent: () => agent.workspaceAgent,
    egress: { allow: [NPM_STAND_IN_HOST, PYPI_STAND_IN_HOST], outboundNetwork: network.name },
  });
  agent = await makeAgent(testConfig({ default: 'openai:gpt-4.1' }), {
    store: harness.store,
    access: harness.access,
    baseURLs: { openai: `${server.url}/v1` },
  });
}, 600_000);

afterAll(async () => {
  await agent?.close();
  await harness?.close();
  await registries?.stop();
  await network?.remove();
  await server?.close();
});

/** A fixture folder as files for bareRemote. */
function filesOf(dir: string, root = dir): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) Object.assign(files, filesOf(path, root));
    else files[relative(root, path)] = readFileSync(path, 'utf8');
  }
  return files;
}

/** REPO's remote holding `files` on main (a fresh one for each repository). */
function remoteWith(files: Record<string, string>): void {
  rmSync(join(harness.remotes, `${REPO}.git`), { recursive: true, force: true });
  bare = bareRemote(harness.remotes, REPO, files);
}

function resultOf(task: TaskRecord): Record<string, unknown> {
  const result = task.result as { github?: Record<string, unknown> } | null;
  if (!result?.github) throw new Error(`task ${task.status}: ${JSON.stringify(task.lastError ?? result)}`);
  return result.github;
}

/** The mention `body` on issue `number`, by Codertocat (who may write), with the GitHub routes it needs. */
async function mention(body: string, number: number, title: string) {
  const calls = harness.githubApi();
  harness.permission('Codertocat', 'write');
  harness.repository();
  harness.conversation(number, { title, body: 'The total is wrong: add(2, 3) gives -1.' });
  harness.api.route('GET', `/repos/${REPO}/pulls`, 200, []);
  const pulls: Record<string, unknown>[] = [];
  harness.api.route('POST', `/repos/${REPO}/pulls`, 201, (req) => {
    pulls.push(req.body);
    return {
      number: number + 1,
      html_url: `https://github.com/${REPO}/pull/${number + 1}`,
      head: { ref: req.body.head },
      base: { ref: 'main' },
    };
  });
  const payload = harness.issueComment(body);
  payload.issue.number = number;
  payload.issue.title = title;
  const task = await harness.finished((await harness.deliver('issue_comment', payload)).task, 300_000);
  return { task, calls, pulls };
}

/** What the model saw as tool results, in order (the last request carries them all). */
function toolResults(): string[] {
  const messages = (server.requests.at(-1)?.body.messages ?? []) as { role: string; content?: unknown }[];
  return messages.filter((m) => m.role === 'tool').map((m) => String(m.content));
}

describe('a change on a real repository', () => {
  it('Node: installs the npm dependency through the proxy, fixes the line, and the pull request shows the tests passing', async () => {
    remoteWith(filesOf(join(FIXTURES, 'node-dep')));
    server.requests.length = 0;
    server.reply(
      openai.callTool('c1', 'view', { path: 'src/total.js' }),
      openai.callTool('c2', 'str_replace', {
        path: 'src/total.js',
        old: 'return a - b;',
        new: 'return a + b;',
      }),
      openai.callTool('c3', 'run', { command: 'npm test 2>&1 | tail -8' }),
      openai.callTool('c4', 'finish', { outcome: 'change', text: '`add` subtracted; it adds now.' }),
    );
    const { task, calls, pulls } = await mention('@deckhand fix the total', 31, 'Total is wrong');
    expect(resultOf(task)).toMatchObject({ outcome: 'pull_request', number: 32 });

    // The install went through the stand-in, by way of the proxy (the sandbox has no other way out).
    expect((await registries.npm.requests()).map((r) => r.path)).toContain(
      '/deckhand-left-pad/-/deckhand-left-pad-1.0.0.tgz',
    );
    const seen = toolResults();
    expect(seen[0]).toContain('return a - b;');
    expect(seen[1]).toContain('Replaced 1 occurrence in src/total.js');
    expect(seen[2]).toContain('# fail 0');
    const body = String(pulls[0]?.body);
    expect(body).toContain("**Tests** (`npm test` in Deckhand's sandbox, no network): ✅ passed");
    expect(body).toContain('`add` subtracted; it adds now.');
    expect(calls.edits.at(-1)).toMatch(
      /- \[x\] Install dependencies \(`npm ci`\) through the registry proxy/,
    );
    // Only the fix is committed: nothing the install left (node_modules/) is part of the change.
    const branch = String(resultOf(task).branch);
    expect(git(['--git-dir', bare, 'diff', '--name-only', 'main', branch]).trim()).toBe('src/total.js');
  }, 600_000);

  it('Python: installs the wheel from the PyPI stand-in through the proxy, and pytest passes after the fix', async () => {
    const files = filesOf(join(FIXTURES, 'python-dep'));
    remoteWith(files);
    server.requests.length = 0;
    server.reply(
      openai.callTool('p1', 'search', { pattern: 'return a - b' }),
      openai.callTool('p2', 'str_replace', { path: 'calc.py', old: 'return a - b', new: 'return a + b' }),
      openai.callTool('p3', 'finish', { outcome: 'change', text: 'Fixed `add` in calc.py.' }),
    );
    const { task, pulls } = await mention('@deckhand fix the total', 41, 'Total is wrong');
    expect(resultOf(task)).toMatchObject({ outcome: 'pull_request', number: 42 });
    const paths = (await registries.pypi.requests()).map((r) => r.path);
    expect(paths.some((p) => p.startsWith('/simple/deckhand-left-pad'))).toBe(true);
    expect(toolResults()[0]).toContain('calc.py:');
    const body = String(pulls[0]?.body);
    expect(body).toMatch(/\*\*Tests\*\* \(`[^`]*pytest[^`]*` in Deckhand's sandbox, no network\): ✅ passed/);
    const branch = String(resultOf(task).branch);
    expect(git(['--git-dir', bare, 'diff', '--name-only', 'main', branch]).trim()).toBe('calc.py');
  }, 600_000);
});

/** A `.deckhand.yml` whose setup asks the proxy for three refused addresses, and whose tests list the interfaces. */
const PROBING_SETTINGS = [
  'setup: |',
  "  python3 - <<'PY'",
  '  import urllib.error, urllib.request',
  "  for url in ['http://registry.elsewhere.test/', 'http://10.1.2.3/', 'http://169.254.169.254/latest/meta-data/']:",
  '      try:',
  '          urllib.request.urlopen(url, timeout=10)',
  "          print('reached', url)",
  '      except urllib.error.HTTPError as e:',
  "          print('refused', url, e.code, e.headers.get('Server'))",
  '  PY',
  '  exit 1',
  'test: ls /sys/class/net',
  '',
].join('\n');

describe('the network of the setup and test steps', () => {
  it('the proxy refuses other hosts, a private and the metadata address in the setup step; the tests see only loopback', async () => {
    remoteWith({ '.deckhand.yml': PROBING_SETTINGS, 'README.md': '# Probe\n' });
    server.requests.length = 0;
    server.reply(
      openai.callTool('n1', 'create_file', { path: 'NOTE.md', content: 'noted\n' }),
      openai.callTool('n2', 'finish', { outcome: 'change', text: 'Added NOTE.md.' }),
    );
    const { task, calls, pulls } = await mention('@deckhand add a note', 61, 'Add a note');
    expect(resultOf(task)).toMatchObject({ outcome: 'pull_request', number: 62 });
    const shown = calls.edits.at(-1) ?? '';
    expect(shown).toContain('**Installing dependencies failed (exit 1)**; I went on without them');
    for (const url of [
      'http://registry.elsewhere.test/',
      'http://10.1.2.3/',
      'http://169.254.169.254/latest/meta-data/',
    ]) {
      expect(shown).toMatch(new RegExp(`refused ${url.replaceAll('.', '\\.')} 403 tinyproxy/`));
    }
    expect(shown).not.toContain('reached');
    const body = String(pulls[0]?.body);
    expect(body).toContain("**Tests** (`ls /sys/class/net` in Deckhand's sandbox, no network): ✅ passed");
    expect(body).toMatch(/<summary>Output<\/summary>\n\n`{3,}\nlo\n`{3,}/);
  }, 600_000);
});

describe('a question on a real repository', () => {
  it('is answered in the tracking comment with the line linked, and no branch is made', async () => {
    remoteWith(filesOf(join(FIXTURES, 'node-dep')));
    server.requests.length = 0;
    server.reply(
      openai.callTool('q1', 'view', { path: 'src/total.js' }),
      openai.callTool('q2', 'finish', {
        outcome: 'answer',
        text: 'Because `add` subtracts: see `src/total.js:5`.',
      }),
    );
    const before = git(['--git-dir', bare, 'for-each-ref', '--format=%(refname)']);
    const { task, calls, pulls } = await mention('@deckhand why is the total wrong?', 51, 'Total is wrong');
    expect(task.status).toBe('succeeded');
    const shown = calls.edits.at(-1) ?? '';
    expect(shown).toContain('Because `add` subtracts: see [`src/total.js:5`](');
    expect(shown).toContain('/src/total.js#L5)');
    expect(pulls).toEqual([]);
    expect(git(['--git-dir', bare, 'for-each-ref', '--format=%(refname)'])).toBe(before);
    // The model got the issue and the request, set apart.
    const prompt = JSON.stringify(server.requests[0]?.body.messages);
    expect(prompt).toContain('> The total is wrong: add(2, 3) gives -1.');
    expect(prompt).toContain('why is the total wrong?');
  }, 600_000);
});
