/** Errors turned into a reason a person can act on, and whether trying again may help. */
import { DeckhandError, isDeckhandError } from '../core/index.js';

export const STOPPED = {
  message: 'the task was stopped (cancelled, or Deckhand is shutting down).',
  retryable: false,
};

/** A reason a person can act on, and whether trying again may help. */
export function plainReason(error: unknown): { message: string; retryable: boolean } {
  if (isDeckhandError(error)) return { message: error.userMessage, retryable: error.retryable };
  if ((error as { name?: unknown }).name === 'AbortError') return STOPPED;
  const status = (error as { status?: unknown }).status;
  if (typeof status === 'number') {
    const data = (error as { response?: { data?: { message?: unknown; errors?: unknown } } }).response?.data;
    const said = data?.message;
    // A 422 says what was wrong in errors[].message ("No commits between main and deckhand/1-x").
    const details = Array.isArray(data?.errors)
      ? data.errors.flatMap((e: unknown) => {
          const text = (e as { message?: unknown } | null)?.message;
          return typeof text === 'string' ? [text] : [];
        })
      : [];
    const detail =
      typeof said === 'string'
        ? ` (${[said, ...details].join(': ')})`
        : details.length
          ? ` (${details.join('; ')})`
          : '';
    const retryable = status >= 500 || status === 429 || status === 0;
    if (status === 429 || (status === 403 && /rate limit/i.test(String(said)))) {
      return { message: 'GitHub’s rate limit for this installation was reached.', retryable: true };
    }
    if (status === 401 || status === 403) {
      return {
        message: `GitHub refused the request${detail}: the App (or token) may lack a permission it needs (contents, issues, pull requests: write).`,
        retryable: false,
      };
    }
    return { message: `GitHub answered HTTP ${status}${detail}.`, retryable };
  }
  return { message: 'something went wrong on my side; the details are in Deckhand’s log.', retryable: false };
}

/** The worker retries only errors that say so: an Octokit or git failure is wrapped to say it. */
export function retryableError(error: unknown, message: string): DeckhandError {
  if (isDeckhandError(error) && error.retryable) return error;
  return new DeckhandError('UPSTREAM_FAILED', message, { cause: error, retryable: true });
}
