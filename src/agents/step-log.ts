/**
 * The GitHub workspace agent's steps, condensed in the tracking comment: one line per tool call
 * (`✓ view README.md`, `✗ run npm test`), in one section under the checklist that is edited as the
 * agent goes, so people watching the issue see what it is doing. Targets come from model output:
 * they are shown inside code spans (no mentions, no links), cut short, backticks removed.
 */
import type { PostedReply, ReplySink } from '../core/index.js';
import type { ToolCall } from './types.js';

/** Lines shown; older steps are counted, not listed. */
export const STEPS_SHOWN = 20;
const TARGET_CHARS = 80;

/** What a call acted on: its path, pattern, command's first line or language. */
function targetOf(call: ToolCall): string {
  const args = (
    typeof call.arguments === 'object' && call.arguments !== null ? call.arguments : {}
  ) as Record<string, unknown>;
  const raw = [args.path, args.pattern, args.command, args.language].find((v) => typeof v === 'string');
  const line = String(raw ?? '')
    .split('\n')[0]!
    .replaceAll('`', "'")
    .trim();
  return line.length > TARGET_CHARS ? `${line.slice(0, TARGET_CHARS)}…` : line;
}

export function stepLine(call: ToolCall, failed: boolean): string {
  const target = targetOf(call);
  const name = call.name.replaceAll('`', "'");
  return `${failed ? '✗' : '✓'} \`${name}\`${target ? ` \`${target}\`` : ''}`;
}

export class StepLog {
  private readonly lines: string[] = [];
  private posted: PostedReply | undefined;

  constructor(private readonly sink: ReplySink) {}

  render(): string {
    const hidden = this.lines.length - STEPS_SHOWN;
    const shown = hidden > 0 ? this.lines.slice(hidden) : this.lines;
    return ['**Steps**', ...(hidden > 0 ? [`(${hidden} earlier)`] : []), ...shown].join('\n');
  }

  /** Adds a step and shows the section; a failed edit never stops the change. */
  async add(line: string): Promise<void> {
    this.lines.push(line);
    try {
      if (this.posted) await this.sink.update(this.posted, this.render());
      else this.posted = await this.sink.post(this.render());
    } catch {
      // The tracking comment is a view of the work; the work goes on without it.
    }
  }
}
