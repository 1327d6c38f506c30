/**
 * Slack's SDKs (@slack/web-api, @slack/oauth) log through their own Logger interface, to the console
 * by default; this hands their lines to Deckhand's pino logger instead, so they pass the secret
 * scrubber and land in the same log.
 */
import type { Logger as SlackLogger } from '@slack/web-api';
import { LogLevel } from '@slack/web-api';
import type { Logger } from '../../core/index.js';

export function slackSdkLogger(logger: Logger, name = 'slack-sdk'): SlackLogger {
  const child = logger.child({ component: name });
  let level = LogLevel.WARN;
  const text = (parts: unknown[]) =>
    parts.map((part) => (typeof part === 'string' ? part : String(part))).join(' ');
  return {
    debug: (...parts: unknown[]) => child.debug(text(parts)),
    info: (...parts: unknown[]) => child.info(text(parts)),
    warn: (...parts: unknown[]) => child.warn(text(parts)),
    error: (...parts: unknown[]) => child.error(text(parts)),
    setLevel: (next: LogLevel) => {
      level = next;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}
