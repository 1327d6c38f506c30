#!/usr/bin/env node
// Runs the compiled CLI when `npm run build` has produced dist/, otherwise the TypeScript sources
// through tsx, so a fresh clone works right after `npm ci`.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist', 'cli', 'main.js');
let entry = compiled;
if (!existsSync(compiled)) {
  // tsx is a development dependency: an install without it runs dist/ (npm run build; the package
  // and the deploy images ship it built).
  const tsx = await import('tsx/esm/api').catch(() => undefined);
  if (!tsx) {
    process.stderr.write(
      'deckhand: dist/ is missing and tsx is not installed: run `npm run build` (or `npm ci` for a development checkout).\n',
    );
    process.exit(1);
  }
  tsx.register();
  entry = join(root, 'src', 'cli', 'main.ts');
}
const { runCli } = await import(pathToFileURL(entry).href);
await runCli();
