/**
 * Slack's SDKs (@slack/web-api, @slack/socket-mode, @slack/oauth) log through their own Logger
 * interface, to the console by default; this hands their lines to Deckhand's pino logger instead,
 * prefixed with which SDK spoke and scrubbed of known secrets. Each caller says where each SDK level
 * goes: the Web API's and Socket Mode's debug lines carry whole payloads and are dropped.
 */
import { LogLevel, type Logger as SlackLogger } from '@slack/web-api';
import { redactText } from '../../core/index.js';

type Level = 'debug' | 'info' | 'warn' | 'error';

/** Where each SDK level is written in our log; undefined drops it. */
export type SdkLevels = Record<Level, Level | undefined>;

/** Every level as itself. */
export const SDK_LEVELS_AS_IS: SdkLevels = { debug: 'debug', info: 'info', warn: 'warn', error: 'error' };

/** The log methods a mapping writes to (pino's Logger has them all; a SinkLogger has warn and debug). */
export type SdkLogTarget = Partial<Record<Level, (object: object, message: string) => void>>;

export function slackSdkLogger(
  log: SdkLogTarget,
  label: string,
  levels: SdkLevels = SDK_LEVELS_AS_IS,
): SlackLogger {
  let level = LogLevel.WARN;
  const write =
    (from: Level) =>
    (...parts: unknown[]) => {
      const to = levels[from];
      if (to) log[to]?.call(log, {}, redactText(`${label}: ${parts.map(String).join(' ')}`));
    };
  return {
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    setLevel: (next: LogLevel) => {
      level = next;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}
