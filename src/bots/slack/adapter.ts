/**
 * Slack as one PlatformAdapter: signed requests on /slack/events (a slash command is acked "On it…"),
 * Socket Mode when SLACK_APP_TOKEN is set, the OAuth install pages, replies and digests through
 * WebClient with each workspace's token (its installation, else SLACK_BOT_TOKEN). The server, worker,
 * chat connections and scheduler see only this object.
 */
import type { Router } from 'express';
import {
  type ChatConnection,
  type Config,
  type Ingest,
  type IngressAck,
  type Logger,
  loggingSink,
  type NormalizedEvent,
  type PlatformAdapter,
  type ReplySink,
  type RetryOptions,
} from '../../core/index.js';
import type { Store } from '../../store/index.js';
import { createSlackClients, type SlackClients } from './api.js';
import { createSlackTokenSource, type SlackTokenSource } from './authorize.js';
import { createSlackDigestChannel } from './digest.js';
import { createSlackBodyParser, createSlackRoute, type ThreadLookup } from './ingress.js';
import { createSlackPages } from './mount.js';
import { createSlackSink } from './sink.js';
import { startSlackSocketMode } from './socket.js';

export interface SlackAdapterDeps {
  config: Config;
  logger: Logger;
  /** Thread membership, and (with SLACK_CLIENT_ID) the installations of multi-workspace installs. */
  store?: Store | undefined;
  /** Where SLACK_API_URL, SLACK_RESPONSE_URL_ORIGINS and SLACK_REDIRECT_URI are read (default process.env). */
  env?: Record<string, string | undefined>;
  retry?: RetryOptions | undefined;
}

const NO_THREADS: ThreadLookup = { isKnownThread: async () => false };

/** Slack's answer once the task is durable: a slash command (a form body) gets its first reply. */
export function slackAck(recorded: {
  duplicate: boolean;
  headers: Record<string, string | undefined>;
}): IngressAck {
  if (!(recorded.headers['content-type'] ?? '').includes('form-urlencoded')) return { status: 200 };
  return {
    status: 200,
    body: { response_type: 'ephemeral', text: recorded.duplicate ? 'Already on it.' : 'On it…' },
  };
}

/** The comma-separated SLACK_RESPONSE_URL_ORIGINS, when set. */
function responseUrlOrigins(env: Record<string, string | undefined>): string[] | undefined {
  const origins = env.SLACK_RESPONSE_URL_ORIGINS?.split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);
  return origins?.length ? origins : undefined;
}

interface SlackParts {
  deps: SlackAdapterDeps;
  threads: ThreadLookup;
  clients: SlackClients;
  tokens: SlackTokenSource;
  /** Installed workspaces are looked up only when the OAuth install flow is configured. */
  installs: boolean;
  env: Record<string, string | undefined>;
}

function connector(parts: SlackParts) {
  const { config, logger } = parts.deps;
  return async (ingest: Ingest): Promise<ChatConnection | undefined> => {
    const appToken = config.secrets.SLACK_APP_TOKEN;
    if (!appToken || !config.slack.socketMode) return undefined;
    try {
      const socket = await startSlackSocketMode({
        appToken,
        apiUrl: parts.env.SLACK_API_URL || undefined,
        logger: logger.child({ transport: 'slack-socket-mode' }),
        parse: createSlackBodyParser({
          config,
          threads: parts.threads,
          installations: parts.deps.store,
          logger,
        }),
        ingest,
      });
      return { stop: () => socket.stop() };
    } catch (error) {
      logger.error({ err: error }, 'Slack Socket Mode could not connect; Slack is served over HTTP only');
      return undefined;
    }
  };
}

function sinkMaker(parts: SlackParts) {
  const { config, logger } = parts.deps;
  const botToken = config.secrets.SLACK_BOT_TOKEN;
  const origins = responseUrlOrigins(parts.env);
  return (event: NormalizedEvent): ReplySink => {
    if (!botToken && !parts.installs) {
      return loggingSink(logger, event, 'SLACK_BOT_TOKEN (or SLACK_CLIENT_ID for installs) is not set');
    }
    return createSlackSink(event, {
      // Looked up when a reply is sent, so a workspace installed a second ago is served at once.
      botToken: parts.installs
        ? () => parts.tokens.botTokenFor({ teamId: event.workspaceId })
        : (botToken ?? ''),
      clients: parts.clients,
      ...(origins ? { responseUrlOrigins: origins } : {}),
      retry: parts.deps.retry,
      logger,
      editIntervalMs: config.slack.editIntervalMs,
      fileOverChars: config.slack.fileOverChars,
    });
  };
}

function pagesOf(deps: SlackAdapterDeps, env: Record<string, string | undefined>): Router | undefined {
  if (!deps.store) return undefined;
  return createSlackPages({ config: deps.config, store: deps.store, logger: deps.logger, env });
}

export function createSlackAdapter(deps: SlackAdapterDeps): PlatformAdapter {
  const { config, logger } = deps;
  const secrets = config.secrets;
  const env = deps.env ?? process.env;
  const apiUrl = env.SLACK_API_URL || undefined;
  const installs = Boolean(secrets.SLACK_CLIENT_ID && deps.store);
  const tokens = createSlackTokenSource({
    installations: installs ? deps.store : undefined,
    botToken: secrets.SLACK_BOT_TOKEN,
    clientId: secrets.SLACK_CLIENT_ID,
    clientSecret: secrets.SLACK_CLIENT_SECRET,
    apiUrl,
    logger,
  });
  const parts: SlackParts = {
    deps,
    threads: deps.store ?? NO_THREADS,
    clients: createSlackClients({ apiUrl, retry: deps.retry, logger }),
    tokens,
    installs,
    env,
  };
  const pages = pagesOf(deps, env);
  return {
    platform: 'slack',
    // Signature, allow-lists, bot policy and thread membership: ingress.ts.
    routes: [
      {
        path: '/slack/events',
        accept: createSlackRoute({ config, threads: parts.threads, installations: deps.store, logger }),
        ack: slackAck,
      },
    ],
    ...(pages ? { pages } : {}),
    connect: connector(parts),
    sinkFor: sinkMaker(parts),
    // A mention or message gets a 👀; a button click and a slash command already show their answer.
    showsReceipt: (event) => Boolean(event.replyTo.messageTs) && event.eventType !== 'block_actions',
    joinsThreads: true,
    keysReplies: true,
    digests: createSlackDigestChannel({ tokens, clients: parts.clients }),
  };
}
