/**
 * GitHub as a PlatformAdapter: the signed `/github/webhooks` route (verify, then parse, then a 202
 * naming the task) and the reply sink (one tracking comment per task, written as the App's
 * installation). GitHub has no long-lived connection, no "working" receipt on the delivery, no
 * threads to join and no digest channels.
 */
import type {
  Config,
  IngressRoute,
  Logger,
  NormalizedEvent,
  PlatformAdapter,
  ReplySink,
  RetryOptions,
} from '../core/index.js';
import { headerOf, isDeckhandError, loggingSink, missingSettings, parseJson } from '../core/index.js';
import type { Store } from '../store/index.js';
import { parseGitHubWebhook } from './parse.js';
import { createGitHubSink, type GitHubClient, githubInstallationClient } from './sink.js';
import { verifyGitHubSignature } from './verify.js';

export const GITHUB_WEBHOOK_PATH = '/github/webhooks';

export interface GitHubAdapterDeps {
  config: Config;
  logger: Logger;
  /** An installation-authenticated client for the event; default: one per installation from the App's key. */
  clientFor?: (event: NormalizedEvent) => GitHubClient;
  /** Where GITHUB_API_URL is read (default process.env; else config.github.apiUrl). */
  env?: Record<string, string | undefined>;
  retry?: RetryOptions;
  /** Where each task's tracking comment is remembered, so a retried attempt edits it (the store). */
  anchors?: Pick<Store, 'replyAnchorOf' | 'saveReplyAnchor'> | undefined;
}

/**
 * POST /github/webhooks: 503 without GITHUB_WEBHOOK_SECRET, 401 unless X-Hub-Signature-256 signs the
 * body, 400 for missing X-GitHub-Event / X-GitHub-Delivery or a body that is not a delivery; a
 * recorded task is answered 202 `{ task, duplicate }`, a delivery Deckhand does not act on 202 too.
 */
export function githubWebhookRoute(config: Config): IngressRoute {
  return {
    path: GITHUB_WEBHOOK_PATH,
    async accept(rawBody, headers) {
      await verifyGitHubSignature({
        secret: config.secrets.GITHUB_WEBHOOK_SECRET ?? '',
        rawBody,
        signature256: headerOf(headers, 'x-hub-signature-256'),
      });
      return parseGitHubWebhook({
        name: headerOf(headers, 'x-github-event') ?? '',
        deliveryId: headerOf(headers, 'x-github-delivery') ?? '',
        payload: parseJson(rawBody.toString('utf8'), 'The webhook body'),
        botLogin: config.github.botName,
        triggerLabel: config.github.triggerLabel,
      });
    },
    ack: ({ taskId, duplicate }) => ({ status: 202, body: { task: taskId, duplicate } }),
    // GitHub shows any 2xx as delivered; 202 says "accepted, nothing to do" as plainly as a task does.
    ignoredStatus: 202,
  };
}

export function createGitHubAdapter(deps: GitHubAdapterDeps): PlatformAdapter {
  const { config, logger, retry } = deps;
  const env = deps.env ?? process.env;
  // One client per App installation: each holds its installation token until it expires.
  const installationClients = new Map<string, GitHubClient>();

  /** The client for the event's installation, or why there is none (a setting to add). */
  function clientFor(event: NormalizedEvent): GitHubClient | string {
    if (deps.clientFor) return deps.clientFor(event);
    const missing = missingSettings(config.secrets, ['GITHUB_APP_ID', 'GITHUB_PRIVATE_KEY']);
    if (missing) return missing;
    if (!/^\d+$/.test(event.workspaceId)) return 'the GitHub webhook names no App installation';
    let client = installationClients.get(event.workspaceId);
    if (!client) {
      client = githubInstallationClient({
        appId: config.secrets.GITHUB_APP_ID!,
        privateKey: config.secrets.GITHUB_PRIVATE_KEY!,
        installationId: event.workspaceId,
        baseUrl: env.GITHUB_API_URL || config.github.apiUrl || undefined,
        logger,
      });
      installationClients.set(event.workspaceId, client);
    }
    return client;
  }

  return {
    platform: 'github',
    routes: [githubWebhookRoute(config)],
    sinkFor(event: NormalizedEvent): ReplySink {
      try {
        const client = clientFor(event);
        if (typeof client === 'string') return loggingSink(logger, event, client);
        const key = `github:${event.deliveryKey}`;
        const anchors = deps.anchors;
        const anchor = anchors && {
          find: () => anchors.replyAnchorOf(key),
          save: (ref: string) => anchors.saveReplyAnchor(key, ref),
        };
        return createGitHubSink(event, { client, retry, anchor });
      } catch (error) {
        // An event without usable addressing (no issue number, installation 0) still gets its replies logged.
        if (!isDeckhandError(error)) throw error;
        return loggingSink(logger, event, error.userMessage);
      }
    },
    // The tracking comment's ⏳ line is the receipt; it is written by the worker, not on receipt.
    showsReceipt: () => false,
    joinsThreads: false,
  };
}
