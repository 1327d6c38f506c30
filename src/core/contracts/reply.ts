/**
 * Everything a user sees goes through a ReplySink. Each adapter implements it for its platform
 * (Slack message + edits, Discord follow-up + edits, GitHub one tracking comment, the terminal).
 */
export type ReplyStatus = 'working' | 'done' | 'failed';

export interface PostedReply {
  /** Platform id of the posted message, for later updates. */
  id: string;
}

/**
 * A button under a reply. Pressing it sends `command` through the pipeline as if the user had typed it
 * (`cancel`, `confirm <id>`), so buttons need no parsing of their own.
 */
export interface ReplyAction {
  label: string;
  command: string;
  style?: 'primary' | 'danger';
}

/** Optional extras a platform may render; sinks that cannot render them show the text alone. */
export interface ReplyOptions {
  actions?: ReplyAction[];
}

export interface ReplySink {
  post(text: string, options?: ReplyOptions): Promise<PostedReply>;
  /** Edits are throttled by the platform sinks; the last text given is always the one shown. */
  update(reply: PostedReply, text: string, options?: ReplyOptions): Promise<void>;
  /** Marks the original message (a reaction on Slack, a status line elsewhere). */
  status(status: ReplyStatus): Promise<void>;
  /**
   * Takes over a message an earlier attempt of the same task posted, as if this sink had posted it
   * (its next post is then a follow-up): for sinks whose first post is special (Discord's deferred
   * interaction response). See src/bots/reply-keys.ts.
   */
  adopt?(reply: PostedReply): void;
}

/** Edits are throttled: platforms rate-limit updates (Slack chat.update ~1/s per message). */
export const UPDATE_INTERVAL_MS = 1000;

/**
 * Streams text chunks into one message as throttled edits: posts the first chunk, then edits with the
 * accumulated text at most once per interval, and always writes the final text.
 */
export async function streamReply(
  sink: ReplySink,
  chunks: AsyncIterable<string>,
  intervalMs = UPDATE_INTERVAL_MS,
): Promise<string> {
  let text = '';
  let posted: PostedReply | undefined;
  let lastEdit = 0;
  let shown = '';
  for await (const chunk of chunks) {
    text += chunk;
    if (!posted) {
      posted = await sink.post(text);
      shown = text;
      lastEdit = Date.now();
    } else if (Date.now() - lastEdit >= intervalMs) {
      await sink.update(posted, text);
      shown = text;
      lastEdit = Date.now();
    }
  }
  if (!posted) await sink.post(text || '(no output)');
  else if (shown !== text) await sink.update(posted, text);
  return text;
}

/** A sink that records what it was asked to show: used by the terminal and by tests. */
export class MemorySink implements ReplySink {
  readonly messages: string[] = [];
  readonly statuses: ReplyStatus[] = [];
  constructor(private readonly onChange?: (text: string, kind: 'post' | 'update') => void) {}
  async post(text: string): Promise<PostedReply> {
    this.messages.push(text);
    this.onChange?.(text, 'post');
    return { id: String(this.messages.length - 1) };
  }
  async update(reply: PostedReply, text: string): Promise<void> {
    this.messages[Number(reply.id)] = text;
    this.onChange?.(text, 'update');
  }
  async status(status: ReplyStatus): Promise<void> {
    this.statuses.push(status);
  }
}
