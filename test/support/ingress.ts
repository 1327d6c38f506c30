/** Helpers for the adapters' verify/parse tests and for tests that send signed requests. */

import { signSlackRequest } from '../../src/bots/index.js';
import { IngressError, type ParseOutcome } from '../../src/core/index.js';

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

/** A Slack `app_mention` of "help" as Slack signs and sends it: the fetch init for POST /slack/events. */
export function signedSlackMention(eventId: string, secret: string, teamId: string): RequestInit {
  const body = JSON.stringify({
    type: 'event_callback',
    team_id: teamId,
    event_id: eventId,
    event_time: 1,
    authorizations: [{ user_id: 'UBOT', is_bot: true }],
    event: {
      type: 'app_mention',
      user: 'U1',
      text: '<@UBOT> help',
      ts: '1.1',
      channel: 'C1',
      event_ts: '1.1',
    },
  });
  const ts = String(Math.floor(Date.now() / 1000));
  return {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-slack-request-timestamp': ts,
      'x-slack-signature': signSlackRequest(secret, ts, body),
    },
    body,
  };
}
