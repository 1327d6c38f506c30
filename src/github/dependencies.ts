/**
 * Finds how a checkout installs its dependencies, for a *setup* run in the sandbox (with network
 * through the allow-listed proxy) before the tests run without network. In order: the repository's
 * `.deckhand.yml` `setup` command wins; otherwise one step for each ecosystem found, run one after the
 * other: npm (`npm ci` with a lockfile, else `npm install` when package.json lists dependencies),
 * Python (requirements files, else pyproject.toml's dependencies, into a venv at /work/.venv that
 * also sees Debian's pytest), Go (`go mod download` into a module cache inside the checkout, so the
 * test run finds it; a GOMODCACHE the run sets, the dependency cache's, is filled first and read as a
 * local proxy). `lockHash` keys the dependency cache: it covers the script and the lockfiles (or the
 * manifest, without one).
 *
 * The reads follow detect-tests.ts: regular files only, no link followed, sizes capped. Everything
 * found here is repository text and is only ever run inside the sandbox.
 */
import { createHash, randomBytes } from 'node:crypto';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { type CheckoutRead, type RepoSettings, readCheckoutFile, readRepoSettings } from './repo-settings.js';

export interface SetupCommand {
  /** What a person would type, for the tracking comment (`npm ci`). */
  label: string;
  /** The bash script run in the sandbox with the checkout as the working folder. */
  script: string;
  /** The lockfiles the install follows (`package-lock.json, go.sum`), when there are any. */
  lockfile?: string;
  /** sha256 (hex) of the script and the lockfiles' contents (or the manifests', without a lockfile). */
  lockHash: string;
}

/** The venv a Python setup makes, relative to the checkout (so /work/.venv in the sandbox). */
export const VENV_DIR = '.venv';
/** Go's module cache of a setup run, inside the checkout so the test run (no network) finds it. */
export const GO_MODULE_CACHE_DIR = '.gomodcache';
/**
 * Folders a setup run fills that are dependencies, never part of a change: for `.git/info/exclude`,
 * so nothing installed is ever committed.
 */
export const DEPENDENCY_FOLDERS: readonly string[] = [
  'node_modules/',
  `${VENV_DIR}/`,
  `${GO_MODULE_CACHE_DIR}/`,
];

/** Exit code of a setup script whose tool is not in the sandbox image. */
export const SETUP_TOOL_MISSING_EXIT = 127;

const MAX_MANIFEST_BYTES = 1024 * 1024;
/** Lockfiles of large projects run to tens of megabytes; beyond this one is not hashed. */
const MAX_LOCKFILE_BYTES = 64 * 1024 * 1024;

export const PYTHON_REQUIREMENT_FILES = [
  'requirements.txt',
  'requirements-dev.txt',
  'dev-requirements.txt',
  'requirements-test.txt',
  'test-requirements.txt',
] as const;

interface Step {
  label: string;
  script: string;
  /** Files whose contents key the cache, and whether each is a lockfile (not just a manifest). */
  keyed: { file: string; lock: boolean }[];
}

function needs(tool: string, check: string): string {
  return `${check} >/dev/null 2>&1 || { echo "${tool} is not installed in the sandbox image, so the dependencies could not be installed." >&2; exit ${SETUP_TOOL_MISSING_EXIT}; }`;
}

async function text(dir: string, file: string, maxBytes = MAX_MANIFEST_BYTES): Promise<string | undefined> {
  const read = await readCheckoutFile(join(dir, file), maxBytes);
  return read.kind === 'text' ? read.text : undefined;
}

/** Whether `file` is there at all (whatever it is: a link or a FIFO counts, and is refused when read). */
async function present(dir: string, file: string): Promise<boolean> {
  return (await lstat(join(dir, file)).catch(() => undefined)) !== undefined;
}

function hasEntries(value: unknown): boolean {
  return typeof value === 'object' && value !== null && Object.keys(value).length > 0;
}

async function npmStep(dir: string): Promise<Step | undefined> {
  const manifest = await text(dir, 'package.json');
  if (manifest === undefined) return undefined;
  const check = needs('npm', 'command -v npm');
  // npm reads npm-shrinkwrap.json first; either lockfile means `npm ci`.
  for (const lock of ['npm-shrinkwrap.json', 'package-lock.json']) {
    if (!(await present(dir, lock))) continue;
    return {
      label: 'npm ci',
      script: `${check}\nnpm ci --no-audit --no-fund`,
      keyed: [{ file: lock, lock: true }],
    };
  }
  let pkg: { dependencies?: unknown; devDependencies?: unknown };
  try {
    pkg = JSON.parse(manifest) as typeof pkg;
  } catch {
    return undefined;
  }
  if (!hasEntries(pkg?.dependencies) && !hasEntries(pkg?.devDependencies)) return undefined;
  // No lockfile: none is written either, so the change does not gain a package-lock.json.
  return {
    label: 'npm install',
    script: `${check}\nnpm install --no-audit --no-fund --no-package-lock`,
    keyed: [{ file: 'package.json', lock: false }],
  };
}

/**
 * The venv: --system-site-packages so Debian's pytest (and pip, so the venv carries none of its own)
 * stay importable; --copies so it holds no link leaving the checkout (the workspace read-back refuses
 * those), then python3 and python3.x become links to the one copy. Kept when it exists (a cached one).
 */
const MAKE_VENV = [
  needs('Python venv', 'python3 -c "import venv, pip"'),
  `if [ ! -x ${VENV_DIR}/bin/python ]; then`,
  `  python3 -m venv --system-site-packages --copies --without-pip ${VENV_DIR}`,
  `  for name in ${VENV_DIR}/bin/python3 ${VENV_DIR}/bin/python3.*; do if [ -f "$name" ]; then ln -sf python "$name"; fi; done`,
  'fi',
].join('\n');
const PIP = `${VENV_DIR}/bin/python -m pip install --no-input`;

/** The project's dependencies (and its test/dev extras) from pyproject.toml, read by the sandbox's Python. */
const PYPROJECT_DEPENDENCIES = `${VENV_DIR}/bin/python - >/tmp/deckhand-pyproject-requirements.txt <<'PY'
import sys, tomllib
with open("pyproject.toml", "rb") as f:
    project = tomllib.load(f).get("project", {})
deps = list(project.get("dependencies", []))
extras = project.get("optional-dependencies", {})
for group in ("test", "tests", "testing", "dev"):
    deps += extras.get(group, [])
if deps:
    sys.stdout.write("\\n".join(deps) + "\\n")
PY`;

async function pythonStep(dir: string): Promise<Step | undefined> {
  const files: string[] = [];
  for (const file of PYTHON_REQUIREMENT_FILES) {
    if (await present(dir, file)) files.push(file);
  }
  if (files.length > 0) {
    const args = files.map((file) => `-r ${file}`).join(' ');
    return {
      label: `pip install ${args}`,
      script: `${MAKE_VENV}\n${PIP} ${args}`,
      keyed: files.map((file) => ({ file, lock: true })),
    };
  }
  const pyproject = await text(dir, 'pyproject.toml');
  // [project] dependencies (PEP 621) only; Poetry's own tables and the like are not read.
  if (!pyproject || !/^\s*\[project\]\s*$/m.test(pyproject)) return undefined;
  if (!/^\s*(dependencies|test|tests|testing|dev)\s*=\s*\[\s*["']/m.test(pyproject)) return undefined;
  return {
    label: 'pip install (pyproject.toml dependencies)',
    script: [
      MAKE_VENV,
      PYPROJECT_DEPENDENCIES,
      `if [ -s /tmp/deckhand-pyproject-requirements.txt ]; then ${PIP} -r /tmp/deckhand-pyproject-requirements.txt; fi`,
    ].join('\n'),
    keyed: [{ file: 'pyproject.toml', lock: false }],
  };
}

async function goStep(dir: string): Promise<Step | undefined> {
  if (!(await present(dir, 'go.mod'))) return undefined;
  const hasSum = await present(dir, 'go.sum');
  const inCheckout = `$PWD/${GO_MODULE_CACHE_DIR}`;
  return {
    label: 'go mod download',
    script: [
      needs('Go', 'command -v go'),
      'export GOFLAGS=-modcacherw',
      // go mod download may add to go.sum: the setup leaves the repository's files as they were.
      hasSum ? 'cp go.sum /tmp/deckhand-go.sum' : '',
      // A module cache kept between runs (GOMODCACHE given by the run): fill it, then install from it.
      `if [ -n "\${GOMODCACHE:-}" ] && [ "$GOMODCACHE" != "${inCheckout}" ]; then`,
      '  go mod download',
      '  export GOPROXY="file://$GOMODCACHE/cache/download"',
      'fi',
      `export GOMODCACHE="${inCheckout}"`,
      'go mod download',
      hasSum ? 'cp /tmp/deckhand-go.sum go.sum' : 'rm -f go.sum',
    ]
      .filter(Boolean)
      .join('\n'),
    keyed: [hasSum ? { file: 'go.sum', lock: true } : { file: 'go.mod', lock: false }],
  };
}

/** A label for a repository's own command: the command when it is short and plain, else a description. */
export function commandLabel(command: string, fallback: string): string {
  return /^[\w ./:=+,-]{1,60}$/.test(command) ? command : fallback;
}

/** The part of the cache key one file contributes; an unreadable one makes the key unique. */
function keyPart(file: string, read: CheckoutRead): string {
  if (read.kind === 'text') return `${file}\0${createHash('sha256').update(read.text).digest('hex')}`;
  if (read.kind === 'missing') return `${file}\0missing`;
  // A lockfile that is a link, special or oversized: never a cache hit.
  return `${file}\0unreadable\0${randomBytes(16).toString('hex')}`;
}

async function lockHashOf(dir: string, script: string, files: readonly string[]): Promise<string> {
  const hash = createHash('sha256').update(`script\0${script}\n`);
  for (const file of files) {
    hash.update(`${keyPart(file, await readCheckoutFile(join(dir, file), MAX_LOCKFILE_BYTES))}\n`);
  }
  return hash.digest('hex');
}

/** Every file an install could follow, keyed when a repository's own `setup` command is used. */
const ALL_KEYED_FILES = [
  'package.json',
  'npm-shrinkwrap.json',
  'package-lock.json',
  ...PYTHON_REQUIREMENT_FILES,
  'pyproject.toml',
  'go.mod',
  'go.sum',
];

async function presentFiles(dir: string, files: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const file of files) if (await present(dir, file)) found.push(file);
  return found;
}

/**
 * How to install `dir`'s dependencies, or undefined when there is nothing to install. `settings`
 * are the repository's `.deckhand.yml` (readRepoSettings); when omitted they are read here, and a
 * settings file that cannot be used throws BAD_REQUEST.
 */
export async function detectSetup(dir: string, settings?: RepoSettings): Promise<SetupCommand | undefined> {
  const own = (settings ?? (await readRepoSettings(dir))).setup;
  if (own !== undefined) {
    const files = await presentFiles(dir, ALL_KEYED_FILES);
    return {
      label: commandLabel(own, '.deckhand.yml setup'),
      script: own,
      lockHash: await lockHashOf(dir, own, files),
    };
  }
  const steps: Step[] = [];
  for (const find of [npmStep, pythonStep, goStep]) {
    const step = await find(dir);
    if (step) steps.push(step);
  }
  if (steps.length === 0) return undefined;
  const script = ['set -e', ...steps.map((step) => step.script)].join('\n');
  const keyed = steps.flatMap((step) => step.keyed);
  const locks = keyed.filter((entry) => entry.lock).map((entry) => entry.file);
  return {
    label: steps.map((step) => step.label).join('; '),
    script,
    ...(locks.length > 0 ? { lockfile: locks.join(', ') } : {}),
    lockHash: await lockHashOf(
      dir,
      script,
      keyed.map((entry) => entry.file),
    ),
  };
}
