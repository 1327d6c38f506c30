/**
 * Picks the reply sink for an event: its platform's adapter makes it. A platform with no adapter,
 * or an event an adapter cannot address, gets a sink that logs each reply at warn level, saying why,
 * so nothing vanishes silently. Threads a reply joins are remembered here, in the worker. On Slack
 * and Discord each task's posts are keyed (reply-keys.ts), so a retried task edits what it posted.
 */
import type {
  Config,
  Logger,
  NormalizedEvent,
  PlatformAdapter,
  ReplySink,
  RetryOptions,
} from '../core/index.js';
import { isDeckhandError, loggingSink, normalizedEventSchema } from '../core/index.js';
import type { GitHubClient } from '../github/index.js';
import type { Store, TaskRecord } from '../store/index.js';
import { platformAdapters } from './adapters.js';
import { keyedReplies, type ReplyAnchors } from './reply-keys.js';

export { loggingSink } from '../core/index.js';
export {
  type KeyedRepliesOptions,
  keyedReplies,
  type ReplyAnchors,
  replyKeyOf,
} from './reply-keys.js';

export type SinkFactory = (event: NormalizedEvent) => ReplySink;

export interface SinkFactoryOptions {
  config: Config;
  logger: Logger;
  /** The platforms replied to; default: every adapter, configured from `config` and `env`. */
  adapters?: readonly PlatformAdapter[];
  /** An installation-authenticated client for the event; default: one per installation from the App's key. */
  githubClientFor?: (event: NormalizedEvent) => GitHubClient;
  /**
   * Where SLACK_API_URL, SLACK_RESPONSE_URL_ORIGINS (comma-separated origins a slash command's
   * response_url may have; default https://hooks.slack.com), DISCORD_API_URL and GITHUB_API_URL are
   * read (default process.env).
   */
  env?: Record<string, string | undefined>;
  retry?: RetryOptions;
  /** Multi-workspace Slack (with SLACK_CLIENT_ID): installed workspaces' tokens; SLACK_BOT_TOKEN serves the rest. */
  installations?: Store;
  /** Where threads Deckhand has posted in are remembered, so plain replies there continue the talk. */
  threads?: Pick<Store, 'markThread'>;
  /**
   * Where each task's posted messages are recorded (ReplyAnchor), so a later attempt of the task
   * edits them instead of posting again (reply-keys.ts). Without it, every attempt posts anew.
   */
  anchors?: ReplyAnchors & Pick<Store, 'taskIdForDelivery'>;
}

/**
 * Remembers the thread once the first reply is posted in it: from then on Deckhand is part of that
 * thread. Done here, in the worker, so accepting a request costs no extra write.
 */
export function rememberingThread(
  sink: ReplySink,
  event: NormalizedEvent,
  threads: Pick<Store, 'markThread'>,
  logger: Logger,
): ReplySink {
  if (!event.threadId) return sink;
  let marked = false;
  const key = {
    platform: event.platform,
    workspaceId: event.workspaceId,
    channelId: event.channelId,
    threadId: event.threadId,
  };
  return {
    async post(text, more) {
      const posted = await sink.post(text, more);
      if (!marked) {
        marked = true;
        await threads
          .markThread(key)
          .catch((error: unknown) =>
            logger.warn({ err: error, thread: key.threadId }, 'could not remember the thread'),
          );
      }
      return posted;
    },
    update: (reply, text, more) => sink.update(reply, text, more),
    status: (status) => sink.status(status),
  };
}

export function createSinkFactory(options: SinkFactoryOptions): SinkFactory {
  const { logger } = options;
  const adapters =
    options.adapters ??
    platformAdapters({
      config: options.config,
      logger,
      store: options.installations,
      ...(options.env ? { env: options.env } : {}),
      ...(options.retry ? { retry: options.retry } : {}),
      ...(options.githubClientFor ? { githubClientFor: options.githubClientFor } : {}),
    });
  const byPlatform = new Map(adapters.map((adapter) => [adapter.platform, adapter]));

  return (event: NormalizedEvent): ReplySink => {
    const adapter = byPlatform.get(event.platform);
    if (!adapter) return loggingSink(logger, event, `there is no reply sink for ${event.platform} events`);
    try {
      const platformSink = adapter.sinkFor(event);
      const sink = adapter.keysReplies ? keyedPerTask(platformSink, event, options) : platformSink;
      return options.threads && adapter.joinsThreads
        ? rememberingThread(sink, event, options.threads, logger)
        : sink;
    } catch (error) {
      // An event without usable addressing still gets its replies into the log.
      if (!isDeckhandError(error)) throw error;
      return loggingSink(logger, event, error.userMessage);
    }
  };
}

/**
 * The platform sink keyed by the event's task: its id is derived from the delivery (the pipeline's
 * dedupe, src/bots/pipeline.ts), so every attempt of the task, and the give-up notice sent after its
 * last one, gets the same keys without the worker passing anything. The give-up notice is then an
 * edit of the task's first message, not a message of its own.
 */
function keyedPerTask(sink: ReplySink, event: NormalizedEvent, options: SinkFactoryOptions): ReplySink {
  const anchors = options.anchors;
  if (!anchors) return sink;
  const taskId = anchors.taskIdForDelivery(event.platform, event.deliveryKey);
  // Long enough to outlast a store restart (at least 30 s, or a lease): an anchor saved late is still
  // found by the next attempt, which looks it up only when it posts; one not saved means a second post.
  const storeWaitMs = Math.max(30_000, options.config.tasks.leaseMs);
  return keyedReplies(sink, { taskId, anchors, logger: options.logger, storeWaitMs });
}

/**
 * Shows "working" on a chat message the moment its task is durable (a 👀 reaction on Slack and on
 * Discord gateway messages), before any worker picks it up: each adapter says which events get it.
 * Subscribe it to pipeline.onTask in the process that serves requests.
 */
export function acknowledgeReceipt(
  sinkFor: SinkFactory,
  logger: Logger,
  adapters: readonly PlatformAdapter[],
): (task: TaskRecord) => void {
  const byPlatform = new Map(adapters.map((adapter) => [adapter.platform, adapter]));
  return (task) => {
    const parsed = normalizedEventSchema.safeParse(task.payload);
    if (!parsed.success) return;
    const event = parsed.data;
    if (!byPlatform.get(event.platform)?.showsReceipt(event)) return;
    sinkFor(event)
      .status('working')
      .catch((error: unknown) =>
        logger.warn({ err: error, task: task.id }, 'could not show the working status'),
      );
  };
}
