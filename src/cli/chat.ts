/**
 * `deckhand chat`: a terminal conversation through the same pipeline, worker, router and
 * orchestrator as Slack, Discord and GitHub. Reads lines (interactive or piped), waits for each reply.
 * On a fresh machine it first brings up what it needs (store, Docker engine, sandbox image), one
 * progress line per step on stderr, so replies on stdout stay clean and `run python` works.
 */
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { createEventHandler, createWorker, TerminalSink, terminalEvent } from '../bots/index.js';
import { createLogger, loadConfig, userMessageOf } from '../core/index.js';
import { isFinished } from '../store/index.js';
import { openRuntime } from './runtime.js';
import { bringUpSandbox } from './sandbox.js';

export async function chatCommand(): Promise<number> {
  const config = loadConfig();
  const log = createLogger({ level: process.env.LOG_LEVEL ?? 'warn' });
  const progress = process.stderr;
  const runtime = await openRuntime(config, log, {
    progress,
    prepareSandbox: () => bringUpSandbox(config, progress),
  });
  const sink = new TerminalSink(process.stdout);
  const worker = createWorker({
    store: runtime.store,
    pipeline: runtime.pipeline,
    concurrency: 1,
    leaseMs: config.tasks.leaseMs,
    logger: log,
    handler: createEventHandler({
      store: runtime.store,
      sinkFor: () => sink,
      rateLimits: runtime.rateLimits,
      logger: log,
      digestMinIntervalMinutes: config.digests.minIntervalMinutes,
      // The same policy as `deckhand start`: at the terminal the operator is the owner.
      access: runtime.access,
      approvalTimeoutMs: config.access.approvalTimeoutMinutes * 60_000,
      ...(runtime.codeRunner ? { codeRunner: runtime.codeRunner } : {}),
      ...(runtime.orchestrator ? { orchestrator: runtime.orchestrator } : {}),
    }),
    onGiveUp: async (_task, message) => {
      await sink.post(`I could not finish that: ${message}`);
    },
  });
  worker.start();
  const session = randomUUID();
  const interactive = process.stdin.isTTY === true;
  if (interactive) process.stdout.write('Deckhand terminal chat. Type `help`, or Ctrl-D to leave.\n');
  // output: without it a terminal shows neither the prompt nor what is typed (raw mode, no echo).
  const lines = createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: interactive,
    prompt: 'you> ',
  });
  if (interactive) lines.prompt();
  // A run of code may be multi-line: lines inside an open ``` block are joined before sending.
  let pending: string[] = [];
  for await (const line of lines) {
    pending.push(line);
    const text = pending.join('\n');
    if ((text.match(/```/g)?.length ?? 0) % 2 === 1) continue;
    if (/^\s*run\s+\w+\s*$/i.test(text)) continue; // `run python` alone: the code block follows
    pending = [];
    if (!text.trim()) {
      if (interactive) lines.prompt();
      continue;
    }
    if (['exit', 'quit'].includes(text.trim())) break;
    try {
      const { taskId } = await runtime.pipeline.ingest(terminalEvent(text, session));
      for (;;) {
        const task = await runtime.store.getTask(taskId);
        if (!task || isFinished(task.status)) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    } catch (error) {
      process.stdout.write(`deckhand> ${userMessageOf(error)}\n`);
    }
    if (interactive) lines.prompt();
  }
  await worker.stop(5000);
  await runtime.close();
  return 0;
}
