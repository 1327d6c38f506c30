/** The async counterpart of test/support/ingress.ts statusOf, for verify/accept calls that return a promise. */
import { IngressError } from '../../src/core/index.js';

/** The HTTP status the call refuses with; undefined when it resolves, -1 for a non-ingress error. */
export async function refusalOf(fn: () => unknown): Promise<number | undefined> {
  try {
    await fn();
  } catch (error) {
    return error instanceof IngressError ? error.httpStatus : -1;
  }
  return undefined;
}

/** What the call throws or rejects with; undefined when it succeeds. */
export async function errorOf(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  return undefined;
}
