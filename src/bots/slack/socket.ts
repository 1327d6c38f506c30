/**
 * Slack Socket Mode (SLACK_APP_TOKEN, xapp-…): Slack pushes the same payloads over a WebSocket
 * instead of HTTP. We take the raw envelopes from the Socket Mode client (not a framework's listener chain,
 * which would ack events before any handler runs) and feed them to the same parse -> pipeline path as
 * HTTP; an envelope is acked only once its task is durable, so a crash before that makes Slack
 * deliver it again, and the pipeline's dedupe turns the redelivery into nothing.
 */
import { SocketModeClient } from '@slack/socket-mode';
import type { Logger, NormalizedEvent, ParseOutcome } from '../../core/index.js';
import { isIngressError } from '../../core/index.js';
import type { IngestResult } from '../pipeline.js';
import { slackApiBase } from './api.js';
import { slackSdkLogger } from './sdk-logger.js';

/** What the Socket Mode client hands each listener of `slack_event`. */
export interface SocketEnvelope {
  type: string;
  body: unknown;
  envelope_id?: string;
  retry_num?: number;
  ack: (response?: Record<string, unknown>) => Promise<void>;
}

export interface SocketIngressDeps {
  parse: (type: string, body: unknown) => Promise<ParseOutcome>;
  ingest: (event: NormalizedEvent) => Promise<IngestResult>;
  logger: Pick<Logger, 'warn' | 'debug' | 'error'>;
}

/** One envelope: parse, make the task durable, then ack (with the slash command's first answer). */
export async function handleSocketEnvelope(envelope: SocketEnvelope, deps: SocketIngressDeps): Promise<void> {
  const { type } = envelope;
  if (type !== 'events_api' && type !== 'slash_commands' && type !== 'interactive') {
    await envelope.ack();
    return;
  }
  let outcome: ParseOutcome;
  try {
    outcome = await deps.parse(type, envelope.body);
  } catch (error) {
    // A payload we cannot read will not get better on redelivery: ack it and say why in the log.
    if (!isIngressError(error)) throw error;
    deps.logger.warn({ err: error, type }, 'Socket Mode envelope refused');
    await envelope.ack();
    return;
  }
  if (outcome.kind === 'respond') {
    await envelope.ack(
      typeof outcome.body === 'object' && outcome.body
        ? (outcome.body as Record<string, unknown>)
        : undefined,
    );
    return;
  }
  if (outcome.kind === 'ignore') {
    deps.logger.debug({ type, reason: outcome.reason }, 'Socket Mode envelope ignored');
    await envelope.ack();
    return;
  }
  // Not acked if this throws (store down): Slack redelivers the envelope.
  const { duplicate } = await deps.ingest(outcome.event);
  if (type === 'slash_commands') {
    await envelope.ack({ response_type: 'ephemeral', text: duplicate ? 'Already on it.' : 'On it…' });
  } else {
    await envelope.ack();
  }
}

export interface SlackSocketOptions extends SocketIngressDeps {
  /** SLACK_APP_TOKEN (xapp-…, scope connections:write). */
  appToken: string;
  logger: Logger;
  /** Web API base for apps.connections.open (tests). */
  apiUrl?: string;
}

/** Connects and serves until stop(). Resolves once the WebSocket is open. */
export async function startSlackSocketMode(options: SlackSocketOptions) {
  const client = new SocketModeClient({
    appToken: options.appToken,
    // At warn and above: its debug lines carry whole payloads.
    logger: slackSdkLogger(options.logger, 'Slack Socket Mode', {
      debug: undefined,
      info: undefined,
      warn: 'warn',
      error: 'error',
    }),
    clientOptions: options.apiUrl ? { slackApiUrl: slackApiBase(options.apiUrl) } : {},
  });
  client.on('slack_event', (envelope: SocketEnvelope) => {
    handleSocketEnvelope(envelope, options).catch((error: unknown) => {
      options.logger.error(
        { err: error, type: envelope.type },
        'Socket Mode envelope not recorded; Slack will redeliver it',
      );
    });
  });
  await client.start();
  options.logger.info('Slack Socket Mode connected');
  return {
    client,
    async stop(): Promise<void> {
      await client.disconnect();
    },
  };
}
