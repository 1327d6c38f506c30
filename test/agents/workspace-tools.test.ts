/**
 * The WorkspaceAgent's coding tools (view, str_replace, create_file, search, run) as their sandbox
 * programs, run by the real SandboxRunner over a host checkout copied in and written back: what the
 * model sees, and what lands in the checkout.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  STEPS_SHOWN,
  StepLog,
  sandboxProgramFor,
  stepLine,
  type WorkspaceToolName,
} from '../../src/agents/index.js';
import { MemorySink } from '../../src/core/index.js';
import type { RunResult, SandboxRunner } from '../../src/runners/index.js';
import type { Store } from '../../src/store/index.js';
import { ensureSandboxImage, leftovers, testDocker, testRunner } from '../runners/helpers.js';
import { dropTestStore, openTestStore } from '../support/store.js';
import { ModelServer } from './model-server.js';
import { accessWithGitHub, githubEvent, makeAgent, openai, taskIdForTest, testConfig } from './support.js';

let docker: Docker;
let runner: SandboxRunner;
let dir: string;
let store: Store;
let server: ModelServer;

beforeAll(async () => {
  store = await openTestStore();
  ensureSandboxImage();
  docker = testDocker();
  runner = testRunner(docker, { warmPool: 0 });
  await runner.start();
  server = await new ModelServer().start();
});

afterAll(async () => {
  await server?.close();
  await runner?.close();
  await dropTestStore(store);
  expect(await leftovers(docker)).toEqual([]);
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'deckhand-tools-'));
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'src', 'app.py'), 'def greet():\n    return "hello"\n\nprint(greet())\n');
  writeFileSync(join(dir, 'README.md'), 'hello\nhello\n');
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A tool call as the agent makes it: the tool's program in the sandbox over the checkout. */
async function tool(name: WorkspaceToolName, args: unknown): Promise<RunResult> {
  const program = sandboxProgramFor(name, args);
  return runner.run({ ...program, workspace: { dir, collect: true } });
}

const read = (path: string) => readFileSync(join(dir, path), 'utf8');

describe('workspace coding tools in the sandbox', () => {
  it('views a file with numbered lines and a folder as a sorted listing', async () => {
    const file = await tool('view', { path: 'src/app.py' });
    expect(file.exitCode).toBe(0);
    expect(file.stdout).toContain('     1\tdef greet():');
    expect(file.stdout).toContain('     4\tprint(greet())');
    const range = await tool('view', { path: 'src/app.py', startLine: 2, endLine: 2 });
    expect(range.stdout).toContain('     2\t    return "hello"');
    expect(range.stdout).not.toContain('def greet');
    expect(range.stdout).toContain('lines 2-2 of 4');
    writeFileSync(join(dir, 'long.txt'), Array.from({ length: 500 }, (_, i) => `line ${i + 1}`).join('\n'));
    const long = await tool('view', { path: 'long.txt' });
    expect(long.stdout).toContain('   400\tline 400');
    expect(long.stdout).not.toContain('line 401');
    expect(long.stdout).toContain('lines 1-400 of 500');
    const root = await tool('view', { path: '.' });
    expect(root.stdout.split('\n').slice(1, 4)).toEqual(['README.md', 'long.txt', 'src/']);
  });

  it('replaces text that occurs once and refuses 0 or 2 matches, leaving the file unchanged', async () => {
    const once = await tool('str_replace', { path: 'src/app.py', old: 'return "hello"', new: 'return "hi"' });
    expect(once.exitCode).toBe(0);
    expect(once.stdout).toContain('Replaced 1 occurrence in src/app.py at line 2');
    expect(read('src/app.py')).toBe('def greet():\n    return "hi"\n\nprint(greet())\n');

    const none = await tool('str_replace', { path: 'src/app.py', old: 'goodbye', new: 'x' });
    expect(none.exitCode).toBe(1);
    expect(none.stderr).toContain('occurs 0 times in src/app.py; nothing changed');
    const twice = await tool('str_replace', { path: 'README.md', old: 'hello', new: 'bye' });
    expect(twice.exitCode).toBe(1);
    expect(twice.stderr).toContain('occurs 2 times in README.md; nothing changed');
    expect(read('README.md')).toBe('hello\nhello\n');
    expect(read('src/app.py')).toBe('def greet():\n    return "hi"\n\nprint(greet())\n');
  });

  it('creates a file in new nested folders, with quotes and shell characters kept verbatim', async () => {
    const content = `it's "$(rm -rf /)" \`x\` ''' """\n`;
    const created = await tool('create_file', { path: 'pkg/deep/new.txt', content });
    expect(created.exitCode).toBe(0);
    expect(created.stdout).toContain('Created pkg/deep/new.txt');
    expect(read('pkg/deep/new.txt')).toBe(content);
  });

  it('finds lines as path:line:text, by fixed string or regex, and says when there is no match', async () => {
    const found = await tool('search', { pattern: 'greet()' });
    expect(found.exitCode).toBe(0);
    expect(found.stdout).toContain('src/app.py:1:def greet():');
    expect(found.stdout).toContain('src/app.py:4:print(greet())');
    const regex = await tool('search', { pattern: '^print\\(', regex: true, path: 'src' });
    expect(regex.stdout.trim()).toBe('src/app.py:4:print(greet())');
    const none = await tool('search', { pattern: 'nowhere-to-be-found' });
    expect(none).toMatchObject({ exitCode: 0 });
    expect(none.stdout).toContain('No matches');
  });

  it('refuses paths leaving the checkout: .., absolute, and a link pointing outside', async () => {
    const up = await tool('view', { path: '../../etc/passwd' });
    expect(up.exitCode).toBe(2);
    expect(up.stderr).toContain('leads outside the repository');
    expect(up.stdout).not.toContain('root:');
    const absolute = await tool('view', { path: '/etc/passwd' });
    expect(absolute.exitCode).toBe(2);
    expect(absolute.stderr).toContain('absolute path');
    symlinkSync('/etc', join(dir, 'etc-link'));
    const linked = await tool('view', { path: 'etc-link/passwd' });
    expect(linked.exitCode).toBe(2);
    expect(linked.stderr).toContain('link leading outside');
    const write = await tool('create_file', { path: '../escape.txt', content: 'x' });
    expect(write.exitCode).toBe(2);
  });

  it('runs a bash command in the checkout and prints its output', async () => {
    const run = await tool('run', { command: 'python3 src/app.py && pwd' });
    expect(run).toMatchObject({ exitCode: 0, stdout: 'hello\n/work\n' });
  });

  it('rejects arguments outside the schema before anything runs', () => {
    expect(() => sandboxProgramFor('view', { path: 'a', extra: 1 })).toThrow(/Invalid view call/);
    expect(() => sandboxProgramFor('str_replace', { path: 'a', old: '', new: 'b' })).toThrow();
  });
});

describe('the WorkspaceAgent with its coding tools', () => {
  it('offers them beside run_in_workspace and edits the checkout with what the model calls', async () => {
    const config = testConfig({ default: 'openai:gpt-4.1' });
    const agent = await makeAgent(config, {
      store,
      baseURLs: { openai: `${server.url}/v1` },
      access: accessWithGitHub(store, config, 'write'),
    });
    server.requests.length = 0;
    server.reply(
      openai.callTool('call_1', 'view', { path: 'src/app.py' }),
      openai.callTool('call_2', 'str_replace', { path: 'src/app.py', old: '"hello"', new: '"hi"' }),
      openai.callTool('call_3', 'view', { path: '../outside' }),
      openai.answer(['Greets with "hi" now.']),
    );
    const comment = new MemorySink();
    const result = await agent.workspaceAgent({
      workspaceDir: dir,
      instructions: 'say hi instead of hello',
      repo: 'octo/api',
      number: 3,
      event: githubEvent('octo/api', 3),
      taskId: taskIdForTest(),
      runInSandbox: (run) => runner.run({ ...run, workspace: { dir, collect: true } }),
      sink: comment,
      signal: new AbortController().signal,
    });

    expect(result).toEqual({ summary: 'Greets with "hi" now.' });
    expect(read('src/app.py')).toContain('return "hi"');
    const tools = server.requests[0]?.body.tools as Array<{ function: { name: string } }>;
    expect(tools.map((t) => t.function.name)).toEqual([
      'run_in_workspace',
      'view',
      'str_replace',
      'create_file',
      'search',
      'run',
      'finish',
    ]);
    // What the model saw after each call: the numbered file, the edit, the refusal.
    const seen = JSON.stringify(server.requests[3]?.body.messages);
    expect(seen).toContain('exit code: 0');
    expect(seen).toContain('1\\tdef greet():');
    expect(seen).toContain('Replaced 1 occurrence in src/app.py');
    expect(seen).toContain('exit code: 2');
    expect(seen).toContain('leads outside the repository');
    // People watching the issue see the steps, condensed, in one section of the tracking comment.
    expect(comment.messages).toEqual([
      '**Steps**\n✓ `view` `src/app.py`\n✓ `str_replace` `src/app.py`\n✗ `view` `../outside`',
    ]);
  });
});

describe('the steps shown in the tracking comment', () => {
  it('keep model-written targets inside code spans, cut long ones and count the older steps', async () => {
    const sink = new MemorySink();
    const log = new StepLog(sink);
    await log.add(
      stepLine({ id: '1', name: 'run', arguments: { command: 'echo `id` @org/team\nrm -rf x' } }, false),
    );
    expect(sink.messages).toEqual(["**Steps**\n✓ `run` `echo 'id' @org/team`"]);
    for (let n = 0; n < STEPS_SHOWN + 4; n++) {
      await log.add(stepLine({ id: String(n), name: 'view', arguments: { path: 'x'.repeat(200) } }, false));
    }
    const shown = sink.messages[0]!.split('\n');
    expect(shown[1]).toBe('(5 earlier)');
    expect(shown).toHaveLength(STEPS_SHOWN + 2);
    expect(shown.at(-1)).toBe(`✓ \`view\` \`${'x'.repeat(80)}…\``);
  });
});
