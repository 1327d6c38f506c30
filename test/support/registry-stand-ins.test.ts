/**
 * The registry stand-ins work the way a setup run will use them: from a sandbox container on the same
 * test-made network (no proxy here), `npm install` fetches the package from the npm stand-in and
 * `pip install` the wheel from the PyPI stand-in, and each stand-in saw the requests. The fixture
 * repositories' lockfile records exactly the bytes the npm stand-in serves. Real Docker, the real
 * sandbox image; nothing leaves the internal network.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectSetup, detectTests } from '../../src/github/index.js';
import { ensureSandboxImage, testDocker } from '../runners/helpers.js';
import {
  NPM_TARBALL_PATH,
  npmIntegrity,
  npmTarball,
  PACKAGE_NAME,
  PACKAGE_VERSION,
  PYTHON_MODULE,
  WHEEL_NAME,
} from './registry-packages.js';
import {
  createTestNetwork,
  NPM_STAND_IN_HOST,
  type RegistryStandIns,
  runOnNetwork,
  startRegistryStandIns,
} from './registry-stand-ins.js';

const FIXTURES = resolve(import.meta.dirname, '../fixtures/repos');
const FIXTURE_LOCK = join(FIXTURES, 'node-dep/package-lock.json');
const TARBALL_URL = `http://${NPM_STAND_IN_HOST}${NPM_TARBALL_PATH}`;

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
}
function lockEntry(lockfile: string): LockEntry | undefined {
  const lock = JSON.parse(lockfile) as { packages?: Record<string, LockEntry> };
  return lock.packages?.[`node_modules/${PACKAGE_NAME}`];
}

describe('the npm package served by the stand-in', () => {
  it('is the same bytes every time, and the node-dep fixture lockfile records them', () => {
    const tarball = npmTarball();
    expect(npmTarball().equals(tarball)).toBe(true);
    expect(lockEntry(readFileSync(FIXTURE_LOCK, 'utf8'))).toEqual({
      version: PACKAGE_VERSION,
      resolved: TARBALL_URL,
      integrity: npmIntegrity(tarball).integrity,
      license: 'MIT',
    });
  });
});

describe('registry stand-ins on a test-made network', () => {
  const docker = testDocker();
  let network: Awaited<ReturnType<typeof createTestNetwork>> | undefined;
  let standIns: RegistryStandIns | undefined;

  beforeAll(async () => {
    ensureSandboxImage();
    network = await createTestNetwork(docker);
    standIns = await startRegistryStandIns(docker, { network: network.name });
  }, 180_000);

  afterAll(async () => {
    await standIns?.stop();
    await network?.remove();
  });

  it('serve npm install from a sandbox container, which writes the fixture lockfile entry', async () => {
    const registries = standIns!;
    const run = await runOnNetwork(docker, {
      network: registries.network,
      env: [`npm_config_registry=${registries.npmRegistry}`],
      script: [
        'set -e',
        'printf \'{"name":"probe","version":"1.0.0","private":true}\\n\' > package.json',
        `npm install --no-audit --no-fund ${PACKAGE_NAME}@${PACKAGE_VERSION} >&2`,
        `node -e "const { leftPad } = require('${PACKAGE_NAME}'); if (leftPad('7', 3, '0') !== '007') process.exit(3)" >&2`,
        'cat package-lock.json',
      ].join('\n'),
    });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(lockEntry(run.stdout)).toMatchObject({
      version: PACKAGE_VERSION,
      resolved: TARBALL_URL,
      integrity: npmIntegrity(npmTarball()).integrity,
    });
    const paths = (await registries.npm.requests()).map((request) => request.path);
    expect(paths).toEqual(expect.arrayContaining([`/${PACKAGE_NAME}`, NPM_TARBALL_PATH]));
    expect(await registries.pypi.requests()).toEqual([]);
  }, 180_000);

  it('serve pip install of the wheel into a venv that still sees Debian’s pytest', async () => {
    const registries = standIns!;
    const run = await runOnNetwork(docker, {
      network: registries.network,
      env: [`PIP_INDEX_URL=${registries.pipIndexUrl}`, `PIP_TRUSTED_HOST=${registries.pipTrustedHost}`],
      script: [
        'set -e',
        'python3 -m venv --system-site-packages --copies --without-pip /work/.venv',
        `/work/.venv/bin/python -m pip install --no-input ${PACKAGE_NAME}==${PACKAGE_VERSION}`,
        `/work/.venv/bin/python -c "import pytest, ${PYTHON_MODULE} as m; assert m.left_pad('7', 3, '0') == '007'; print('imported')"`,
      ].join('\n'),
    });
    expect(run.exitCode, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toContain('imported');
    const paths = (await registries.pypi.requests()).map((request) => request.path);
    expect(paths).toEqual(expect.arrayContaining([`/simple/${PACKAGE_NAME}/`, `/packages/${WHEEL_NAME}`]));
  }, 180_000);

  it.each([
    ['node-dep', 'src/total.js'],
    ['python-dep', 'calc.py'],
  ])(
    'install %s’s dependencies with detectSetup’s script; its tests fail until the one line is fixed',
    async (name, file) => {
      const registries = standIns!;
      const dir = join(FIXTURES, name);
      const setup = await detectSetup(dir);
      const tests = await detectTests(dir);
      expect(setup && tests).toBeTruthy();
      // The fixture on the host has no .venv; a checkout after a setup run has one, and detectTests then
      // picks .venv/bin/python (test/github/helpers.test.ts). Here that is done by hand.
      const python =
        name === 'python-dep' ? tests!.script.replaceAll('python3', '.venv/bin/python') : tests!.script;
      const tgz = execFileSync('tar', ['czf', '-', '-C', dir, '.']).toString('base64');
      const run = await runOnNetwork(docker, {
        network: registries.network,
        env: [...registries.env, `FIXTURE_TGZ=${tgz}`],
        script: [
          'set -e',
          'echo "$FIXTURE_TGZ" | base64 -d | tar xzf -',
          `( ${setup!.script} ) >&2`,
          `if ( ${python} ) >&2; then echo 'passed with the bug'; else echo 'failed with the bug'; fi`,
          `sed -i 's/return a - b/return a + b/' ${file}`,
          `( ${python} ) >&2 && echo 'passed once fixed'`,
        ].join('\n'),
      });
      expect(run.exitCode, run.stderr.slice(-3000)).toBe(0);
      expect(run.stdout).toBe('failed with the bug\npassed once fixed\n');
    },
    180_000,
  );
});
