/**
 * Slack replies through the Web API: chat.postMessage into the event's thread, chat.update for edits
 * (at most one per message per `editIntervalMs`, the last text always shown), and reactions on the
 * message that asked for status (👀 working, ✅ done, ❌ failed). Markdown becomes mrkdwn; a reply
 * longer than one message is split into several, and one longer than `fileOverChars` becomes a file
 * snippet in the thread with a preview. Slash commands have no thread: they answer on response_url.
 */

import type { NormalizedEvent, PostedReply, ReplyOptions, ReplySink, ReplyStatus } from '../../core/index.js';
import {
  createEditThrottle,
  DeckhandError,
  type RetryOptions,
  type SinkLogger,
  sendJson,
  splitMessage,
  truncateText,
  withRetries,
} from '../../core/index.js';
import { createSlackApi, type SlackTokenSource, slackAnswerSchema, slackVerdict } from './api.js';
import { uploadSlackSnippet } from './files.js';
import { markdownToMrkdwn, SLACK_MESSAGE_MAX, slackBlocks } from './format.js';

export { SLACK_API_URL } from './api.js';
/** Slack truncates message text at 40,000 characters; stay below it with a visible marker. */
export const SLACK_MAX_TEXT = 39_000;
/** Preview shown in the thread next to a file snippet. */
const SNIPPET_PREVIEW_CHARS = 1500;

export interface SlackSinkOptions {
  /** xoxb- token, or a lookup of the workspace's installation. Only ever sent in the Authorization header. */
  botToken: SlackTokenSource;
  /** Web API base, default https://slack.com/api (SLACK_API_URL overrides it in tests). */
  apiUrl?: string;
  retry?: RetryOptions;
  logger?: SinkLogger;
  /**
   * Origins a response_url may have (default Slack's hooks host): the URL comes from the request
   * body, so any other is refused rather than POSTed to (SLACK_RESPONSE_URL_ORIGINS in tests).
   */
  responseUrlOrigins?: readonly string[];
  /** Who sees response_url replies: the channel (default) or only the user who ran the command. */
  responseType?: 'in_channel' | 'ephemeral';
  /** Least time between two edits of one message (default 1000 ms: Slack allows about one a second). */
  editIntervalMs?: number;
  /** Replies longer than this become a file snippet (default 12,000 characters). */
  fileOverChars?: number;
  /** Clock for the edit throttle (tests). */
  now?: () => number;
}

const REACTIONS: Record<ReplyStatus, string> = {
  working: 'eyes',
  done: 'white_check_mark',
  failed: 'x',
};

/** Where Slack's response_url points: its hooks host, over HTTPS. */
export const SLACK_RESPONSE_URL_ORIGINS: readonly string[] = ['https://hooks.slack.com'];

/** Whether `url` is on one of `origins` (scheme, host and port compared, as URL.origin gives them). */
export function isAllowedResponseUrl(
  url: string,
  origins: readonly string[] = SLACK_RESPONSE_URL_ORIGINS,
): boolean {
  try {
    return origins.includes(new URL(url).origin);
  } catch {
    return false;
  }
}

/** Reply ids of messages posted through response_url (Slack returns no ts for those). */
const RESPONSE_URL_ID = 'response_url:';

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(not a URL)';
  }
}

export function createSlackSink(event: NormalizedEvent, options: SlackSinkOptions): ReplySink {
  const { replyTo } = event;
  const channel = replyTo.channel ?? event.channelId;
  const threadTs = event.threadId || undefined;
  const givenResponseUrl = !threadTs ? replyTo.responseUrl : undefined;
  // A response_url elsewhere than Slack's hooks is never called (a forged body could aim the worker
  // at any address); the reply goes to the channel through the Web API instead.
  const responseUrl =
    givenResponseUrl && isAllowedResponseUrl(givenResponseUrl, options.responseUrlOrigins)
      ? givenResponseUrl
      : undefined;
  if (givenResponseUrl && !responseUrl) {
    options.logger?.warn(
      { origin: originOf(givenResponseUrl) },
      'response_url is not on an allowed Slack origin; replying in the channel instead',
    );
  }
  /** The message status reactions go on: the clicked message, else the mention (or its thread root). */
  const reactionTs = replyTo.messageTs || replyTo.threadTs || undefined;
  const retry = options.retry ?? {};
  const api = createSlackApi({ token: options.botToken, apiUrl: options.apiUrl, retry });
  const fileOverChars = options.fileOverChars ?? 12_000;
  const throttle = createEditThrottle({
    intervalMs: options.editIntervalMs ?? 1000,
    ...(options.now ? { now: options.now } : {}),
    ...(retry.sleep ? { sleep: retry.sleep } : {}),
  });
  /** Every message a reply occupies, first one first (a split reply has several). */
  const parts = new Map<string, string[]>();
  /** The file holding each reply's full text, when it was too long for messages. */
  const files = new Map<string, { id: string; content: string }>();

  let responseCount = 0;

  async function callResponseUrl(url: string, body: Record<string, unknown>): Promise<void> {
    await withRetries(
      'Slack response_url reply',
      async () => {
        // No Authorization header: the URL itself is the credential.
        const response = await sendJson(url, { method: 'POST', body, timeoutMs: retry.timeoutMs });
        const parsed = slackAnswerSchema.safeParse(response.body);
        const answer = parsed.success ? response.body : { ok: response.status < 300 };
        return slackVerdict(response.status, response.headers, answer, []);
      },
      retry,
    );
  }

  /** Messages that carry blocks (buttons): an edit without buttons must clear them explicitly. */
  const withBlocks = new Set<string>();

  function message(text: string, reply: ReplyOptions | undefined, ts?: string): Record<string, unknown> {
    const actions = reply?.actions ?? [];
    if (actions.length > 0) return { text, blocks: slackBlocks(text, actions) };
    // chat.update keeps a message's blocks unless given an empty list.
    return ts && withBlocks.has(ts) ? { text, blocks: [] } : { text };
  }

  function noteBlocks(ts: string, reply: ReplyOptions | undefined): void {
    if (reply?.actions?.length) withBlocks.add(ts);
    else withBlocks.delete(ts);
  }

  async function postOne(text: string, reply: ReplyOptions | undefined): Promise<string> {
    const answer = await api('chat.postMessage', {
      channel,
      ...(threadTs ? { thread_ts: threadTs } : {}),
      ...message(text, reply),
      mrkdwn: true,
    });
    if (!answer.ts) {
      throw new DeckhandError('UPSTREAM_FAILED', 'Slack chat.postMessage answered without a message ts.');
    }
    noteBlocks(answer.ts, reply);
    return answer.ts;
  }

  /** The messages a text needs: one per part, or a preview when it goes out as a file. */
  /**
   * The messages a text needs: one per part, or a preview when it goes out as a file. A reply whose
   * long text changes (streamed output) gets the new file and loses the old one, so the file in the
   * thread always holds the text the preview shows.
   */
  async function render(
    markdown: string,
    reply: string | undefined,
  ): Promise<{ texts: string[]; file?: { id: string; content: string } }> {
    const mrkdwn = markdownToMrkdwn(markdown || '(no output)');
    const previous = reply ? files.get(reply) : undefined;
    if (mrkdwn.length <= fileOverChars) {
      if (reply && previous) {
        files.delete(reply);
        await api('files.delete', { file: previous.id }, { accept: ['file_not_found', 'file_deleted'] });
      }
      return { texts: splitMessage(mrkdwn, SLACK_MESSAGE_MAX) };
    }
    let file = previous;
    if (previous?.content !== markdown) {
      const id = await uploadSlackSnippet(
        api,
        { channel, threadTs, filename: 'deckhand-output.txt', title: 'Full output', content: markdown },
        retry,
      );
      if (previous)
        await api('files.delete', { file: previous.id }, { accept: ['file_not_found', 'file_deleted'] });
      file = { id, content: markdown };
    }
    const preview = splitMessage(mrkdwn, SNIPPET_PREVIEW_CHARS)[0] ?? '';
    const lines = markdown.split('\n').length;
    return { texts: [`${preview}\n_… ${lines} lines in all: the full output is in the file above._`], file };
  }

  return {
    async post(text: string, reply?: ReplyOptions): Promise<PostedReply> {
      if (responseUrl) {
        await callResponseUrl(responseUrl, {
          ...message(truncateText(markdownToMrkdwn(text), SLACK_MAX_TEXT), reply),
          response_type: options.responseType ?? 'in_channel',
          replace_original: false,
        });
        responseCount += 1;
        return { id: `${RESPONSE_URL_ID}${responseCount}` };
      }
      const { texts, file } = await render(text, undefined);
      const posted: string[] = [];
      for (const [index, part] of texts.entries()) {
        // Buttons go under the last part, where the reader ends up.
        posted.push(await postOne(part, index === texts.length - 1 ? reply : undefined));
      }
      const id = posted[0] ?? '';
      parts.set(id, posted);
      if (file) files.set(id, file);
      throttle.posted(id);
      return { id };
    },

    async update(reply: PostedReply, text: string, more?: ReplyOptions): Promise<void> {
      if (reply.id.startsWith(RESPONSE_URL_ID)) {
        if (!responseUrl) return;
        await throttle.edit(reply.id, () =>
          callResponseUrl(responseUrl, {
            ...message(truncateText(markdownToMrkdwn(text), SLACK_MAX_TEXT), more),
            replace_original: true,
          }),
        );
        return;
      }
      await throttle.edit(reply.id, async () => {
        const { texts, file } = await render(text, reply.id);
        if (file) files.set(reply.id, file);
        const existing = parts.get(reply.id) ?? [reply.id];
        const next: string[] = [];
        for (const [index, part] of texts.entries()) {
          const extras = index === texts.length - 1 ? more : undefined;
          const ts = existing[index];
          if (ts) {
            await api('chat.update', { channel, ts, ...message(part, extras, ts) });
            noteBlocks(ts, extras);
            next.push(ts);
          } else {
            next.push(await postOne(part, extras));
          }
        }
        // A reply that got shorter leaves no stale parts behind.
        for (const ts of existing.slice(texts.length)) {
          await api('chat.delete', { channel, ts }, { accept: ['message_not_found'] });
        }
        parts.set(reply.id, next);
      });
    },

    async status(status: ReplyStatus): Promise<void> {
      if (!reactionTs) {
        options.logger?.debug({ channel, status }, 'Slack event has no message to react on; status skipped');
        return;
      }
      await api(
        'reactions.add',
        { channel, timestamp: reactionTs, name: REACTIONS[status] },
        { accept: ['already_reacted'] },
      );
      if (status === 'working') return;
      try {
        await api(
          'reactions.remove',
          { channel, timestamp: reactionTs, name: REACTIONS.working },
          { accept: ['no_reaction'] },
        );
      } catch (error) {
        // The final reaction is on; a leftover 👀 is cosmetic.
        options.logger?.warn({ err: error, channel }, 'could not remove the Slack working reaction');
      }
    },
  };
}
