/**
 * The shape of src/, checked by dependency-cruiser with the rules in .dependency-cruiser.cjs: no
 * import cycle between top-level folders, and another top-level folder is entered only through its
 * index.ts. The second test shows the rules catch a restored back-edge and a deep import.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = join(ROOT, 'node_modules', '.bin', 'depcruise');

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
  cycle?: { name: string }[];
}

/** The violations depcruise finds under `cwd`/src with the project's rules. */
function violations(cwd: string): Violation[] {
  let out: string;
  try {
    out = execFileSync(DEPCRUISE, ['src', '--config', CONFIG, '--output-type', 'json'], {
      cwd,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      timeout: 120_000,
    });
  } catch (error) {
    // depcruise exits non-zero when it finds violations; its report is still on stdout.
    out = String((error as { stdout?: unknown }).stdout ?? '');
  }
  return (JSON.parse(out) as { summary: { violations: Violation[] } }).summary.violations;
}

describe('the import rules of src/', () => {
  it('hold: no cycle between top-level folders, every other folder entered through its index.ts', () => {
    const found = violations(ROOT).map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`);
    expect(found).toEqual([]);
  }, 120_000);

  it('catch a restored back-edge (agents -> bots -> agents) and a deep import', () => {
    const fixture = mkdtempSync(join(tmpdir(), 'deckhand-arch-'));
    try {
      const file = (path: string, text: string) => {
        mkdirSync(join(fixture, path, '..'), { recursive: true });
        writeFileSync(join(fixture, path), text);
      };
      file('tsconfig.json', JSON.stringify({ compilerOptions: { module: 'nodenext', strict: true } }));
      file('src/core/index.ts', 'export const core = 1;\n');
      file('src/core/errors.ts', 'export const errors = 1;\n');
      file('src/bots/index.ts', "import { agent } from '../agents/index.js';\nexport const bot = agent;\n");
      file(
        'src/agents/index.ts',
        "import type { bot } from '../bots/index.js';\nimport { errors } from '../core/errors.js';\nexport const agent = errors;\nexport type B = typeof bot;\n",
      );
      const rules = violations(fixture).map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`);
      expect(rules).toEqual(
        expect.arrayContaining([
          'no-cycle-between-folders: src/agents/index.ts -> src/bots/index.ts',
          'through-the-door: src/agents/index.ts -> src/core/errors.ts',
        ]),
      );
    } finally {
      rmSync(fixture, { recursive: true, force: true });
    }
  }, 120_000);
});
