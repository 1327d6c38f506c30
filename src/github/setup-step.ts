/**
 * The setup step of a GitHub change: install the repository's dependencies (found by
 * dependencies.ts, or its `.deckhand.yml` setup command) in the sandbox, with network only through the
 * allow-listed registry proxy (src/runners setup-run.ts), so that the agent's runs and the tests (which
 * have no network) find them. What the install leaves (node_modules/, .venv/, .gomodcache/) is
 * excluded from the change. A failed install is shown and the change goes on: the tests will say what
 * is missing.
 */
import type { DependencyInstaller, RunResult } from '../runners/index.js';
import type { ChangeRun, Checkout } from './change-steps.js';
import { DEPENDENCY_FOLDERS, detectSetup, SETUP_TOOL_MISSING_EXIT } from './dependencies.js';
import { excludeFromChanges, submodulePaths } from './git.js';
import type { RepoSettings } from './repo-settings.js';

/** The last lines of a failed install's output, for the tracking comment. */
const OUTPUT_TAIL_CHARS = 1500;

function failureNote(result: RunResult): string {
  if (result.timedOut) return 'timed out';
  if (result.exitCode === SETUP_TOOL_MISSING_EXIT) return 'a tool is missing from the sandbox image';
  return `failed (exit ${result.exitCode ?? 'none'})`;
}

/** The end of the output, in a fenced block whose fence the output cannot close. */
function tail(result: RunResult): string {
  const text = `${result.stdout}\n${result.stderr}`.trim();
  const cut = text.length > OUTPUT_TAIL_CHARS ? `…${text.slice(-OUTPUT_TAIL_CHARS)}` : text;
  const fence = '`'.repeat(Math.max(3, ...[...cut.matchAll(/`+/g)].map((m) => m[0].length + 1)));
  return `${fence}\n${cut}\n${fence}`;
}

export async function installDependencies(
  run: ChangeRun,
  installer: DependencyInstaller | undefined,
  { ws }: Checkout,
  settings: RepoSettings,
): Promise<void> {
  const { checklist, ctx } = run;
  checklist.set('setup', 'running');
  await run.show();
  ctx.signal.throwIfAborted();
  const setup = await detectSetup(ws.workDir, settings);
  if (!setup) {
    checklist.set('setup', 'skipped', 'no dependencies to install');
    return;
  }
  if (!installer) {
    checklist.set('setup', 'skipped', `\`${setup.label}\` not run: dependency installs are off here`);
    return;
  }
  checklist.relabel('setup', `Install dependencies (\`${setup.label}\`) through the registry proxy`);
  await run.show();
  await excludeFromChanges(ws, DEPENDENCY_FOLDERS);
  const result = await installer.install({
    repository: ctx.request.fullName,
    lockHash: setup.lockHash,
    script: setup.script,
    workspace: { dir: ws.workDir, sealed: await submodulePaths(ws) },
    taskId: ctx.taskId,
    signal: ctx.signal,
  });
  ctx.signal.throwIfAborted();
  if (result.exitCode === 0 && !result.timedOut) {
    checklist.set('setup', 'done', `${Math.round(result.durationMs / 100) / 10} s`);
    return;
  }
  checklist.set('setup', 'failed', failureNote(result));
  checklist.addOutcome(
    `**Installing dependencies ${failureNote(result)}**; I went on without them:\n\n${tail(result)}`,
  );
}
