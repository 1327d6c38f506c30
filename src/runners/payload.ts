/**
 * How code reaches a container that is already running (the warm pool's point: no create/start and
 * no `docker exec`, which costs 60-90 ms per call on runc, on the path of a run).
 *
 * Every sandbox container starts with WAITER_SCRIPT as PID 1, blocked reading its stdin. A run writes,
 * over the attach stream opened before the container started:
 *   line 1  a random nonce for this run
 *   line 2  seconds after which the script kills the program itself (a watchdog for when Deckhand
 *           dies mid-run: the runner kills the container at the real limit, a little earlier)
 *   line 3  the folder the program is unpacked into: the work folder, or, when a host workspace is
 *           mounted there, PROGRAM_DIR on the /tmp tmpfs, so the program file never becomes part of
 *           the workspace (and of a commit made from it)
 *   line 4  the program's argv, shell-quoted (from config, never from the user)
 *   then    a tar of the code and extra files, unpacked into that folder; then stdin is closed
 * The script runs the program as a child with an empty environment (only PATH, HOME, LANG), then
 * writes `<nonce> <exit status> <oom kills>` as the last line of both stdout and stderr. Seeing that
 * line on both streams means each stream is complete (each pipe is ordered). Ending there rather
 * than on the container's exit saves ~50 ms a run (measured: 25-35 ms against 75-95 ms for print(1)),
 * and a background process still holding stdout open cannot keep the run going. The nonce only lets
 * the program fake its own exit status, which it can choose anyway.
 */
import { posix } from 'node:path';
import { pack } from 'tar-stream';
import { DeckhandError } from '../core/index.js';
import { SANDBOX_ENV, WORK_DIR } from './limits.js';

/** Extra files for a run: paths relative to the work folder. */
export type SandboxFiles = Record<string, string | Uint8Array>;

const ENV_WORDS = SANDBOX_ENV.map((entry) => `'${entry}'`).join(' ');

// oom_kill is counted by the container's own memory cgroup: memory.oom_control on cgroup v1,
// memory.events on v2. The container is fresh, so any kill there happened during this run.
// kill -9 -1 reaches every process of the container except PID 1 (this script), which then reports.
export const WAITER_SCRIPT = `IFS= read -r nonce || exit 125
IFS= read -r limit || exit 125
IFS= read -r dir || exit 125
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
oom=0
for f in /sys/fs/cgroup/memory/memory.oom_control /sys/fs/cgroup/memory.events; do
  [ -r "$f" ] || continue
  while read -r key value; do [ "$key" = oom_kill ] && oom=$value; done <"$f"
done
printf '%s %s %s\\n' "$nonce" "$rc" "$oom"
printf '%s %s %s\\n' "$nonce" "$rc" "$oom" >&2
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

/** Where the program goes when a host workspace is mounted at the work folder (a tmpfs, exec allowed). */
export const PROGRAM_DIR = '/tmp/.deckhand-program';

export interface PayloadInput {
  nonce: string;
  /** Absolute folder the code and files are unpacked into; the work folder when absent. */
  programDir?: string;
  /** Already shell-quoted argv (see languages.ts shellQuote). */
  command: string;
  /** For the in-container watchdog; whole seconds. */
  watchdogSeconds: number;
  fileName: string;
  code: string;
  files?: SandboxFiles;
  maxBytes: number;
}

export async function buildPayload(input: PayloadInput): Promise<Buffer> {
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
  const tar = pack();
  for (const [name, data] of entries) tar.entry({ name, mode: 0o644, size: data.length }, data);
  tar.finalize();
  const chunks: Buffer[] = [
    Buffer.from(
      `${input.nonce}\n${Math.ceil(input.watchdogSeconds)}\n${input.programDir ?? WORK_DIR}\n${input.command}\n`,
      'utf8',
    ),
  ];
  for await (const chunk of tar) if (Buffer.isBuffer(chunk)) chunks.push(chunk);
  return Buffer.concat(chunks);
}
