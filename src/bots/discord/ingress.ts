/**
 * Discord's way in: signed HTTP interactions, and the gateway's INTERACTION_CREATE and MESSAGE_CREATE
 * dispatches. All go through the same parsers with the configured policy, then the pipeline.
 */
import type { Config, ParseOutcome } from '../../core/index.js';
import { ignore } from '../../core/index.js';
import type { Store } from '../../store/index.js';
import type { AdmissionPolicy } from '../admission.js';
import { DISCORD_THREAD_REPLY, type DiscordGatewayContext, parseDiscordMessage } from './gateway-parse.js';
import { parseDiscordInteraction } from './parse.js';
import { verifyDiscordSignature } from './verify.js';

export function discordPolicy(config: Pick<Config, 'discord'>): AdmissionPolicy {
  const { allowBots, allowedChannels, allowedUsers } = config.discord;
  return { allowBots, allowedChannels, allowedUsers };
}

export interface DiscordIngressDeps {
  config: Pick<Config, 'discord' | 'secrets'>;
  threads: Pick<Store, 'isKnownThread'>;
}

/** The `/discord/interactions` route: verify the Ed25519 signature, then parse with the policy. */
export function createDiscordRoute(deps: Pick<DiscordIngressDeps, 'config'>) {
  const policy = discordPolicy(deps.config);
  return async (rawBody: Buffer, headers: Record<string, string | undefined>): Promise<ParseOutcome> => {
    verifyDiscordSignature({
      publicKeyHex: deps.config.secrets.DISCORD_PUBLIC_KEY ?? '',
      rawBody,
      signature: headers['x-signature-ed25519'],
      timestamp: headers['x-signature-timestamp'],
    });
    return parseDiscordInteraction(rawBody, { policy });
  };
}

/** Gateway dispatches (already authenticated by the connection) -> outcomes. */
export function createDiscordGatewayParser(deps: DiscordIngressDeps) {
  const policy = discordPolicy(deps.config);
  return {
    interaction(payload: unknown): ParseOutcome {
      return parseDiscordInteraction(Buffer.from(JSON.stringify(payload)), { policy });
    },
    async message(payload: unknown, context: Omit<DiscordGatewayContext, 'policy'>): Promise<ParseOutcome> {
      const outcome = parseDiscordMessage(payload, { ...context, policy });
      if (outcome.kind !== 'event' || outcome.event.eventType !== DISCORD_THREAD_REPLY) return outcome;
      // Deckhand is part of a thread once it posted there (rememberingThread in ../sinks.ts).
      const { platform, workspaceId, channelId, threadId } = outcome.event;
      const known = await deps.threads.isKnownThread({ platform, workspaceId, channelId, threadId });
      return known ? outcome : ignore('message in a thread Deckhand is not part of');
    },
  };
}
