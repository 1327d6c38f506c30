/**
 * A digest poster over the real Slack, Discord and terminal adapters, configured from bot tokens
 * and API bases the way a test names them (the stand-ins on loopback): what `deckhand start`
 * builds from config, in one call.
 */
import { digestChannelsOf, platformAdapters } from '../../src/bots/index.js';
import { createLogger, type Logger, loadConfig, type RetryOptions } from '../../src/core/index.js';
import { createDigestPoster, type DigestPoster } from '../../src/scheduler/index.js';

export interface TestDigestPosterOptions {
  slackBotToken?: string;
  discordBotToken?: string;
  slackApiUrl?: string;
  discordApiUrl?: string;
  retry?: RetryOptions;
  logger?: Logger;
}

export function chatDigestPoster(options: TestDigestPosterOptions = {}): DigestPoster {
  const secrets: Record<string, string> = {};
  if (options.slackBotToken) secrets.SLACK_BOT_TOKEN = options.slackBotToken;
  if (options.discordBotToken) secrets.DISCORD_BOT_TOKEN = options.discordBotToken;
  const env: Record<string, string> = {};
  if (options.slackApiUrl) env.SLACK_API_URL = options.slackApiUrl;
  if (options.discordApiUrl) env.DISCORD_API_URL = options.discordApiUrl;
  const adapters = platformAdapters({
    config: loadConfig(secrets),
    logger: options.logger ?? createLogger({ level: 'silent', pretty: false }),
    env,
    ...(options.retry ? { retry: options.retry } : {}),
  });
  return createDigestPoster(digestChannelsOf(adapters));
}
