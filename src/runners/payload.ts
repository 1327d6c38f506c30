/**
 * How code reaches a container that is already running (the warm pool's point: no create/start and
 * no `docker exec`, which costs 60-90 ms per call on runc, on the path of a run).
 *
 * Every sandbox container starts with WAITER_SCRIPT as PID 1, blocked reading its stdin. A run writes,
 * over the attach stream opened before the container started:
 *   line 1  a random nonce for this run
 *   line 2  seconds after which the script kills the program itself (a watchdog for when Deckhand
 *           dies mid-run: the runner kills the container at the real limit, a little earlier)
 *   line 3  the folder the tar is unpacked into: the work folder; or `/` for a run that carries a
 *           workspace, whose tar then holds `work/<checkout>` and the program under PROGRAM_DIR on
 *           the /tmp tmpfs, so the program file never becomes part of the workspace
 *   line 4  seconds to stay up after the run, 0 for none: a workspace run is read back afterwards
 *           (`docker exec tar -c`, workspace.ts), so every other process is killed first and PID 1
 *           then waits, keeping the container running
 *   line 5  the program's argv, shell-quoted (from config, never from the user)
 *   then    a tar of the code and extra files (and the workspace), unpacked there; stdin is closed
 * The script runs the program as a child with an empty environment (only PATH, HOME, LANG), then
 * writes `<nonce> <exit status> <oom kills> <disk full>` as the last line of both stdout and stderr.
 * Seeing that line on both streams means each stream is complete (each pipe is ordered). Ending there
 * rather than on the container's exit saves ~50 ms a run (measured: 25-35 ms against 75-95 ms for
 * print(1)), and a background process still holding stdout open cannot keep the run going. The nonce
 * only lets the program fake its own exit status, which it can choose anyway. `disk full` is 1 when
 * the work folder or /tmp has less than 1 MiB left: the run met its disk limit. It is looked at only
 * after a failed run or a workspace run (a `stat` costs ~3 ms, a warm run ~25 ms).
 */
import { posix } from 'node:path';
import { pack } from 'tar-stream';
import { DeckhandError } from '../core/index.js';
import { SANDBOX_ENV, WORK_DIR } from './limits.js';

/** Extra files for a run: paths relative to the work folder. */
export type SandboxFiles = Record<string, string | Uint8Array>;

const ENV_WORDS = SANDBOX_ENV.map((entry) => `'${entry}'`).join(' ');
/** Free space below which a tmpfs counts as full (a write there has failed, or is about to). */
const FULL_BELOW_BYTES = 1024 * 1024;

// oom_kill is counted by the container's own memory cgroup: memory.oom_control on cgroup v1,
// memory.events on v2. The container is fresh, so any kill there happened during this run.
// kill -9 -1 reaches every process of the container except PID 1 (this script), which then reports.
export const WAITER_SCRIPT = `IFS= read -r nonce || exit 125
IFS= read -r limit || exit 125
IFS= read -r dir || exit 125
IFS= read -r keep || exit 125
IFS= read -r cmd || exit 125
(sleep "$limit"; kill -9 -1) &
watchdog=$!
if mkdir -p "$dir" && tar -x -m -f - -C "$dir"; then
  eval "/usr/bin/env -i ${ENV_WORDS} $cmd"
  rc=$?
else
  echo "deckhand: could not unpack the program into $dir" >&2
  rc=126
fi
kill "$watchdog" 2>/dev/null
[ "$keep" -gt 0 ] && kill -9 -1 2>/dev/null
oom=0
for f in /sys/fs/cgroup/memory/memory.oom_control /sys/fs/cgroup/memory.events; do
  [ -r "$f" ] || continue
  while read -r key value; do [ "$key" = oom_kill ] && oom=$value; done <"$f"
done
full=0
if [ "$rc" -ne 0 ] || [ "$keep" -gt 0 ]; then
  set -- $(stat -f -c '%a %S' ${WORK_DIR} /tmp 2>/dev/null)
  while [ $# -ge 2 ]; do
    [ $(($1 * $2)) -lt ${FULL_BELOW_BYTES} ] && full=1
    shift 2
  done
fi
printf '%s %s %s %s\\n' "$nonce" "$rc" "$oom" "$full"
printf '%s %s %s %s\\n' "$nonce" "$rc" "$oom" "$full" >&2
[ "$keep" -gt 0 ] && exec sleep "$keep"
exit 0
`;

/** A relative path inside the work folder, or a BAD_REQUEST naming the problem. */
export function checkFilePath(path: string): string {
  const normalized = posix.normalize(path);
  if (
    path === '' ||
    path.includes('\0') ||
    posix.isAbsolute(path) ||
    normalized === '.' ||
    normalized.split('/').includes('..')
  ) {
    throw new DeckhandError(
      'BAD_REQUEST',
      `File path "${path}" must be relative to the work folder and stay inside it.`,
    );
  }
  return normalized.replace(/\/$/, '');
}

/** Where the program goes in a run that carries a workspace (on the /tmp tmpfs, exec allowed). */
export const PROGRAM_DIR = '/tmp/.deckhand-program';

export interface PayloadHeader {
  nonce: string;
  /** Absolute folder the tar is unpacked into; the work folder when absent. */
  unpackDir?: string;
  /** Seconds PID 1 waits after the run (for a workspace to be read back); 0 when absent. */
  keepSeconds?: number;
  /** Already shell-quoted argv (see languages.ts shellQuote). */
  command: string;
  /** For the in-container watchdog; whole seconds. */
  watchdogSeconds: number;
}

export function payloadHeader(input: PayloadHeader): Buffer {
  return Buffer.from(
    `${input.nonce}\n${Math.ceil(input.watchdogSeconds)}\n${input.unpackDir ?? WORK_DIR}\n${Math.ceil(input.keepSeconds ?? 0)}\n${input.command}\n`,
    'utf8',
  );
}

/** The code and extra files of a run, by normalized relative path, within maxBytes. */
export function programFiles(input: {
  fileName: string;
  code: string;
  files?: SandboxFiles | undefined;
  maxBytes: number;
}): Map<string, Buffer> {
  const entries = new Map<string, Buffer>();
  for (const [path, content] of Object.entries(input.files ?? {})) {
    entries.set(checkFilePath(path), Buffer.from(content));
  }
  // The code wins over an extra file of the same name.
  entries.set(input.fileName, Buffer.from(input.code, 'utf8'));
  const total = [...entries.values()].reduce((sum, data) => sum + data.length, 0);
  if (total > input.maxBytes) {
    throw new DeckhandError(
      'PAYLOAD_TOO_LARGE',
      `The code and files (${total} bytes) exceed the sandbox's ${input.maxBytes} bytes of work space.`,
    );
  }
  return entries;
}

export type PayloadInput = PayloadHeader & {
  fileName: string;
  code: string;
  files?: SandboxFiles | undefined;
  maxBytes: number;
};

/** Header and tar for a run without a workspace: everything unpacked into the work folder. */
export async function buildPayload(input: PayloadInput): Promise<Buffer> {
  const tar = pack();
  for (const [name, data] of programFiles(input)) {
    tar.entry({ name, mode: 0o644, size: data.length }, data);
  }
  tar.finalize();
  const chunks: Buffer[] = [payloadHeader(input)];
  for await (const chunk of tar) if (Buffer.isBuffer(chunk)) chunks.push(chunk);
  return Buffer.concat(chunks);
}
