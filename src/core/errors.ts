/**
 * Typed errors. Every error a user can see carries a stable `code` (for logs, metrics and tests)
 * and a `userMessage` that is safe to post into a chat thread: no stack, no secrets, no internals.
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'CONFIG_MISSING'
  | 'STORE_UNREACHABLE'
  | 'STORE_VALIDATION'
  | 'STORE_CONFLICT'
  | 'ILLEGAL_TRANSITION'
  | 'NOT_FOUND'
  | 'BAD_SIGNATURE'
  | 'BAD_REQUEST'
  | 'PAYLOAD_TOO_LARGE'
  | 'NOT_CONFIGURED'
  | 'RATE_LIMITED'
  | 'BUDGET_EXCEEDED'
  | 'FORBIDDEN'
  | 'SANDBOX_FAILED'
  | 'SANDBOX_TIMEOUT'
  | 'UPSTREAM_FAILED'
  | 'INTERNAL';

export class DeckhandError extends Error {
  readonly code: ErrorCode;
  readonly userMessage: string;
  /** Whether trying again later could succeed (network blips, leases, rate limits). */
  readonly retryable: boolean;

  constructor(
    code: ErrorCode,
    userMessage: string,
    options: { cause?: unknown; retryable?: boolean; detail?: string } = {},
  ) {
    super(options.detail ? `${userMessage} (${options.detail})` : userMessage, { cause: options.cause });
    this.name = 'DeckhandError';
    this.code = code;
    this.userMessage = userMessage;
    this.retryable = options.retryable ?? false;
  }
}

export function isDeckhandError(error: unknown, code?: ErrorCode): error is DeckhandError {
  return error instanceof DeckhandError && (code === undefined || error.code === code);
}

/** A message for a person, whatever was thrown. Unknown errors never leak their text. */
export function userMessageOf(error: unknown): string {
  if (error instanceof DeckhandError) return error.userMessage;
  return 'Something went wrong on our side. The error was logged; try again in a minute.';
}

/** Typed errors whose userMessage still describes our internals (documents, state machines). */
const INTERNAL_CODES: ReadonlySet<ErrorCode> = new Set([
  'STORE_VALIDATION',
  'STORE_CONFLICT',
  'ILLEGAL_TRANSITION',
  'INTERNAL',
]);

/**
 * What a user is told when their task fails for good: a short reason and the task id, so they can
 * quote it. A typed error's userMessage is the reason; anything else (driver errors, stacks, paths,
 * upstream bodies) is only named as "on my side" and stays in the log.
 */
export function taskFailureMessage(error: unknown, taskId: string): string {
  if (error instanceof DeckhandError && !INTERNAL_CODES.has(error.code)) {
    return `${error.userMessage.replace(/[.\s]+$/, '')} (task ${taskId}).`;
  }
  return `Something went wrong on my side (task ${taskId}); the details are in Deckhand's log.`;
}
