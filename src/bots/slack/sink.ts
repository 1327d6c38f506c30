/**
 * Slack replies through the Web API (WebClient, see api.ts): chat.postMessage into the event's
 * thread, chat.update for edits (at most one per message per `editIntervalMs`, the last text always
 * shown), and reactions on the message that asked for status (👀 working, ✅ done, ❌ failed).
 * Markdown becomes mrkdwn; a reply longer than one message is split into several, and one longer
 * than `fileOverChars` becomes a file snippet in the thread with a preview. Slash commands have no
 * thread: they answer on response_url (response-url.ts).
 */
import type { WebAPICallResult, WebClient } from '@slack/web-api';
import { z } from 'zod';
import type { NormalizedEvent, PostedReply, ReplyOptions, ReplySink, ReplyStatus } from '../../core/index.js';
import {
  createEditThrottle,
  DeckhandError,
  type RetryOptions,
  type SinkLogger,
  splitMessage,
  truncateText,
} from '../../core/index.js';
import { callSlack, createSlackClients, type SlackClients } from './api.js';
import { deleteSlackFile, uploadSlackSnippet } from './files.js';
import { markdownToMrkdwn, SLACK_MESSAGE_MAX, slackBlocks } from './format.js';
import { isAllowedResponseUrl, originOf, postToResponseUrl } from './response-url.js';

export { SLACK_API_URL } from './api.js';
export { isAllowedResponseUrl, SLACK_RESPONSE_URL_ORIGINS } from './response-url.js';

/** Slack truncates message text at 40,000 characters; stay below it with a visible marker. */
export const SLACK_MAX_TEXT = 39_000;
/** Preview shown in the thread next to a file snippet. */
const SNIPPET_PREVIEW_CHARS = 1500;

/** The bot token: fixed (SLACK_BOT_TOKEN) or looked up when first needed (multi-workspace installs). */
export type SlackBotToken = string | (() => Promise<string>);

export interface SlackSinkOptions {
  /** xoxb- token, or a lookup of the workspace's installation. Only ever sent in the Authorization header. */
  botToken: SlackBotToken;
  /** Web API base, default https://slack.com/api (SLACK_API_URL overrides it in tests). */
  apiUrl?: string | undefined;
  retry?: RetryOptions | undefined;
  logger?: SinkLogger | undefined;
  /** WebClients shared with other sinks (the adapter's), so a 429 pauses every call for the workspace. */
  clients?: SlackClients | undefined;
  /**
   * Origins a response_url may have (default Slack's hooks host): the URL comes from the request
   * body, so any other is refused rather than POSTed to (SLACK_RESPONSE_URL_ORIGINS in tests).
   */
  responseUrlOrigins?: readonly string[] | undefined;
  /** Who sees response_url replies: the channel (default) or only the user who ran the command. */
  responseType?: 'in_channel' | 'ephemeral';
  /** Least time between two edits of one message (default 1000 ms: Slack allows about one a second). */
  editIntervalMs?: number | undefined;
  /** Replies longer than this become a file snippet (default 12,000 characters). */
  fileOverChars?: number | undefined;
  /** Clock for the edit throttle (tests). */
  now?: () => number;
}

const REACTIONS: Record<ReplyStatus, string> = {
  working: 'eyes',
  done: 'white_check_mark',
  failed: 'x',
};

/** Reply ids of messages posted through response_url (Slack returns no ts for those). */
const RESPONSE_URL_ID = 'response_url:';

const postedSchema = z.object({ ts: z.string().min(1) }).passthrough();

/** The WebClient for this reply's workspace: the token is looked up once per sink (one reply's life). */
function clientGetter(botToken: SlackBotToken, clients: SlackClients): () => Promise<WebClient> {
  let cached: Promise<string> | undefined;
  return async () => {
    if (typeof botToken === 'string') return clients.forToken(botToken);
    // A failed lookup is tried again on the next call.
    cached ??= botToken().catch((error: unknown) => {
      cached = undefined;
      throw error;
    });
    return clients.forToken(await cached);
  };
}

/** A slash command's response_url when it may be used; otherwise the reply goes through the Web API. */
function allowedResponseUrl(event: NormalizedEvent, options: SlackSinkOptions): string | undefined {
  const given = !event.threadId ? event.replyTo.responseUrl : undefined;
  if (!given) return undefined;
  if (isAllowedResponseUrl(given, options.responseUrlOrigins)) return given;
  // A forged body could aim the worker at any address: it is never called.
  options.logger?.warn(
    { origin: originOf(given) },
    'response_url is not on an allowed Slack origin; replying in the channel instead',
  );
  return undefined;
}

export function createSlackSink(event: NormalizedEvent, options: SlackSinkOptions): ReplySink {
  const channel = event.replyTo.channel ?? event.channelId;
  const threadTs = event.threadId || undefined;
  const responseUrl = allowedResponseUrl(event, options);
  /** The message status reactions go on: the clicked message, else the mention (or its thread root). */
  const reactionTs = event.replyTo.messageTs || event.replyTo.threadTs || undefined;
  const retry = options.retry ?? {};
  const clientFor = clientGetter(
    options.botToken,
    options.clients ?? createSlackClients({ apiUrl: options.apiUrl, retry, logger: options.logger }),
  );
  const call = async (method: string, args: Record<string, unknown>, accept: readonly string[] = []) =>
    callSlack(await clientFor(), method, args, { retry, accept });
  const messages = createMessages(call, channel, threadTs);
  const files = createSnippets({
    clientFor,
    retry,
    channel,
    threadTs,
    fileOverChars: options.fileOverChars ?? 12_000,
  });
  const throttle = createEditThrottle({
    intervalMs: options.editIntervalMs ?? 1000,
    ...(options.now ? { now: options.now } : {}),
    ...(retry.sleep ? { sleep: retry.sleep } : {}),
  });
  /** Every message a reply occupies, first one first (a split reply has several). */
  const parts = new Map<string, string[]>();
  const hook = responseUrl
    ? responseUrlReplies(responseUrl, messages.body, retry, options.responseType ?? 'in_channel')
    : undefined;

  return {
    async post(text: string, reply?: ReplyOptions): Promise<PostedReply> {
      if (hook) return hook.post(text, reply);
      const { texts, file } = await files.render(text, undefined);
      const posted: string[] = [];
      for (const [index, part] of texts.entries()) {
        // Buttons go under the last part, where the reader ends up.
        posted.push(await messages.post(part, index === texts.length - 1 ? reply : undefined));
      }
      const id = posted[0] ?? '';
      parts.set(id, posted);
      files.remember(id, file);
      throttle.posted(id);
      return { id };
    },

    async update(reply: PostedReply, text: string, more?: ReplyOptions): Promise<void> {
      if (reply.id.startsWith(RESPONSE_URL_ID)) {
        if (hook) await throttle.edit(reply.id, () => hook.update(text, more));
        return;
      }
      await throttle.edit(reply.id, async () => {
        const { texts, file } = await files.render(text, reply.id);
        files.remember(reply.id, file);
        const existing = parts.get(reply.id) ?? [reply.id];
        parts.set(reply.id, await messages.edit(existing, texts, more));
      });
    },

    async status(status: ReplyStatus): Promise<void> {
      if (!reactionTs) {
        options.logger?.debug({ channel, status }, 'Slack event has no message to react on; status skipped');
        return;
      }
      const reaction = { channel, timestamp: reactionTs };
      await call('reactions.add', { ...reaction, name: REACTIONS[status] }, ['already_reacted']);
      if (status === 'working') return;
      try {
        await call('reactions.remove', { ...reaction, name: REACTIONS.working }, ['no_reaction']);
      } catch (error) {
        // The final reaction is on; a leftover 👀 is cosmetic.
        options.logger?.warn({ err: error, channel }, 'could not remove the Slack working reaction');
      }
    },
  };
}

type MessageBody = (text: string, reply: ReplyOptions | undefined) => Record<string, unknown>;

/** Replies on a slash command's response_url: each post a new message, an update replaces the last. */
function responseUrlReplies(
  url: string,
  body: MessageBody,
  retry: RetryOptions,
  responseType: 'in_channel' | 'ephemeral',
) {
  let count = 0;
  const send = (text: string, reply: ReplyOptions | undefined, more: Record<string, unknown>) =>
    postToResponseUrl(
      url,
      { ...body(truncateText(markdownToMrkdwn(text), SLACK_MAX_TEXT), reply), ...more },
      retry,
    );
  return {
    async post(text: string, reply: ReplyOptions | undefined): Promise<PostedReply> {
      await send(text, reply, { response_type: responseType, replace_original: false });
      count += 1;
      return { id: `${RESPONSE_URL_ID}${count}` };
    },
    update: (text: string, more: ReplyOptions | undefined) => send(text, more, { replace_original: true }),
  };
}

type Call = (
  method: string,
  args: Record<string, unknown>,
  accept?: readonly string[],
) => Promise<WebAPICallResult>;

/** Posting, editing and deleting the messages of one reply, and the buttons they carry. */
function createMessages(call: Call, channel: string, threadTs: string | undefined) {
  /** Messages that carry blocks (buttons): an edit without buttons must clear them explicitly. */
  const withBlocks = new Set<string>();

  function body(text: string, reply: ReplyOptions | undefined, ts?: string): Record<string, unknown> {
    const actions = reply?.actions ?? [];
    if (actions.length > 0) return { text, blocks: slackBlocks(text, actions) };
    // chat.update keeps a message's blocks unless given an empty list.
    return ts && withBlocks.has(ts) ? { text, blocks: [] } : { text };
  }

  function noteBlocks(ts: string, reply: ReplyOptions | undefined): void {
    if (reply?.actions?.length) withBlocks.add(ts);
    else withBlocks.delete(ts);
  }

  async function post(text: string, reply: ReplyOptions | undefined): Promise<string> {
    const answer = await call('chat.postMessage', {
      channel,
      ...(threadTs ? { thread_ts: threadTs } : {}),
      ...body(text, reply),
      mrkdwn: true,
    });
    const ts = postedSchema.safeParse(answer).data?.ts;
    if (!ts) {
      throw new DeckhandError('UPSTREAM_FAILED', 'Slack chat.postMessage answered without a message ts.');
    }
    noteBlocks(ts, reply);
    return ts;
  }

  /** Edits the parts a reply has, posts the ones it now needs, deletes the ones it no longer needs. */
  async function edit(existing: string[], texts: string[], more: ReplyOptions | undefined) {
    const next: string[] = [];
    for (const [index, part] of texts.entries()) {
      const extras = index === texts.length - 1 ? more : undefined;
      const ts = existing[index];
      if (ts) {
        await call('chat.update', { channel, ts, ...body(part, extras, ts) });
        noteBlocks(ts, extras);
        next.push(ts);
      } else {
        next.push(await post(part, extras));
      }
    }
    for (const ts of existing.slice(texts.length)) {
      await call('chat.delete', { channel, ts }, ['message_not_found']);
    }
    return next;
  }

  return { body, post, edit };
}

interface SnippetDeps {
  clientFor: () => Promise<WebClient>;
  retry: RetryOptions;
  channel: string;
  threadTs: string | undefined;
  fileOverChars: number;
}

/**
 * The messages a text needs: one per part, or a preview when it goes out as a file. A reply whose
 * long text changes (streamed output) gets the new file and loses the old one, so the file in the
 * thread always holds the text the preview shows.
 */
function createSnippets(deps: SnippetDeps) {
  /** The file holding each reply's full text, when it was too long for messages. */
  const files = new Map<string, { id: string; content: string }>();
  type Snippet = { id: string; content: string };

  async function render(
    markdown: string,
    reply: string | undefined,
  ): Promise<{ texts: string[]; file?: Snippet }> {
    const mrkdwn = markdownToMrkdwn(markdown || '(no output)');
    const previous = reply ? files.get(reply) : undefined;
    if (mrkdwn.length <= deps.fileOverChars) {
      if (reply && previous) {
        files.delete(reply);
        await deleteSlackFile(await deps.clientFor(), previous.id, deps.retry);
      }
      return { texts: splitMessage(mrkdwn, SLACK_MESSAGE_MAX) };
    }
    let file = previous;
    if (previous?.content !== markdown) {
      const client = await deps.clientFor();
      const id = await uploadSlackSnippet(
        client,
        {
          channel: deps.channel,
          threadTs: deps.threadTs,
          filename: 'deckhand-output.txt',
          title: 'Full output',
          content: markdown,
        },
        deps.retry,
      );
      if (previous) await deleteSlackFile(client, previous.id, deps.retry);
      file = { id, content: markdown };
    }
    const preview = splitMessage(mrkdwn, SNIPPET_PREVIEW_CHARS)[0] ?? '';
    const lines = markdown.split('\n').length;
    return { texts: [`${preview}\n_… ${lines} lines in all: the full output is in the file above._`], file };
  }

  /** Keeps the file a reply's text went out in, so the next edit can replace or remove it. */
  function remember(reply: string, file: Snippet | undefined): void {
    if (file) files.set(reply, file);
  }

  return { render, remember };
}
