/**
 * Slack on the HTTP port besides `/slack/events`: the OAuth install pages (/slack/install,
 * /slack/oauth_redirect) when the OAuth secrets are set. There is no second Slack endpoint: a Bolt
 * receiver used to listen on /slack/bolt and, with no signing secret configured, checked signatures
 * against a placeholder anyone could sign with. Every signed Slack body now arrives on /slack/events
 * (HTTP) or over Socket Mode (the Slack adapter's connection), never both.
 */
import type { Router } from 'express';
import type { Config, Logger } from '../../core/index.js';
import type { Store } from '../../store/index.js';
import { createSlackOAuthRouter } from './oauth.js';

export interface SlackPagesDeps {
  config: Config;
  store: Store;
  logger: Logger;
  env?: Record<string, string | undefined>;
}

/** The install pages, or undefined when SLACK_CLIENT_ID, SLACK_CLIENT_SECRET or SLACK_STATE_SECRET is unset. */
export function createSlackPages(deps: SlackPagesDeps): Router | undefined {
  const { config, store, logger } = deps;
  const secrets = config.secrets;
  const env = deps.env ?? process.env;
  if (!secrets.SLACK_CLIENT_ID || !secrets.SLACK_CLIENT_SECRET || !secrets.SLACK_STATE_SECRET)
    return undefined;
  return createSlackOAuthRouter({
    clientId: secrets.SLACK_CLIENT_ID,
    clientSecret: secrets.SLACK_CLIENT_SECRET,
    stateSecret: secrets.SLACK_STATE_SECRET,
    store,
    logger,
    redirectUri: env.SLACK_REDIRECT_URI || undefined,
    apiUrl: env.SLACK_API_URL || undefined,
  });
}
