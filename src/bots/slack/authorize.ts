/**
 * Which bot token serves a Slack workspace, the one answer every Slack call asks: the installation
 * the OAuth flow stored for it (or for its Enterprise Grid org), else the single-workspace
 * SLACK_BOT_TOKEN. With token rotation on, an installation's bot token expires (~12 h) and is
 * renewed here with its refresh token (oauth.v2.access, grant_type=refresh_token) shortly before,
 * one renewal per workspace at a time in this process; the renewed token is stored only if nobody
 * renewed it meanwhile. createSlackAuthorize gives the same answer shaped as Bolt's `authorize`
 * (for anyone embedding Deckhand's store in a Bolt app); Deckhand itself does not use Bolt.
 * https://api.slack.com/authentication/rotation
 */
import { type WebAPIPlatformError, WebClient } from '@slack/web-api';
import { z } from 'zod';
import { type Config, DeckhandError, type Logger } from '../../core/index.js';
import type { InstallationRecord, Store } from '../../store/index.js';
import { slackApiBase } from './api.js';
import { slackSdkLogger } from './sdk-logger.js';

/** Renew a rotating token this long before it expires. */
export const SLACK_TOKEN_RENEW_BEFORE_MS = 5 * 60_000;

export interface SlackWorkspaceQuery {
  teamId?: string | undefined;
  enterpriseId?: string | undefined;
}

export interface SlackTokenSource {
  botTokenFor(query: { teamId?: string; enterpriseId?: string }): Promise<string>;
}

export interface SlackTokenSourceDeps {
  /** The store; without `renewInstallationToken` a rotating token is used until it expires. */
  installations?:
    | (Pick<Store, 'findInstallation'> & Partial<Pick<Store, 'renewInstallationToken'>>)
    | undefined;
  /** SLACK_BOT_TOKEN: serves any workspace without an installation of its own. */
  botToken?: string | undefined;
  /** SLACK_CLIENT_ID / SLACK_CLIENT_SECRET: needed to renew a rotating token. */
  clientId?: string | undefined;
  clientSecret?: string | undefined;
  /** SLACK_API_URL (tests point it at a loopback stand-in). */
  apiUrl?: string | undefined;
  logger?: Logger | undefined;
  now?: () => number;
}

/** Kept for callers written before the token source: the same deps. */
export type SlackAuthorizeDeps = SlackTokenSourceDeps;

const renewalSchema = z.object({
  access_token: z.string().min(1),
  refresh_token: z.string().min(1),
  expires_in: z.number().positive(),
});

/** Renewals in flight, per store and installation id: concurrent callers share one. */
const inFlight = new WeakMap<object, Map<string, Promise<InstallationRecord>>>();

function notInstalled(query: SlackWorkspaceQuery): DeckhandError {
  return new DeckhandError(
    'CONFIG_MISSING',
    `Deckhand is not installed in Slack workspace ${query.teamId ?? query.enterpriseId ?? '(unknown)'}: install it through /slack/install, or set SLACK_BOT_TOKEN for a single workspace.`,
  );
}

function isPlatformError(error: unknown, code: string): error is WebAPIPlatformError {
  const data = (error as { data?: { error?: unknown } } | undefined)?.data;
  return typeof data === 'object' && data !== null && data.error === code;
}

function needsRenewal(record: InstallationRecord, now: number): boolean {
  if (!record.refreshToken || !record.tokenExpiresAt) return false;
  return new Date(record.tokenExpiresAt).getTime() - now <= SLACK_TOKEN_RENEW_BEFORE_MS;
}

type Installations = NonNullable<SlackTokenSourceDeps['installations']>;

/** oauth.v2.access with the refresh token; what Slack answered, or its error. */
async function askSlackToRenew(
  deps: SlackTokenSourceDeps & { clientId: string; clientSecret: string },
  refreshToken: string,
): Promise<z.infer<typeof renewalSchema>> {
  const client = new WebClient(undefined, {
    slackApiUrl: slackApiBase(deps.apiUrl),
    retryConfig: { retries: 2, factor: 2, minTimeout: 200, maxTimeout: 2_000 },
    ...(deps.logger ? { logger: slackSdkLogger(deps.logger, 'Slack token renewal') } : {}),
  });
  const answer = await client.oauth.v2.access({
    client_id: deps.clientId,
    client_secret: deps.clientSecret,
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
  });
  return renewalSchema.parse(answer);
}

async function renew(
  deps: SlackTokenSourceDeps,
  installations: Installations,
  record: InstallationRecord,
  query: SlackWorkspaceQuery,
): Promise<InstallationRecord> {
  const now = deps.now ?? Date.now;
  const { clientId, clientSecret } = deps;
  const workspace = record.teamId ?? record.enterpriseId;
  if (!clientId || !clientSecret || !installations.renewInstallationToken) {
    // Not renewable here: the token serves until it expires, then the error says what to set.
    if (new Date(record.tokenExpiresAt ?? 0).getTime() > now()) return record;
    throw new DeckhandError(
      'CONFIG_MISSING',
      `Deckhand's Slack token for workspace ${workspace} expired and cannot be renewed: set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET.`,
    );
  }
  let renewed: z.infer<typeof renewalSchema>;
  try {
    renewed = await askSlackToRenew({ ...deps, clientId, clientSecret }, record.refreshToken ?? '');
  } catch (error) {
    if (!isPlatformError(error, 'invalid_refresh_token')) {
      throw new DeckhandError(
        'UPSTREAM_FAILED',
        `Slack did not renew Deckhand's token for workspace ${workspace}; try again in a minute.`,
        { cause: error, retryable: true },
      );
    }
    // Renewed elsewhere (another process) since this record was read: the stored one is current.
    const again = await installations.findInstallation('slack', query);
    if (again && again.botToken !== record.botToken && !needsRenewal(again, now())) return again;
    throw new DeckhandError(
      'UPSTREAM_FAILED',
      `Slack refused to renew Deckhand's token for workspace ${workspace}: reinstall Deckhand through /slack/install.`,
    );
  }
  const stored = await installations.renewInstallationToken(record.id, record.tokenExpiresAt, {
    botToken: renewed.access_token,
    refreshToken: renewed.refresh_token,
    tokenExpiresAt: new Date(now() + renewed.expires_in * 1000),
  });
  deps.logger?.info({ installation: record.id }, 'Slack bot token renewed');
  // Null: renewed or reinstalled elsewhere meanwhile; what is stored now wins.
  return stored ?? (await installations.findInstallation('slack', query)) ?? record;
}

/** The installation serving `query`, its token renewed first when it is about to expire. */
export async function currentSlackInstallation(
  deps: SlackTokenSourceDeps,
  query: SlackWorkspaceQuery,
): Promise<InstallationRecord | null> {
  const installations = deps.installations;
  if (!installations) return null;
  const record = await installations.findInstallation('slack', query);
  if (!record || !needsRenewal(record, (deps.now ?? Date.now)())) return record;
  let running = inFlight.get(installations);
  if (!running) {
    running = new Map();
    inFlight.set(installations, running);
  }
  const pending = running.get(record.id);
  if (pending) return pending;
  const renewal = renew(deps, installations, record, query).finally(() => running.delete(record.id));
  running.set(record.id, renewal);
  return renewal;
}

export function createSlackTokenSource(deps: SlackTokenSourceDeps): SlackTokenSource {
  return {
    async botTokenFor(query) {
      const installed = await currentSlackInstallation(deps, query);
      if (installed) return installed.botToken;
      if (deps.botToken) return deps.botToken;
      throw notInstalled(query);
    },
  };
}

/** The token source as configured: the store's installations, SLACK_BOT_TOKEN, the OAuth client, SLACK_API_URL. */
export function slackTokenSourceFromConfig(deps: {
  config: Config;
  installations?: SlackTokenSourceDeps['installations'];
  logger?: Logger;
  env?: Record<string, string | undefined>;
}): SlackTokenSource {
  const { secrets } = deps.config;
  const env = deps.env ?? process.env;
  return createSlackTokenSource({
    installations: deps.installations,
    botToken: secrets.SLACK_BOT_TOKEN,
    clientId: secrets.SLACK_CLIENT_ID,
    clientSecret: secrets.SLACK_CLIENT_SECRET,
    apiUrl: env.SLACK_API_URL || undefined,
    logger: deps.logger,
  });
}

/** Which bot serves a workspace: its token, and the installation's ids when there is one. */
export interface SlackAuthorization {
  botToken: string;
  botId?: string;
  botUserId?: string;
  teamId?: string;
  enterpriseId?: string;
}

export async function authorizeSlackWorkspace(
  deps: SlackAuthorizeDeps,
  query: SlackWorkspaceQuery,
): Promise<SlackAuthorization> {
  const installed = await currentSlackInstallation(deps, query);
  if (installed) {
    return {
      botToken: installed.botToken,
      ...(installed.botId ? { botId: installed.botId } : {}),
      ...(installed.botUserId ? { botUserId: installed.botUserId } : {}),
      ...(installed.teamId ? { teamId: installed.teamId } : {}),
      ...(installed.enterpriseId ? { enterpriseId: installed.enterpriseId } : {}),
    };
  }
  if (deps.botToken) return { botToken: deps.botToken };
  throw notInstalled(query);
}

/** authorizeSlackWorkspace as a function of the request's source (team and enterprise ids). */
export function createSlackAuthorize(
  deps: SlackAuthorizeDeps,
): (source: SlackWorkspaceQuery) => Promise<SlackAuthorization> {
  return (source) =>
    authorizeSlackWorkspace(deps, { teamId: source.teamId, enterpriseId: source.enterpriseId });
}
