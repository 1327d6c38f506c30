/**
 * Multi-workspace installs through `@slack/oauth`'s InstallProvider: GET /slack/install sends the
 * installer to Slack's consent page, GET /slack/oauth_redirect exchanges the code (oauth.v2.access,
 * then auth.test) and stores the installation in Deckhand's store (oauth-store.ts), with the refresh
 * token and expiry when the app has token rotation on (authorize.ts renews it).
 * The `state` is Deckhand's own: an HMAC (SLACK_STATE_SECRET) over a timestamp and nonce, also set as
 * a cookie, so a callback is accepted only in the browser that started it, only for 10 minutes, and
 * only once in this process (Slack also takes each code only once).
 * https://api.slack.com/authentication/oauth-v2
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import {
  type CallbackOptions,
  type CodedError,
  ErrorCode,
  InstallProvider,
  type InstallURLOptions,
  InvalidStateError,
  type StateStore,
} from '@slack/oauth';
import express, { type Router } from 'express';
import type { Logger } from '../../core/index.js';
import type { Store } from '../../store/index.js';
import { slackApiBase } from './api.js';
import { createSlackInstallationStore } from './oauth-store.js';
import { slackSdkLogger } from './sdk-logger.js';

/** What the bot needs: mentions, DMs, thread replies it is part of, replies, reactions, files, /deckhand. */
export const SLACK_BOT_SCOPES = [
  'app_mentions:read',
  'channels:history',
  'groups:history',
  'im:history',
  'mpim:history',
  'im:read',
  'chat:write',
  'reactions:write',
  'files:write',
  'commands',
  'users:read',
];

const STATE_COOKIE = 'deckhand_slack_state';
const STATE_MAX_AGE_MS = 10 * 60_000;
/** Used states remembered (for replay refusal) at most; the oldest are forgotten first. */
const USED_STATES_MAX = 10_000;

export interface SlackOAuthOptions {
  clientId: string;
  clientSecret: string;
  stateSecret: string;
  store: Pick<
    Store,
    'saveInstallation' | 'findInstallation' | 'deleteInstallation' | 'listRoles' | 'setRole'
  >;
  logger: Logger;
  /** The public URL of /slack/oauth_redirect, when the app lists more than one. */
  redirectUri?: string | undefined;
  /** SLACK_API_URL: the Web API base (tests point it at a loopback stand-in). */
  apiUrl?: string | undefined;
  /** Where the consent page is (tests). */
  authorizeUrl?: string;
  now?: () => number;
}

function sign(secret: string, value: string): string {
  return createHmac('sha256', secret).update(value).digest('hex');
}

export function createSlackState(secret: string, now = Date.now()): string {
  const value = `${now}.${randomBytes(12).toString('hex')}`;
  return `${value}.${sign(secret, value)}`;
}

/** Why a state is not acceptable (signature and age; the cookie is compared by the provider), or undefined. */
export function slackStateProblem(secret: string, state: string, now = Date.now()): string | undefined {
  const match = /^(\d+)\.([0-9a-f]{24})\.([0-9a-f]{64})$/.exec(state);
  if (!match) return 'the state parameter is missing or malformed';
  const expected = Buffer.from(sign(secret, `${match[1]}.${match[2]}`), 'hex');
  const given = Buffer.from(match[3] ?? '', 'hex');
  if (expected.length !== given.length || !timingSafeEqual(expected, given))
    return 'the state was not issued here';
  const age = now - Number(match[1]);
  if (age > STATE_MAX_AGE_MS || age < -60_000) return 'the install link expired; start again';
  return undefined;
}

/** A state Deckhand's state store refused; its message is a readable reason for the installer. */
class StateRefused extends InvalidStateError {}

/** Deckhand's signed state as `@slack/oauth`'s StateStore; each state is accepted once. */
export function createSlackStateStore(
  secret: string,
  installOptions: InstallURLOptions,
  now?: () => number,
): StateStore {
  const used = new Map<string, number>();
  const clock = (given: Date) => now?.() ?? given.getTime();
  return {
    async generateStateParam(_options, at) {
      return createSlackState(secret, clock(at));
    },
    async verifyStateParam(at, state) {
      const time = clock(at);
      const problem = slackStateProblem(secret, state, time);
      if (problem) throw new StateRefused(problem);
      for (const [seen, expires] of used)
        if (expires < time || used.size > USED_STATES_MAX) used.delete(seen);
      if (used.has(state))
        throw new StateRefused('this install link was already used; start again from /slack/install');
      used.set(state, time + STATE_MAX_AGE_MS);
      return installOptions;
    },
  };
}

function page(res: ServerResponse, status: number, title: string, text: string): void {
  const html = (value: string) => value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(`<!doctype html><title>${html(title)}</title><h1>${html(title)}</h1><p>${html(text)}</p>`);
}

/** What the installer is told when the callback fails: the reason when it is ours to give, never a secret. */
function failureReason(error: CodedError): { status: number; text: string } {
  if (error instanceof StateRefused) return { status: 400, text: `${error.message}.` };
  switch (error.code) {
    case ErrorCode.InvalidStateError:
      return {
        status: 400,
        text: 'the install was started in another browser; start again from /slack/install.',
      };
    case ErrorCode.MissingStateError:
      return { status: 400, text: 'the state parameter is missing or malformed.' };
    case ErrorCode.MissingCodeError:
      return { status: 400, text: 'Slack sent no code.' };
    case ErrorCode.AuthorizationError:
      return { status: 400, text: 'the install was cancelled in Slack.' };
    default:
      return { status: 502, text: 'Slack did not accept the install; start again from /slack/install.' };
  }
}

function createProvider(options: SlackOAuthOptions, installOptions: InstallURLOptions): InstallProvider {
  return new InstallProvider({
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    stateStore: createSlackStateStore(options.stateSecret, installOptions, options.now),
    stateCookieName: STATE_COOKIE,
    stateCookieExpirationSeconds: STATE_MAX_AGE_MS / 1000,
    // /slack/install redirects to Slack's consent page straight away, as before.
    directInstall: true,
    installationStore: createSlackInstallationStore(options.store),
    installUrlOptions: installOptions,
    logger: slackSdkLogger(options.logger, 'Slack OAuth'),
    clientOptions: {
      slackApiUrl: slackApiBase(options.apiUrl),
      retryConfig: { retries: 2, factor: 2, minTimeout: 200, maxTimeout: 2_000 },
    },
    ...(options.authorizeUrl ? { authorizationUrl: options.authorizeUrl } : {}),
  });
}

export function createSlackOAuthRouter(options: SlackOAuthOptions): Router {
  const router = express.Router();
  const installOptions: InstallURLOptions = {
    scopes: SLACK_BOT_SCOPES,
    ...(options.redirectUri ? { redirectUri: options.redirectUri } : {}),
  };
  const provider = createProvider(options, installOptions);
  const callbacks: CallbackOptions = {
    success(installation, _options, _req, res) {
      const team = installation.team?.id;
      const enterprise = installation.enterprise?.id;
      options.logger.info({ team, enterprise }, 'Slack workspace installed');
      const name = installation.team?.name ?? installation.enterprise?.name ?? 'your workspace';
      page(res, 200, 'Deckhand is installed', `Mention @Deckhand in ${name} to start.`);
    },
    failure(error, _options, _req, res) {
      const { status, text } = failureReason(error);
      options.logger.warn({ code: error.code, reason: error.message }, 'Slack install failed');
      page(res, status, 'Deckhand was not installed', text.charAt(0).toUpperCase() + text.slice(1));
    },
  };

  router.get('/slack/install', async (req, res) => {
    try {
      await provider.handleInstallPath(req, res, undefined, installOptions);
    } catch (error) {
      options.logger.warn({ err: error }, 'Slack install link failed');
      if (!res.headersSent)
        page(res, 500, 'Deckhand cannot start the install', 'The install link could not be made; try again.');
    }
  });

  router.get('/slack/oauth_redirect', async (req, res) => {
    if (typeof req.query.error === 'string' && req.query.code === undefined) {
      page(res, 400, 'Deckhand was not installed', `Slack said: ${req.query.error}.`);
      return;
    }
    await provider.handleCallback(req, res, callbacks);
  });
  return router;
}
