/**
 * A real worker process for the crash test: the store's queue and our worker module, with a
 * workload that records when it starts and finishes (the side effect that must happen once).
 * Usage: node --import tsx test/support/crash-worker.ts <mongodb-uri> <workMs> <name>
 */
// worker.ts itself, not the bots door: the door loads every adapter, ~10 s more start-up on a
// loaded machine, and the crash tests give a fresh worker process 20 s to pick up a task.
import { createWorker } from '../../src/bots/worker.js';
import { createLogger } from '../../src/core/index.js';
import { openStore } from '../../src/store/index.js';

const [uri = '', workMs = '0', name = 'worker'] = process.argv.slice(2);
const store = await openStore({ uri, retryBaseMs: 0 });
const worker = createWorker({
  store,
  id: name,
  kinds: ['crash.test'],
  concurrency: 2,
  // Renewed every third of it; under a loaded CI machine 1.5 s expired mid-task and the sweeper took over.
  leaseMs: 3000,
  pollMs: 50,
  sweepMs: 300,
  logger: createLogger({ level: 'silent', pretty: false }),
  handler: async (task) => {
    await store.recordAudit({ actor: name, action: 'work.started', target: task.id, outcome: 'allowed' });
    await new Promise((resolve) => setTimeout(resolve, Number(workMs)));
    await store.recordAudit({ actor: name, action: 'work.done', target: task.id, outcome: 'succeeded' });
    return { by: name };
  },
  onGiveUp: async (task, message) => {
    await store.recordAudit({
      actor: name,
      action: 'user.told',
      target: task.id,
      outcome: 'failed',
      detail: message,
    });
  },
});
worker.start();
process.stdout.write('ready\n');
process.on('SIGTERM', async () => {
  await worker.stop(5000);
  await store.close();
  process.exit(0);
});
