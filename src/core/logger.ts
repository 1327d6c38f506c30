/**
 * pino logger: JSON in production and when piped, pretty in a terminal. Every record passes through
 * the secret scrubber, so a token in an error message or a request body never reaches the log.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { type Logger, pino } from 'pino';
import { redactText, redactValue } from './redact.js';

/** Ids of the request or task being worked on; every log line written inside carries them. */
export interface LogContext {
  requestId?: string;
  taskId?: string;
}
const logContext = new AsyncLocalStorage<LogContext>();

/** Runs `fn` with `context` added to every log line it (and anything it awaits) writes. */
export function withLogContext<T>(context: LogContext, fn: () => T): T {
  return logContext.run({ ...logContext.getStore(), ...context }, fn);
}
export function currentLogContext(): LogContext {
  return logContext.getStore() ?? {};
}

export type { Logger } from 'pino';

export interface LoggerOptions {
  level?: string;
  pretty?: boolean;
  destination?: NodeJS.WritableStream;
  name?: string;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const pretty = options.pretty ?? (process.stdout.isTTY === true && process.env.NODE_ENV !== 'production');
  const base = {
    name: options.name ?? 'deckhand',
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    formatters: {
      log: (object: Record<string, unknown>) => redactValue(object) as Record<string, unknown>,
    },
    hooks: {
      logMethod(this: Logger, args: Parameters<Logger['info']>, method: (...a: unknown[]) => void) {
        method.apply(
          this,
          args.map((arg) => (typeof arg === 'string' ? redactText(arg) : arg)),
        );
      },
    },
    serializers: { err: (err: unknown) => redactValue(err) },
    // Request and task ids reach every line, also from loggers created before the request began.
    mixin: () => ({ ...logContext.getStore() }),
  };
  if (options.destination) return pino(base, options.destination as pino.DestinationStream);
  if (pretty) {
    return pino({
      ...base,
      transport: { target: 'pino-pretty', options: { colorize: true, destination: 2 } },
    });
  }
  return pino(base, pino.destination(2));
}

let shared: Logger | undefined;
export function logger(): Logger {
  shared ??= createLogger();
  return shared;
}
export function setLogger(next: Logger): void {
  shared = next;
}
