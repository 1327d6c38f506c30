/**
 * Two vitest projects, so a change can be checked in seconds without any service:
 *   unit         no MongoDB/FerretDB, Redis, Docker or Chromium   `npm run test:unit`
 *   integration  the real services, brought up by its global setup  (`npm test` runs both, each file once)
 * Which project a test file belongs to is read from its source, not from a list: a file is
 * `integration` when it, or a test helper it imports (followed through relative imports inside test/),
 * matches one of SERVICE_MARKERS. So a new test file that uses test/support/store.ts, the Docker
 * helpers in test/runners/helpers.ts or a service address lands in `integration` by itself; to add a
 * kind of service, add its marker. `npx vitest list --filesOnly` shows where each file went.
 * The unit project also runs with the service addresses removed (test/support/unit-setup.ts), so a
 * unit test that reaches a service anyway fails at once, naming what is missing.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { configDefaults, defineConfig } from 'vitest/config';

const ROOT = import.meta.dirname;
const TEST_FILES = 'test/**/*.test.ts';

/** Source text that means "this needs a running service" (test/support/store.ts and test/runners/helpers.ts match). */
const SERVICE_MARKERS: readonly RegExp[] = [
  /\bprocess\.env\.(MONGODB_URI|REDIS_URL|DOCKER_HOST)\b/, // a service address from the environment
  /\bopenStore\(/, // a database
  /\bstartPrivateServices\(/, // a private FerretDB and Redis (test/faults/services.ts)
  /\bcreateDockerClient\(\)/, // the Docker engine at DOCKER_HOST
  /sandbox-image\.sh/, // the sandbox image, built with Docker
  /from 'playwright-core'/, // headless Chromium
];

/** Relative imports (not `import type`) of a test source, as absolute .ts paths inside test/. */
function testImports(file: string, source: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(/(?:import|export)\s+(type\s+)?[^;'"]*?from\s+'(\.{1,2}\/[^']+)'/g)) {
    const [, typeOnly, specifier] = match;
    if (typeOnly || !specifier) continue;
    const target = resolve(dirname(file), specifier.replace(/\.js$/, '.ts'));
    if (!relative(resolve(ROOT, 'test'), target).startsWith('..')) found.push(target);
  }
  return found;
}

/** Whether `file` or any test helper it imports matches a service marker. */
function needsServices(file: string, seen = new Map<string, boolean>()): boolean {
  const known = seen.get(file);
  if (known !== undefined) return known;
  seen.set(file, false); // an import cycle adds nothing
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch {
    return false; // not a .ts file under test/ (a fixture, a .mjs): vitest reports a missing import itself
  }
  const result =
    SERVICE_MARKERS.some((marker) => marker.test(source)) ||
    testImports(file, source).some((imported) => needsServices(imported, seen));
  seen.set(file, result);
  return result;
}

const seen = new Map<string, boolean>();
const integrationFiles = readdirSync(resolve(ROOT, 'test'), { recursive: true, encoding: 'utf8' })
  .filter((file) => file.endsWith('.test.ts'))
  .map((file) => join('test', file))
  .filter((file) => needsServices(resolve(ROOT, file), seen))
  .sort();

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Two cores: files run in parallel forks; each test file uses its own database.
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: [TEST_FILES],
          exclude: [...configDefaults.exclude, ...integrationFiles],
          setupFiles: ['test/support/unit-setup.ts'],
          // Nothing here waits on a service: a stuck hook fails within the test timeout, not two minutes.
          hookTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          // Never empty: an empty include would fall back to every test file.
          include: integrationFiles.length > 0 ? integrationFiles : ['test/no-integration-files'],
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
    ],
  },
});
