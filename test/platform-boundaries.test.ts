/**
 * What keeps "one shape for every platform" true in src/: Slack, Discord and GitHub are called only
 * through their own libraries (@slack/web-api, @discordjs/rest, Octokit), never by a hand-written
 * `fetch(` or `sendJson(`; and no code outside an adapter's own folder switches on a platform.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const SRC = join(ROOT, 'src');

/** The HTTP helpers the libraries are handed (a fetch that keeps Retry-After readable), nothing else. */
const HTTP_HELPERS = new Set(['src/core/contracts/sink-http.ts']);
/** Each adapter's own folder may know which platform it is. */
const ADAPTER_FOLDERS = ['src/bots/slack/', 'src/bots/discord/', 'src/bots/terminal/', 'src/github/'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Lines of code with comments blanked, so a doc comment naming fetch( does not count. */
function codeLines(path: string): string[] {
  const text = readFileSync(path, 'utf8').replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' '));
  return text.split('\n').map((line) => line.replace(/(^|[^:])\/\/.*$/, '$1'));
}

function occurrences(pattern: RegExp, allowed: (file: string) => boolean): string[] {
  const found: string[] = [];
  for (const path of sourceFiles(SRC)) {
    const file = relative(ROOT, path);
    if (allowed(file)) continue;
    codeLines(path).forEach((line, index) => {
      if (pattern.test(line)) found.push(`${file}:${index + 1}: ${line.trim()}`);
    });
  }
  return found;
}

describe('platform boundaries in src/', () => {
  it('no hand-written HTTP call: fetch( and sendJson( appear only in the helpers the libraries are given', () => {
    expect(occurrences(/\b(fetch|sendJson)\(/, (file) => HTTP_HELPERS.has(file))).toEqual([]);
  });

  it('no switch on a platform outside an adapter folder', () => {
    const inAdapter = (file: string) => ADAPTER_FOLDERS.some((folder) => file.startsWith(folder));
    expect(occurrences(/switch\s*\([^)]*\bplatform\b[^)]*\)/, inAdapter)).toEqual([]);
  });
});
