/**
 * Slack's way in, whatever the transport: the HTTP Events API / slash commands / interactivity
 * (signed requests), Socket Mode envelopes and Bolt bodies all become the same `SlackRequest` and go
 * through parseSlackRequest with the configured policy. A plain reply in a thread is kept only when
 * Deckhand is already in that thread. The pipeline does the rest (dedupe, durable task, ack).
 */
import type { Config, Logger, ParseOutcome } from '../../core/index.js';
import { ignore, ingressError } from '../../core/index.js';
import type { Store } from '../../store/index.js';
import type { AdmissionPolicy } from '../admission.js';
import { forgetUninstalledSlackWorkspace } from './oauth-store.js';
import { parseSlackRequest, SLACK_THREAD_REPLY, type SlackRequest } from './parse.js';
import { verifySlackSignature } from './verify.js';

export type SlackHeaders = Record<string, string | undefined>;

export function slackPolicy(config: Pick<Config, 'slack'>): AdmissionPolicy {
  const { allowBots, allowedChannels, allowedUsers } = config.slack;
  return { allowBots, allowedChannels, allowedUsers };
}

/** What the store must answer for thread replies. */
export type ThreadLookup = Pick<Store, 'isKnownThread'>;

/**
 * A plain thread reply is kept only in a thread Deckhand has posted in (the reply sinks remember
 * those threads when they first post there: see rememberingThread in ../sinks.ts).
 */
export async function keepKnownThreads(outcome: ParseOutcome, threads: ThreadLookup): Promise<ParseOutcome> {
  if (outcome.kind !== 'event' || outcome.event.eventType !== SLACK_THREAD_REPLY) return outcome;
  const { platform, workspaceId, channelId, threadId } = outcome.event;
  const known = await threads.isKnownThread({ platform, workspaceId, channelId, threadId });
  return known ? outcome : ignore('reply in a thread Deckhand is not part of');
}

/** Socket Mode envelope types and Bolt body kinds, as the request Slack would have sent over HTTP. */
export function slackRequestFromBody(
  type: 'events_api' | 'slash_commands' | 'interactive' | string,
  body: unknown,
): Pick<SlackRequest, 'rawBody' | 'contentType'> {
  if (type === 'events_api') {
    return { rawBody: Buffer.from(JSON.stringify(body)), contentType: 'application/json' };
  }
  if (type === 'slash_commands' && typeof body === 'object' && body !== null) {
    const form = new URLSearchParams();
    for (const [key, value] of Object.entries(body)) {
      if (value !== undefined && value !== null) form.set(key, String(value));
    }
    return { rawBody: Buffer.from(form.toString()), contentType: 'application/x-www-form-urlencoded' };
  }
  if (type === 'interactive') {
    const form = new URLSearchParams({ payload: JSON.stringify(body) });
    return { rawBody: Buffer.from(form.toString()), contentType: 'application/x-www-form-urlencoded' };
  }
  throw ingressError(400, `Slack envelope type ${type} is not handled.`);
}

export interface SlackIngressDeps {
  config: Pick<Config, 'slack' | 'secrets'>;
  threads: ThreadLookup;
  /** Where installations are forgotten on `app_uninstalled` / `tokens_revoked` (multi-workspace installs). */
  installations?: Pick<Store, 'deleteInstallation'> | undefined;
  logger?: Pick<Logger, 'info'> | undefined;
}

/** Both uninstall events name themselves in the body; anything else skips the second parse. */
const UNINSTALL_HINT = /"(app_uninstalled|tokens_revoked)"/;

/**
 * A verified Events API body that uninstalls the app (or revokes its bot tokens) forgets the
 * workspace's installation, so its dead tokens are never tried again; it is not a task.
 */
async function uninstalled(deps: SlackIngressDeps, rawBody: Buffer, contentType: string): Promise<boolean> {
  if (!deps.installations || !contentType.includes('json')) return false;
  const text = rawBody.toString('utf8');
  if (!UNINSTALL_HINT.test(text)) return false;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return false; // the parser answers 400 for it
  }
  return forgetUninstalledSlackWorkspace(deps.installations, body, deps.logger);
}

/** The `/slack/events` route: verify the signature, parse with the policy, keep known thread replies. */
export function createSlackRoute(deps: SlackIngressDeps) {
  const policy = slackPolicy(deps.config);
  const socketMode = Boolean(deps.config.secrets.SLACK_APP_TOKEN) && deps.config.slack.socketMode;
  return async (rawBody: Buffer, headers: SlackHeaders): Promise<ParseOutcome> => {
    // Slack's events come over Socket Mode here: this route takes nothing, signed or not.
    if (socketMode) {
      throw ingressError(
        503,
        'Slack is connected over Socket Mode here (SLACK_APP_TOKEN), so this HTTP route accepts nothing. To receive events over HTTP instead, set slack.socketMode: false and SLACK_SIGNING_SECRET.',
      );
    }
    verifySlackSignature({
      signingSecret: deps.config.secrets.SLACK_SIGNING_SECRET ?? '',
      rawBody,
      timestamp: headers['x-slack-request-timestamp'],
      signature: headers['x-slack-signature'],
    });
    const contentType = headers['content-type'] ?? '';
    if (await uninstalled(deps, rawBody, contentType)) return ignore('the app was uninstalled');
    const outcome = parseSlackRequest({ rawBody, contentType, headers, policy });
    return keepKnownThreads(outcome, deps.threads);
  };
}

/** For Socket Mode, which authenticates the connection (SLACK_APP_TOKEN) instead of each request. */
export function createSlackBodyParser(deps: SlackIngressDeps) {
  const policy = slackPolicy(deps.config);
  return async (type: string, body: unknown): Promise<ParseOutcome> => {
    const request = slackRequestFromBody(type, body);
    if (await uninstalled(deps, request.rawBody, request.contentType)) {
      return ignore('the app was uninstalled');
    }
    const outcome = parseSlackRequest({ ...request, headers: {}, policy });
    return keepKnownThreads(outcome, deps.threads);
  };
}
