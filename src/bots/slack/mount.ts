/**
 * Slack on the HTTP port besides `/slack/events`: a Bolt App on the ExpressReceiver's `/slack/bolt`
 * endpoint, authorized per workspace from the store (Bolt's `authorize`, so it starts offline), whose
 * one global middleware hands every body to the same parse -> pipeline path; and, when the OAuth
 * secrets are set, the install routes (/slack/install, /slack/oauth_redirect).
 */
import { App, type ExpressReceiver } from '@slack/bolt';
import type { Express } from 'express';
import type { Config } from '../../core/config.js';
import type { Logger } from '../../core/logger.js';
import type { Store } from '../../store/index.js';
import type { Pipeline } from '../pipeline.js';
import { createSlackAuthorize } from './authorize.js';
import { createSlackBodyParser } from './ingress.js';
import { createSlackOAuthRouter } from './oauth.js';
import { handleSocketEnvelope, slackLogger } from './socket.js';

export interface SlackMountDeps {
  app: Express;
  /** Create it with processBeforeResponse: true, so Slack's 200 waits for the durable task. */
  receiver: ExpressReceiver;
  config: Config;
  store: Store;
  pipeline: Pipeline;
  logger: Logger;
  env?: Record<string, string | undefined>;
}

/** Bolt's body kinds, named as Socket Mode names its envelopes. */
function envelopeType(body: Record<string, unknown>): string {
  if (body.type === 'event_callback' || body.type === 'url_verification') return 'events_api';
  if (typeof body.command === 'string') return 'slash_commands';
  return 'interactive';
}

export function mountSlack(deps: SlackMountDeps): App {
  const { config, store, pipeline, logger } = deps;
  const secrets = config.secrets;
  const env = deps.env ?? process.env;
  const bolt = new App({
    receiver: deps.receiver,
    authorize: createSlackAuthorize({ installations: store, botToken: secrets.SLACK_BOT_TOKEN }),
    logger: slackLogger(logger),
  });
  const parse = createSlackBodyParser({ config, threads: store });
  bolt.use(async (args) => {
    const body = args.body as unknown as Record<string, unknown>;
    const ack = 'ack' in args && typeof args.ack === 'function' ? args.ack : undefined;
    await handleSocketEnvelope(
      {
        type: envelopeType(body),
        body,
        // Events were acked by Bolt already (its response still waits for us: processBeforeResponse).
        ack: async (response) => {
          if (ack) await (ack as (response?: Record<string, unknown>) => Promise<void>)(response);
        },
      },
      { parse, ingest: (event) => pipeline.ingest(event), logger },
    );
  });

  if (secrets.SLACK_CLIENT_ID && secrets.SLACK_CLIENT_SECRET && secrets.SLACK_STATE_SECRET) {
    deps.app.use(
      createSlackOAuthRouter({
        clientId: secrets.SLACK_CLIENT_ID,
        clientSecret: secrets.SLACK_CLIENT_SECRET,
        stateSecret: secrets.SLACK_STATE_SECRET,
        store,
        logger,
        redirectUri: env.SLACK_REDIRECT_URI || undefined,
        apiUrl: env.SLACK_API_URL || undefined,
      }),
    );
  }
  return bolt;
}
