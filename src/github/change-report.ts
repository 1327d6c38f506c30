/**
 * What a GitHub change tells people about the sandbox runs it made: why a script changed nothing,
 * the tests section of the pull request and tracking comment, each with a tail of the output, and
 * the pull request body's "what changed" part, which a follow-up rewrites.
 */
import { DeckhandError } from '../core/index.js';
import type { RunResult } from '../runners/index.js';
import type { TestVerdict } from './detect-tests.js';

const OUTPUT_TAIL = 3000;

/** stdout, then stderr on a line of its own. */
function outputOf(result: RunResult): string {
  return `${result.stdout}${result.stderr ? `\n${result.stderr}` : ''}`;
}

function tail(text: string, max = OUTPUT_TAIL): string {
  const trimmed = text.trimEnd();
  return trimmed.length > max ? `…${trimmed.slice(-max)}` : trimmed;
}

export function fenced(text: string, lang = ''): string {
  const fence = text.includes('```') ? '~~~~' : '```';
  return `${fence}${lang}\n${text}\n${fence}`;
}

/** Why a script's run changed nothing (with its output's tail), or undefined when it succeeded. */
export function scriptFailure(result: RunResult): DeckhandError | undefined {
  if (result.exitCode === 0 && !result.diskFull) return undefined;
  const code = result.exitCode ?? 'none';
  let why = `Your script exited with code ${code}${result.oomKilled ? ' (out of memory)' : ''}, so I changed nothing.`;
  if (result.timedOut) why = 'Your script ran past the sandbox time limit and was stopped.';
  else if (result.diskFull) {
    why = `Your script hit the sandbox's disk limit (its work folder filled up; exit code ${code}), so I changed nothing.`;
  }
  const output = tail(outputOf(result), 1500);
  return new DeckhandError('BAD_REQUEST', output ? `${why}\n\n${fenced(output)}` : why);
}

export const VERDICT_TEXT: Record<TestVerdict, string> = {
  passed: '✅ passed',
  failed: '❌ failed',
  'not run': '⚠️ could not run',
  'timed out': '⏱️ timed out',
};

export interface TestReport {
  label: string;
  verdict: TestVerdict;
  result: RunResult;
}

export function testsSection(report: TestReport | undefined): string {
  if (!report)
    return '**Tests:** none detected (no package.json test script, pytest, go.mod or Makefile `test` target).';
  const output = tail(outputOf(report.result));
  return [
    `**Tests** (\`${report.label}\` in Deckhand's sandbox, no network): ${VERDICT_TEXT[report.verdict]} (exit ${report.result.exitCode ?? 'none'})`,
    output ? `<details><summary>Output</summary>\n\n${fenced(output)}\n\n</details>` : '',
  ]
    .filter(Boolean)
    .join('\n\n');
}

/** The part of a pull request's body a follow-up rewrites: between these two markers. */
const CHANGED_START = '<!-- deckhand:what-changed -->';
const CHANGED_END = '<!-- /deckhand:what-changed -->';
/** GitHub caps a body at 65 536 characters; the rest of the body needs a few thousand. */
const MAX_SUMMARY_CHARS = 40_000;

/** What changed (the summary, the files) and the tests, between the markers a follow-up rewrites. */
export function whatChanged(summary: string, changed: string[], report: TestReport | undefined): string {
  const listed = changed.slice(0, 50).map((p) => `\`${p}\``);
  if (changed.length > listed.length) listed.push(`and ${changed.length - listed.length} more`);
  const changedList = listed.length ? `\n\n**Changed:** ${listed.join(', ')}` : '';
  const shown =
    summary.length > MAX_SUMMARY_CHARS ? `${summary.slice(0, MAX_SUMMARY_CHARS)}\n… (cut)` : summary;
  return [CHANGED_START, shown + changedList, testsSection(report), CHANGED_END].join('\n\n');
}

/**
 * `body` with its "what changed" part replaced by `section`, or undefined when the body has no such
 * part (written by hand, or before the markers): then it is left as it is.
 */
export function rewrittenBody(body: string, section: string): string | undefined {
  const start = body.indexOf(CHANGED_START);
  const end = start < 0 ? -1 : body.indexOf(CHANGED_END, start);
  if (start < 0 || end < 0) return undefined;
  return body.slice(0, start) + section + body.slice(end + CHANGED_END.length);
}
