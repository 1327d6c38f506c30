/**
 * Languages a sandbox runs: an interpreter command and the file name the code is written to in the
 * work folder. python, node and bash are built in; config.sandbox.languages adds or replaces entries
 * (and may name another image, which then needs /bin/sh, tar, env and sleep, as any Debian or busybox
 * image has).
 */
import { DeckhandError } from '../core/index.js';

export interface LanguageSpec {
  /** Image tag for this language; the runner's image when absent. */
  image?: string;
  /** argv before the file name, e.g. ['python3', '-u']. */
  command: string[];
  /** Written into the work folder; the run is `command... fileName` with the work folder as cwd. */
  fileName: string;
}

export const BUILTIN_LANGUAGES: Readonly<Record<string, LanguageSpec>> = {
  // -u: a run killed at its time limit still shows what it printed before (no stdio buffer is lost).
  python: { command: ['python3', '-u'], fileName: 'main.py' },
  node: { command: ['node'], fileName: 'main.js' },
  bash: { command: ['bash'], fileName: 'main.sh' },
};

/** Names people type in chat. */
const ALIASES: Readonly<Record<string, string>> = {
  py: 'python',
  python3: 'python',
  js: 'node',
  javascript: 'node',
  nodejs: 'node',
  sh: 'bash',
  shell: 'bash',
};

const SAFE_FILE_NAME = /^[A-Za-z0-9._-]+$/;

function checkSpec(name: string, spec: LanguageSpec): LanguageSpec {
  // The command travels to the container's shell on one line; a newline or NUL could not be quoted.
  const bad = [...spec.command, spec.fileName].find((part) => /[\n\r\0]/.test(part) || part === '');
  if (bad !== undefined || spec.command.length === 0) {
    throw new DeckhandError(
      'CONFIG_INVALID',
      `sandbox.languages.${name}: command parts must be non-empty single lines`,
    );
  }
  if (!SAFE_FILE_NAME.test(spec.fileName) || spec.fileName.startsWith('.')) {
    throw new DeckhandError(
      'CONFIG_INVALID',
      `sandbox.languages.${name}.fileName must be a plain file name (letters, digits, . _ -)`,
    );
  }
  return { ...spec, command: [...spec.command] };
}

export class LanguageTable {
  private readonly specs = new Map<string, LanguageSpec>();

  constructor(extra: Record<string, LanguageSpec> = {}) {
    for (const [name, spec] of Object.entries({ ...BUILTIN_LANGUAGES, ...extra })) {
      this.specs.set(name, checkSpec(name, spec));
    }
  }

  names(): string[] {
    return [...this.specs.keys()];
  }

  /** Every image some language uses (besides the runner's own). */
  images(): string[] {
    return [...new Set([...this.specs.values()].flatMap((spec) => (spec.image ? [spec.image] : [])))];
  }

  resolve(lang: string): { name: string; spec: LanguageSpec } {
    const key = lang.trim().toLowerCase();
    const name = this.specs.has(key) ? key : (ALIASES[key] ?? key);
    const spec = this.specs.get(name);
    if (!spec) {
      throw new DeckhandError(
        'BAD_REQUEST',
        `Unknown language "${lang}". Known: ${this.names().join(', ')}.`,
      );
    }
    return { name, spec };
  }
}

export function argvFor(spec: LanguageSpec): string[] {
  return [...spec.command, spec.fileName];
}

/** POSIX single-quoting: the container's shell sees exactly these words. */
export function shellQuote(argv: readonly string[]): string {
  return argv.map((word) => `'${word.replaceAll("'", `'\\''`)}'`).join(' ');
}
