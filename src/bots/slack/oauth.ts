/**
 * Multi-workspace installs: GET /slack/install sends the installer to Slack's consent page,
 * GET /slack/oauth_redirect exchanges the code (oauth.v2.access) and stores the installation.
 * The `state` is an HMAC (SLACK_STATE_SECRET) over a timestamp and nonce, also set as a cookie, so
 * a callback is accepted only in the browser that started it and only for 10 minutes.
 * https://api.slack.com/authentication/oauth-v2
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { Logger } from '../../core/index.js';
import type { Store } from '../../store/index.js';
import { createSlackApi, SLACK_API_URL } from './api.js';

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

const accessSchema = z.object({
  ok: z.literal(true),
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  scope: z.string().default(''),
  bot_user_id: z.string().optional(),
  app_id: z.string().optional(),
  team: z.object({ id: z.string(), name: z.string().optional() }).nullable().optional(),
  enterprise: z.object({ id: z.string(), name: z.string().optional() }).nullable().optional(),
  authed_user: z.object({ id: z.string() }).optional(),
  is_enterprise_install: z.boolean().optional(),
});

export interface SlackOAuthOptions {
  clientId: string;
  clientSecret: string;
  stateSecret: string;
  store: Pick<Store, 'saveInstallation'>;
  logger: Pick<Logger, 'info' | 'warn'>;
  /** The public URL of /slack/oauth_redirect, when the app lists more than one. */
  redirectUri?: string | undefined;
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

/** Why a state is not acceptable, or undefined when it is. */
export function slackStateProblem(
  secret: string,
  state: string,
  cookie: string | undefined,
  now = Date.now(),
) {
  const match = /^(\d+)\.([0-9a-f]{24})\.([0-9a-f]{64})$/.exec(state);
  if (!match) return 'the state parameter is missing or malformed';
  const expected = Buffer.from(sign(secret, `${match[1]}.${match[2]}`), 'hex');
  const given = Buffer.from(match[3] ?? '', 'hex');
  if (expected.length !== given.length || !timingSafeEqual(expected, given))
    return 'the state was not issued here';
  if (now - Number(match[1]) > STATE_MAX_AGE_MS) return 'the install link expired; start again';
  if (cookie !== state) return 'the install was started in another browser; start again from /slack/install';
  return undefined;
}

function cookieOf(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return decodeURIComponent(value.join('='));
  }
  return undefined;
}

function page(res: Response, status: number, title: string, text: string): void {
  const html = (value: string) => value.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  res
    .status(status)
    .type('html')
    .send(`<!doctype html><title>${html(title)}</title><h1>${html(title)}</h1><p>${html(text)}</p>`);
}

export function createSlackOAuthRouter(options: SlackOAuthOptions): Router {
  const router = express.Router();
  const now = options.now ?? Date.now;

  router.get('/slack/install', (req, res) => {
    const state = createSlackState(options.stateSecret, now());
    const url = new URL(options.authorizeUrl ?? 'https://slack.com/oauth/v2/authorize');
    url.searchParams.set('client_id', options.clientId);
    url.searchParams.set('scope', SLACK_BOT_SCOPES.join(','));
    url.searchParams.set('state', state);
    if (options.redirectUri) url.searchParams.set('redirect_uri', options.redirectUri);
    res.cookie(STATE_COOKIE, state, {
      httpOnly: true,
      sameSite: 'lax',
      maxAge: STATE_MAX_AGE_MS,
      secure: req.secure,
    });
    res.redirect(302, url.toString());
  });

  router.get('/slack/oauth_redirect', async (req, res) => {
    const code = typeof req.query.code === 'string' ? req.query.code : '';
    const state = typeof req.query.state === 'string' ? req.query.state : '';
    if (typeof req.query.error === 'string') {
      page(res, 400, 'Deckhand was not installed', `Slack said: ${req.query.error}.`);
      return;
    }
    const problem = slackStateProblem(options.stateSecret, state, cookieOf(req, STATE_COOKIE), now());
    if (problem || !code) {
      page(res, 400, 'Deckhand was not installed', problem ?? 'Slack sent no code.');
      return;
    }
    res.clearCookie(STATE_COOKIE);
    try {
      // The client credentials go in the body of this one call; nothing here is logged.
      const api = createSlackApi({ token: '', apiUrl: options.apiUrl ?? SLACK_API_URL, retry: { tries: 2 } });
      const answer = await api(
        'oauth.v2.access',
        {
          client_id: options.clientId,
          client_secret: options.clientSecret,
          code,
          ...(options.redirectUri ? { redirect_uri: options.redirectUri } : {}),
        },
        { form: true },
      );
      const access = accessSchema.parse(answer);
      const enterpriseWide = access.is_enterprise_install === true;
      await options.store.saveInstallation({
        platform: 'slack',
        teamId: enterpriseWide ? undefined : access.team?.id,
        enterpriseId: access.enterprise?.id,
        appId: access.app_id,
        botUserId: access.bot_user_id,
        botToken: access.access_token,
        botScopes: access.scope.split(',').filter(Boolean),
        installedBy: access.authed_user?.id,
        raw: {
          team: access.team ?? null,
          enterprise: access.enterprise ?? null,
          isEnterpriseInstall: enterpriseWide,
        },
      });
      options.logger.info(
        { team: access.team?.id, enterprise: access.enterprise?.id },
        'Slack workspace installed',
      );
      page(
        res,
        200,
        'Deckhand is installed',
        `Mention @Deckhand in ${access.team?.name ?? 'your workspace'} to start.`,
      );
    } catch (error) {
      options.logger.warn({ err: error }, 'Slack install failed');
      page(
        res,
        502,
        'Deckhand was not installed',
        'Slack did not accept the install; start again from /slack/install.',
      );
    }
  });
  return router;
}
