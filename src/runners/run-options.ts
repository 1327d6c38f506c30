/**
 * What a sandbox run asks for (checked with zod at the runner's door) and what it gets back, and the
 * bytes handed to its container: the code and files for a plain run, or the program plus a copy of a
 * host folder for a workspace run (workspace.ts).
 */
import { isAbsolute } from 'node:path';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { argvFor, type LanguageSpec, shellQuote } from './languages.js';
import { type SandboxLimits, WORK_DIR, workspaceMbOf } from './limits.js';
import { buildPayload, PROGRAM_DIR, payloadHeader, programFiles, type SandboxFiles } from './payload.js';
import { scanHostTree, workspacePayload } from './workspace.js';

export interface RunResult {
  /** null when the program never exited on its own (killed at the time limit). */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Stopped by the caller's signal (`cancel`) before it finished; exitCode is null. */
  cancelled?: boolean;
  /** The kernel's OOM killer killed a process of this run (the memory limit was hit). */
  oomKilled: boolean;
  /** stdout or stderr was cut at the output limit. */
  truncated: boolean;
  /** The run filled its work folder or /tmp: it met the disk limit. */
  diskFull?: boolean;
  /**
   * A run with `workspace.collect`: 'saved' when the work folder was read back into the host folder,
   * 'discarded' when the run did not finish (timed out, cancelled, killed) and the folder is unchanged.
   */
  workspace?: 'saved' | 'discarded';
  /** Wall clock of the whole run() call, container preparation included. */
  durationMs: number;
  /** The stored Run, when the runner has a store. */
  runId?: string;
}

export const runOptionsSchema = z
  .object({
    lang: z.string().min(1),
    code: z.string(),
    files: z.record(z.string(), z.union([z.string(), z.instanceof(Uint8Array)])).optional(),
    taskId: z
      .string()
      .regex(/^[0-9a-f]{24}$/i, 'must be a task id (24 hex digits)')
      .optional(),
    /**
     * A host folder (a cloned repository) copied into the work folder, never mounted; the code and
     * `files` then go to PROGRAM_DIR. With `collect`, what the run leaves in the work folder is read
     * back, checked (no `.git`, FIFOs, devices, sockets, hard links or links leaving the tree, nothing
     * inside a `sealed` folder, within the disk limit) and written over the host folder by the host;
     * a refusal throws and leaves the folder unchanged.
     */
    workspace: z
      .object({
        dir: z.string().refine(isAbsolute, 'must be an absolute host path'),
        collect: z.boolean().default(false),
        sealed: z.array(z.string().min(1)).max(10_000).default([]),
      })
      .strict()
      .optional(),
    network: z.boolean().optional(),
    /**
     * A setup run (dependency install): the container joins only this egress session's internal
     * network (egress.ts), the program gets `env` on top of PATH/HOME/LANG (the proxy variables, the
     * cache paths), and `cacheVolume` (dependency-cache.ts) is mounted at DEPENDENCY_CACHE_DIR.
     */
    egress: z
      .object({
        network: z.string().min(1),
        env: z
          .record(
            z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'),
            z.string().regex(/^[^\0\r\n]*$/, 'must be one line'),
          )
          .default({}),
        cacheVolume: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    /** Lower than the runner's limit for this run; a higher value is capped. */
    timeoutSeconds: z.number().positive().optional(),
  })
  .strict();
export type SandboxRunOptions = z.input<typeof runOptionsSchema> & {
  files?: SandboxFiles;
  /** Aborting it kills the run (the task was cancelled); the result then says `cancelled`. */
  signal?: AbortSignal;
};

export type ParsedRunOptions = z.output<typeof runOptionsSchema>;

const MIB = 1024 * 1024;
/** The in-container watchdog (payload.ts) fires this long after the runner's own kill should have. */
const WATCHDOG_GRACE_SECONDS = 5;
/** How long PID 1 of a workspace run stays up after it, for the work folder to be read back. */
const KEEP_FOR_COLLECTION_SECONDS = 300;

/**
 * The bytes handed to the container: for a plain run, the code and files unpacked into the work
 * folder; for a workspace run, the host folder's tree there and the program on /tmp.
 */
export async function payloadFor(
  input: ParsedRunOptions,
  spec: LanguageSpec,
  limits: SandboxLimits,
  nonce: string,
  timeoutSeconds: number,
): Promise<{ payload: Buffer | Readable; argv: string[]; keptLinks?: Map<string, string> }> {
  const watchdogSeconds = timeoutSeconds + WATCHDOG_GRACE_SECONDS;
  // `env -i` (payload.ts) takes NAME=VALUE words before the program: a setup run's extra variables.
  const envWords = Object.entries(input.egress?.env ?? {}).map(([name, value]) => `${name}=${value}`);
  const program = {
    fileName: spec.fileName,
    code: input.code,
    files: input.files,
    maxBytes: limits.tmpfsMb * MIB,
  };
  if (!input.workspace) {
    const argv = argvFor(spec);
    const command = shellQuote([...envWords, ...argv]);
    const payload = await buildPayload({ nonce, command, watchdogSeconds, ...program });
    return { payload, argv };
  }
  const argv = [...spec.command, `${PROGRAM_DIR}/${spec.fileName}`];
  const tree = await scanHostTree(input.workspace.dir, workspaceMbOf(limits) * MIB);
  const header = payloadHeader({
    nonce,
    unpackDir: '/',
    keepSeconds: input.workspace.collect ? KEEP_FOR_COLLECTION_SECONDS : 0,
    command: shellQuote([...envWords, ...argv]),
    watchdogSeconds,
  });
  const files = programFiles(program);
  const payload = workspacePayload(header, { dir: PROGRAM_DIR, files }, tree, input.workspace.dir, WORK_DIR);
  return { payload, argv, keptLinks: tree.links };
}
