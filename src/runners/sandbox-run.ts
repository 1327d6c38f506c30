/**
 * The pieces of one sandbox run that need no runner state (sandbox.ts uses them): checking the
 * options at the door, the errors a run can end with, the RunResult built from a container's
 * Execution, and the Run record stored for it.
 */
import { performance } from 'node:perf_hooks';
import { DeckhandError, isDeckhandError, type Logger } from '../core/index.js';
import type { RunStatus, Store } from '../store/index.js';
import type { Execution } from './container.js';
import {
  type ParsedRunOptions,
  type RunResult,
  runOptionsSchema,
  type SandboxRunOptions,
} from './run-options.js';

/** The Run schema caps stored output (maxlength 100 000); the full result goes back to the caller. */
const STORED_OUTPUT_CHARS = 100_000;

type StoredOutcome = Parameters<Store['finishRun']>[1];

export function sandboxFailed(error: unknown): DeckhandError {
  if (isDeckhandError(error)) return error;
  return new DeckhandError('SANDBOX_FAILED', 'The sandbox could not run the code. Try again in a minute.', {
    cause: error,
    retryable: true,
    detail: error instanceof Error ? error.message : String(error),
  });
}

/** Why no container could be had for a run. */
export function containerFailed(error: unknown): DeckhandError {
  // 400: Docker refused this run's settings (say, a workspace folder that does not exist on the
  // engine's host); trying again will not help.
  if ((error as { statusCode?: unknown }).statusCode === 400) {
    return new DeckhandError('BAD_REQUEST', 'Docker refused the sandbox settings for this run.', {
      cause: error,
      detail: error instanceof Error ? error.message : String(error),
    });
  }
  return sandboxFailed(error);
}

/** The run's options checked against runOptionsSchema; a BAD_REQUEST naming every problem otherwise. */
export function parseRunOptions(raw: Omit<SandboxRunOptions, 'signal'>): ParsedRunOptions {
  const parsed = runOptionsSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((i) => `${i.path.join('.') || 'options'}: ${i.message}`)
      .join('; ');
    throw new DeckhandError('BAD_REQUEST', `Invalid sandbox run: ${problems}`);
  }
  return parsed.data;
}

/** What the caller gets back; durationMs counts from `began` (performance.now()) to now. */
export function resultOf(execution: Execution, workspace: RunResult['workspace'], began: number): RunResult {
  const stdout = execution.output.stdout.result();
  const stderr = execution.output.stderr.result();
  return {
    exitCode: execution.exitCode,
    stdout: stdout.text,
    stderr: stderr.text,
    timedOut: execution.timedOut,
    ...(execution.cancelled ? { cancelled: true } : {}),
    oomKilled: execution.oomKilled,
    truncated: stdout.truncated || stderr.truncated,
    ...(execution.diskFull ? { diskFull: true } : {}),
    ...(workspace ? { workspace } : {}),
    durationMs: Math.round(performance.now() - began),
  };
}

function statusOf(result: RunResult): RunStatus {
  if (result.timedOut) return 'timeout';
  if (result.cancelled) return 'killed';
  if (result.oomKilled) return 'killed';
  return result.exitCode === 0 ? 'succeeded' : 'failed';
}

/** The finished Run as stored: output clipped to what the schema holds, marked truncated if clipped. */
function storedResult(result: RunResult): StoredOutcome {
  const clip = (text: string) =>
    text.length > STORED_OUTPUT_CHARS ? text.slice(0, STORED_OUTPUT_CHARS) : text;
  return {
    status: statusOf(result),
    exitCode: result.exitCode,
    stdout: clip(result.stdout),
    stderr: clip(result.stderr),
    truncated:
      result.truncated ||
      result.stdout.length > STORED_OUTPUT_CHARS ||
      result.stderr.length > STORED_OUTPUT_CHARS,
    durationMs: result.durationMs,
  };
}

/** The stored Run of a run that threw. */
export function storedError(began: number): StoredOutcome {
  return {
    status: 'error',
    exitCode: null,
    stdout: '',
    stderr: '',
    truncated: false,
    durationMs: Math.round(performance.now() - began),
  };
}

/** Stores the finished Run; its id (undefined without a store). A storage failure is only logged. */
export async function recordResult(
  store: Pick<Store, 'finishRun'> | undefined,
  log: Logger,
  result: RunResult,
  runId: Promise<string | undefined>,
): Promise<string | undefined> {
  const id = await runId;
  if (!id || !store) return undefined;
  try {
    await store.finishRun(id, storedResult(result));
  } catch (error) {
    log.error({ err: error, runId: id }, 'could not record the sandbox run result');
  }
  return id;
}
