/**
 * One sandbox container, used for exactly one run. `prepare` creates it with all limits, opens the
 * attach stream and starts it; PID 1 then waits on stdin (payload.ts). `execute` hands over the code,
 * reads the output, and kills the container at the time limit. `archiveWorkDir` streams the work
 * folder out as a tar after a workspace run (PID 1 keeps the container up for it). Whatever happens,
 * the container is removed afterwards and never runs a second program.
 */
import { Duplex, PassThrough, type Readable } from 'node:stream';
import type Docker from 'dockerode';
import { DeckhandError } from '../core/index.js';
import {
  type ContainerShape,
  hostConfigFor,
  SANDBOX_ENV,
  SANDBOX_UID,
  type SandboxLimits,
  WORK_DIR,
} from './limits.js';
import { FrameSplitter, RunOutput, STDERR, STDOUT } from './output.js';
import { WAITER_SCRIPT } from './payload.js';
import { sandboxLabels } from './reaper.js';

export interface PrepareOptions {
  /** Pinned image ID. */
  image: string;
  limits: SandboxLimits;
  shape: ContainerShape;
  pool: string;
  /** Epoch ms after which the reaper may remove the container whoever owns it. */
  deadline: number;
}

export interface Execution {
  output: RunOutput;
  exitCode: number | null;
  timedOut: boolean;
  oomKilled: boolean;
  /** Killed because the caller's signal fired (the user said `cancel`). */
  cancelled: boolean;
  /** The work folder or /tmp was full when the program ended (the waiter's report). */
  diskFull: boolean;
  /** The waiter reported the end of the run: a workspace run's container is still up to be read. */
  reported: boolean;
}

/** The work folder as a tar, from `tar -c` run in the stopped-but-running container. */
export interface WorkArchive {
  /** tar's stdout; ends when tar ends. */
  stdout: Readable;
  /** tar's exit code (null when unknown) and the start of its stderr, once it ended. */
  finished: Promise<{ exitCode: number | null; stderr: string }>;
  /** Stops reading (the container is removed afterwards anyway). */
  stop(): void;
}

/**
 * Makes everything readable for its owner (a program may have chmod 000'd a file), then archives the
 * work folder. Links are archived as links (never followed), hard links as plain files; a FIFO is
 * archived as a FIFO entry (never opened) and a socket is skipped with a warning on stderr.
 */
const ARCHIVE_SCRIPT = `chmod -R u+rwX ${WORK_DIR} 2>/dev/null; exec tar -c -f - -C ${WORK_DIR} --hard-dereference --numeric-owner .`;
const STDERR_KEPT = 4096;

/** How long a killed container may take to close its streams before the run is declared stuck. */
const KILL_GRACE_MS = 10_000;

/** An exec's exit code; the engine may record it a moment after the stream ended. */
async function exitCodeOf(exec: Docker.Exec): Promise<number | null> {
  // Not p-retry: a short poll of a state that is not a failure (and an inspect error ends it at once).
  for (let attempt = 0; attempt < 20; attempt++) {
    const info = await exec.inspect().catch(() => undefined);
    if (!info) return null;
    if (!info.Running) return info.ExitCode;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return null;
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

export class SandboxContainer {
  readonly createdAt = Date.now();
  private sink: ((chunk: Buffer) => void) | undefined;
  private closed = false;
  private used = false;
  private readonly closeWaiters: (() => void)[] = [];

  private constructor(
    readonly container: Docker.Container,
    private readonly stream: Duplex,
    readonly shape: ContainerShape,
    readonly deadline: number,
  ) {
    // Read from the start: nothing arrives while the waiter waits, and a stream that is read notices
    // at once when the container dies under us (so the pool drops it).
    stream.on('data', (chunk: Buffer) => this.sink?.(chunk));
    const onClose = () => {
      this.closed = true;
      for (const wake of this.closeWaiters.splice(0)) wake();
    };
    stream.once('end', onClose);
    stream.once('close', onClose);
    stream.on('error', onClose);
  }

  get id(): string {
    return this.container.id;
  }

  /** Started, waiting for code, never used. */
  get usable(): boolean {
    return !this.closed && !this.used;
  }

  static async prepare(docker: Docker, options: PrepareOptions): Promise<SandboxContainer> {
    const container = await docker.createContainer({
      Image: options.image,
      // Entrypoint and Cmd both set, so an image's own ENTRYPOINT cannot wrap or replace the waiter.
      Entrypoint: ['/bin/sh', '-c'],
      Cmd: [WAITER_SCRIPT],
      // Explicit, whatever USER the image declares.
      User: `${SANDBOX_UID}:${SANDBOX_UID}`,
      WorkingDir: WORK_DIR,
      Env: [...SANDBOX_ENV],
      Hostname: 'sandbox',
      Labels: sandboxLabels(options.pool, options.deadline),
      OpenStdin: true,
      // Docker closes stdin when the attached client goes away: an idle waiter whose owner died reads
      // EOF and exits instead of waiting forever.
      StdinOnce: true,
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      NetworkDisabled: options.shape.network === 'none' && !options.shape.egress,
      HostConfig: hostConfigFor(options.limits, options.shape),
    });
    try {
      // Attach before start so not one byte of output can be missed.
      const stream = await container.attach({
        stream: true,
        stdin: true,
        stdout: true,
        stderr: true,
        hijack: true,
      });
      if (!(stream instanceof Duplex)) throw new Error('docker attach did not return a duplex stream');
      const prepared = new SandboxContainer(container, stream, options.shape, options.deadline);
      await container.start();
      return prepared;
    } catch (error) {
      await container.remove({ force: true }).catch(() => undefined);
      throw error;
    }
  }

  /** Runs one payload (payload.ts) and returns once both streams ended or the time limit killed it. */
  async execute(
    payload: Buffer | Readable,
    nonce: string,
    outputLimitBytes: number,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<Execution> {
    if (!this.usable) throw new Error('a sandbox container runs one program only');
    this.used = true;
    const output = new RunOutput(outputLimitBytes, nonce);
    let timedOut = false;
    const done = new Promise<'complete' | 'closed'>((resolve) => {
      this.sink = (chunk) => {
        output.push(chunk);
        if (output.complete) resolve('complete');
      };
      this.closeWaiters.push(() => resolve('closed'));
      if (this.closed) resolve('closed');
    });
    let stuckTimer: NodeJS.Timeout | undefined;
    const stuck = new Promise<'stuck'>((resolve) => {
      const timer = setTimeout(() => {
        timedOut = true;
        this.kill();
        stuckTimer = setTimeout(() => resolve('stuck'), KILL_GRACE_MS);
      }, timeoutMs);
      this.closeWaiters.push(() => clearTimeout(timer));
      done.then(() => clearTimeout(timer));
    });
    let cancelled = false;
    const onAbort = () => {
      cancelled = true;
      this.kill();
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    let payloadError: unknown;
    if (Buffer.isBuffer(payload)) this.stream.end(payload);
    else {
      // A workspace is streamed from the host's disk; if reading it fails, the run cannot be trusted.
      payload.once('error', (error) => {
        payloadError = error;
        this.kill();
      });
      payload.pipe(this.stream);
    }
    // A race, not a signal: the streams cannot be aborted, only killed and then given up on (stuck).
    const how = await Promise.race([done, stuck]);
    signal?.removeEventListener('abort', onAbort);
    clearTimeout(stuckTimer);
    this.sink = undefined;
    if (how === 'stuck') {
      throw new DeckhandError('SANDBOX_TIMEOUT', 'The sandbox did not stop after its time limit.', {
        detail: `container ${this.id.slice(0, 12)} still streaming ${KILL_GRACE_MS} ms after kill`,
      });
    }
    if (payloadError) throw payloadError;
    const marker = output.marker;
    if (timedOut || cancelled) {
      return {
        output,
        exitCode: null,
        timedOut,
        oomKilled: false,
        cancelled,
        diskFull: false,
        reported: false,
      };
    }
    if (how === 'complete' && marker) {
      return {
        output,
        exitCode: marker.exitCode,
        timedOut,
        oomKilled: marker.oomKills > 0,
        cancelled,
        diskFull: marker.diskFull,
        reported: true,
      };
    }
    // The streams closed without the waiter's end line: PID 1 itself died (the OOM killer chose it,
    // or the container was killed from outside). Docker's own record is all there is.
    const state = await this.exitState();
    return {
      output,
      exitCode: state.exitCode,
      timedOut,
      oomKilled: state.oomKilled,
      cancelled,
      diskFull: false,
      reported: false,
    };
  }

  /** Streams the work folder out as a tar (see ARCHIVE_SCRIPT); the caller bounds what it reads. */
  async archiveWorkDir(): Promise<WorkArchive> {
    const exec = await this.container.exec({
      Cmd: ['/bin/sh', '-c', ARCHIVE_SCRIPT],
      AttachStdin: false,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      User: `${SANDBOX_UID}:${SANDBOX_UID}`,
      Env: [...SANDBOX_ENV],
      WorkingDir: '/',
    });
    const stream = (await exec.start({ hijack: true, stdin: false })) as Duplex;
    const stdout = new PassThrough();
    let stderr = '';
    // Backpressure: the socket pauses while the host is still writing what it already got.
    stdout.on('drain', () => stream.resume());
    const splitter = new FrameSplitter((type, data) => {
      if (type === STDOUT && !stdout.write(data)) stream.pause();
      else if (type === STDERR && stderr.length < STDERR_KEPT) stderr += data.toString('utf8');
    });
    stream.on('data', (chunk: Buffer) => splitter.push(chunk));
    const finished = new Promise<{ exitCode: number | null; stderr: string }>((resolve) => {
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        stdout.end();
        void exitCodeOf(exec).then((exitCode) => resolve({ exitCode, stderr }));
      };
      stream.once('end', end);
      stream.once('close', end);
      stream.once('error', end);
    });
    return { stdout, finished, stop: () => stream.destroy() };
  }

  private async exitState(): Promise<{ exitCode: number | null; oomKilled: boolean }> {
    try {
      // Up to 5 s for the engine to record the exit (the request is closed then); inspect tells either way.
      await this.container
        .wait({ condition: 'not-running', abortSignal: AbortSignal.timeout(5000) })
        .catch((error: unknown) => {
          if ((error as Error | null)?.name !== 'AbortError') throw error;
        });
      const info = await this.container.inspect();
      if (info.State.Running) return { exitCode: null, oomKilled: info.State.OOMKilled };
      return { exitCode: info.State.ExitCode, oomKilled: info.State.OOMKilled };
    } catch {
      return { exitCode: null, oomKilled: false };
    }
  }

  private kill(): void {
    this.container.kill({ signal: 'SIGKILL' }).catch(() => undefined);
  }

  /** Kills and removes the container; already gone is fine. */
  async remove(): Promise<void> {
    this.used = true;
    this.stream.destroy();
    try {
      await this.container.remove({ force: true });
    } catch (error) {
      const status = statusOf(error);
      if (status !== 404 && status !== 409) throw error;
    }
  }
}
