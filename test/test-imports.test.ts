/**
 * Tests and benches enter src/ the way src/ itself does (test/architecture.test.ts): through a
 * top-level folder's door, src/<folder>/index.ts, or an adapter's own door
 * (src/bots/slack|discord|terminal/index.ts). A test that reaches past a door pins a file layout the
 * folder is free to change, and a symbol a test needs is a sign it belongs on the door.
 * Every import form counts: `import`, `import type`, `export … from`, and `import('…')`.
 * The exceptions are listed below, each with its reason; the lists only shrink.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const SCANNED = ['test', 'bench'];
const SOURCE = /\.(ts|mts|cts|tsx|js|mjs|cjs)$/;
const DOOR = /^src\/([^/]+|bots\/(slack|discord|terminal))\/index\.ts$/;

/**
 * Deep imports kept on purpose, file -> the src modules it may import. src/cli has no door (it is
 * the program's entry; nothing in src imports it), so a test of a command imports that command.
 * The crash worker is a child process the crash tests time: the bots door loads every adapter,
 * seconds of start-up on a loaded machine, where worker.ts alone loads the queue and little else.
 */
const KEPT: Readonly<Record<string, readonly string[]>> = {
  'test/agents/mcp-memory.test.ts': ['src/cli/doctor.ts'],
  'test/bots/discord/gateway.test.ts': ['src/cli/discord.ts'],
  'test/cli/chat-sandbox.test.ts': ['src/cli/sandbox.ts'],
  'test/scheduler/scheduler.test.ts': ['src/cli/schedules.ts'],
  'test/support/crash-worker.ts': ['src/bots/worker.ts'],
  'test/bots/discord/doctor.test.ts': ['src/cli/doctor.ts'],
  // Internals a unit test drives directly: the OAuth state signer, the git wrapper's steps, the
  // throttling id two processes must agree on.
  'test/bots/slack/oauth-install.test.ts': ['src/bots/slack/oauth.ts'],
  'test/github/git.test.ts': ['src/github/git.ts'],
  'test/github/throttling.test.ts': ['src/github/octokit.ts'],
  'test/github/throttling-redis-restart.test.ts': ['src/github/octokit.ts'],
};

/** The src/ modules `source` (the text of `file`, relative to ROOT) imports past a door. */
function deepImports(file: string, source: string): string[] {
  const { importedFiles } = ts.preProcessFile(source, true, true);
  const found: string[] = [];
  for (const { fileName } of importedFiles) {
    if (!fileName.startsWith('.')) continue;
    const target = relative(ROOT, resolve(ROOT, dirname(file), fileName))
      .split('\\')
      .join('/')
      .replace(/\.(m|c)?js$/, '.$1ts');
    if (target.startsWith('src/') && !DOOR.test(target)) found.push(target);
  }
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourceFiles(path);
    return SOURCE.test(entry.name) ? [path] : [];
  });
}

/** Every deep import under test/ and bench/, as `file -> src module`. */
function allDeepImports(): string[] {
  return SCANNED.flatMap(sourceFiles).flatMap((file) =>
    deepImports(file, readFileSync(join(ROOT, file), 'utf8')).map((target) => `${file} -> ${target}`),
  );
}

describe('imports of src/ from test/ and bench/', () => {
  it('go through a door, outside the listed exceptions', () => {
    const unlisted = allDeepImports().filter((line) => {
      const [file = '', target = ''] = line.split(' -> ');
      return !KEPT[file]?.includes(target);
    });
    expect(unlisted).toEqual([]);
  });

  it('keep no stale exception: every kept deep import is still made', () => {
    const made = new Set(allDeepImports());
    const stale = Object.entries(KEPT)
      .flatMap(([file, targets]) => targets.map((target) => `${file} -> ${target}`))
      .filter((line) => !made.has(line));
    expect(stale).toEqual([]);
  });

  it('catch a deep import in every form, and let doors, comments and plain strings through', () => {
    const source = [
      "import { createSinkFactory } from '../../src/bots/sinks.js';",
      "import type { AdmissionPolicy } from '../../src/bots/admission.js';",
      'import {',
      '  secretKeyId,',
      "} from '../../src/store/secret-box.js';",
      "export { RunOutput } from '../../src/runners/output.js';",
      "const cli = await import('../../src/cli/doctor.js');",
      "import { createPipeline } from '../../src/bots/index.js';",
      "import { signSlackRequest } from '../../src/bots/slack/index.js';",
      "import type { Store } from '../../src/store/index.js';",
      "import { helper } from '../support/store.js';",
      "// import { old } from '../../src/core/errors.js';",
      "const entry = join(ROOT, 'src/cli/main.ts');",
    ].join('\n');
    expect(deepImports('test/bots/example.test.ts', source)).toEqual([
      'src/bots/sinks.ts',
      'src/bots/admission.ts',
      'src/store/secret-box.ts',
      'src/runners/output.ts',
      'src/cli/doctor.ts',
    ]);
  });
});
