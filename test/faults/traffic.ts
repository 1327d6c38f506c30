/**
 * Signed Slack events at a steady rate, delivered the way Slack does: a request not acked with a
 * 2xx (an error status, a refused connection or no answer within the timeout) is sent again with the
 * same event_id, freshly signed, after a backoff. Every attempt is kept for the books.
 */
import { signSlackRequest } from '../../src/bots/index.js';

export interface Attempt {
  sentAt: number;
  answeredAt: number;
  /** HTTP status, or 0 for a timeout / refused connection. */
  status: number;
}

export interface Delivery {
  eventId: string;
  threadTs: string;
  attempts: Attempt[];
  acked: boolean;
  done: Promise<void>;
}

export interface SenderOptions {
  base: string;
  signingSecret: string;
  timeoutMs: number;
  maxAttempts: number;
  /** Delay before attempt n+1 (n from 1), like the platform's retry schedule, compressed. */
  backoffMs: (attempt: number) => number;
}

function slackRequest(secret: string, eventId: string, threadTs: string, text: string, retry: number) {
  const body = JSON.stringify({
    type: 'event_callback',
    team_id: 'TFAULTS',
    api_app_id: 'AFAULTS',
    event_id: eventId,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ user_id: 'UBOT', is_bot: true }],
    event: {
      type: 'app_mention',
      user: 'UFAULTS',
      text: `<@UBOT> ${text}`,
      ts: threadTs,
      channel: 'CFAULTS',
      event_ts: threadTs,
    },
  });
  const ts = String(Math.floor(Date.now() / 1000));
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-slack-request-timestamp': ts,
    'x-slack-signature': signSlackRequest(secret, ts, body),
  };
  if (retry > 0) {
    headers['x-slack-retry-num'] = String(retry);
    headers['x-slack-retry-reason'] = 'http_error';
  }
  return { body, headers };
}

export function createSender(options: SenderOptions) {
  const deliveries: Delivery[] = [];

  async function deliver(delivery: Delivery, text: string): Promise<void> {
    for (let n = 0; n < options.maxAttempts; n++) {
      if (n > 0) await new Promise((r) => setTimeout(r, options.backoffMs(n)));
      const { body, headers } = slackRequest(
        options.signingSecret,
        delivery.eventId,
        delivery.threadTs,
        text,
        n,
      );
      const attempt: Attempt = { sentAt: Date.now(), answeredAt: 0, status: 0 };
      try {
        const res = await fetch(`${options.base}/slack/events`, {
          method: 'POST',
          headers,
          body,
          signal: AbortSignal.timeout(options.timeoutMs),
        });
        await res.arrayBuffer();
        attempt.status = res.status;
      } catch {
        attempt.status = 0;
      }
      attempt.answeredAt = Date.now();
      delivery.attempts.push(attempt);
      if (attempt.status >= 200 && attempt.status < 300) {
        delivery.acked = true;
        return;
      }
    }
  }

  return {
    deliveries,
    send(eventId: string, threadTs: string, text: string): Delivery {
      const delivery: Delivery = { eventId, threadTs, attempts: [], acked: false, done: Promise.resolve() };
      delivery.done = deliver(delivery, text);
      deliveries.push(delivery);
      return delivery;
    },
  };
}
