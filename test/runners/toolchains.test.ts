/**
 * The toolchains a sandbox offers (git, make, node + npm, python3 + pip + pytest, go), against the real
 * Docker engine and the real image: each answers, and a test file, a Go program and an npm script run
 * under the sandbox's own fences (read-only root, no network, only PATH/HOME/LANG in the environment),
 * their caches on /tmp rather than in the work folder.
 */
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxLimits, SandboxRunner } from '../../src/runners/index.js';
import { ensureSandboxImage, leftovers, testDocker, testRunner } from './helpers.js';

/** The configured defaults (src/core/config.ts): what a user's run gets, so a `go run` must fit them. */
const DEFAULT_LIMITS: SandboxLimits = {
  cpus: 1,
  memoryMb: 512,
  pids: 256,
  timeoutSeconds: 120,
  outputLimitBytes: 65_536,
  tmpfsMb: 64,
};

let docker: Docker;
let runner: SandboxRunner;
beforeAll(async () => {
  ensureSandboxImage();
  docker = testDocker();
  runner = testRunner(docker, { limits: DEFAULT_LIMITS, warmPool: 0 });
  await runner.start();
}, 1_500_000);

afterAll(async () => {
  await runner?.close();
  expect(await leftovers(docker)).toEqual([]);
});

describe('sandbox toolchains', () => {
  it('has git, make, node, npm, python3, pip, pytest and go, each printing its version', async () => {
    const result = await runner.run({
      lang: 'bash',
      code: [
        'exec 2>&1',
        'git --version',
        'make --version | head -n 1',
        'echo "node $(node --version)"',
        'echo "npm $(npm --version)"',
        'python3 --version',
        'pip --version',
        'python3 -m pytest --version',
        'go version',
      ].join('\n'),
    });
    expect(result).toMatchObject({ exitCode: 0, timedOut: false });
    const out = result.stdout;
    expect(out).toMatch(/^git version \d+\.\d+/m);
    expect(out).toMatch(/^GNU Make \d+\.\d+/m);
    expect(out).toMatch(/^node v\d+\.\d+/m);
    expect(out).toMatch(/^npm \d+\.\d+/m);
    expect(out).toMatch(/^Python 3\.\d+/m);
    expect(out).toMatch(/^pip \d+\.\d+.* \(python 3\.\d+\)$/m);
    expect(out).toMatch(/^pytest \d+\.\d+/m);
    expect(out).toMatch(/^go version go1\.\d+/m);
  });

  it('runs pytest, a Go program and an npm script with no network and a read-only root', async () => {
    const result = await runner.run({
      lang: 'bash',
      code: [
        'set -e',
        'exec 2>&1',
        'printf "%s\\n" "def test_sum():" "    assert 1 + 1 == 2" >test_sum.py',
        'python3 -m pytest -q -p no:cacheprovider test_sum.py',
        'go run main.go',
        'npm run --silent hello',
        'touch /usr/local/bin/x 2>/dev/null && echo "root is writable" || echo "root is read-only"',
        'echo "work: $(ls -A | tr "\\n" " ")"',
      ].join('\n'),
      files: {
        'main.go': 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello from go") }\n',
        'package.json': JSON.stringify({
          name: 'demo',
          version: '1.0.0',
          scripts: { hello: 'echo hello from npm' },
        }),
      },
    });
    expect(result, result.stdout).toMatchObject({ exitCode: 0, timedOut: false, oomKilled: false });
    expect(result.stdout).toMatch(/^1 passed/m);
    expect(result.stdout).toContain('hello from go\n');
    expect(result.stdout).toContain('hello from npm\n');
    expect(result.stdout).toContain('root is read-only\n');
    // Go's build cache, GOPATH and npm's cache went to /tmp: the work folder holds only what the run wrote.
    const work = /^work: (.*)$/m.exec(result.stdout)?.[1]?.trim().split(' ').sort();
    expect(work).toEqual(['__pycache__', 'main.go', 'main.sh', 'package.json', 'test_sum.py']);
  });
});
