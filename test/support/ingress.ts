/** Helpers for the adapters' verify/parse tests. */
import type { ParseOutcome } from '../../src/bots/events.js';
import { IngressError } from '../../src/bots/http.js';

/** The HTTP status a verify/parse call refuses with; undefined when it accepts, -1 for a non-ingress error. */
export function statusOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof IngressError ? error.httpStatus : -1;
  }
  return undefined;
}

export function eventOf(outcome: ParseOutcome) {
  if (outcome.kind !== 'event') throw new Error(`expected an event, got ${JSON.stringify(outcome)}`);
  return outcome.event;
}
