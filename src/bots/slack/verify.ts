/**
 * Slack request signing (v0): HMAC-SHA256 of `v0:${timestamp}:${rawBody}` with the app's signing
 * secret, sent as `X-Slack-Signature: v0=<hex>` next to `X-Slack-Request-Timestamp`.
 * https://api.slack.com/authentication/verifying-requests-from-slack
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { assertBodySize, ingressError, notConfigured } from '../../core/index.js';

/** How far the request timestamp may be from our clock, either way. */
export const SLACK_MAX_SKEW_SECONDS = 5 * 60;

export interface SlackSignatureInput {
  signingSecret: string;
  rawBody: Buffer;
  /** X-Slack-Request-Timestamp (unix seconds). */
  timestamp: string | undefined;
  /** X-Slack-Signature (`v0=<hex>`). */
  signature: string | undefined;
  /** Current time in milliseconds (tests). */
  now?: number;
}

/** `v0=<hex>` for a body, as Slack would sign it. Exported for tests and local tools. */
export function signSlackRequest(signingSecret: string, timestamp: string, rawBody: Buffer | string): string {
  const hmac = createHmac('sha256', signingSecret);
  hmac.update(`v0:${timestamp}:`);
  hmac.update(rawBody);
  return `v0=${hmac.digest('hex')}`;
}

/** Throws IngressError 401 unless the request carries a fresh, valid Slack signature (503 without a secret). */
export function verifySlackSignature(input: SlackSignatureInput): void {
  const { signingSecret, rawBody, timestamp, signature } = input;
  if (!signingSecret) {
    throw notConfigured('Slack', 'SLACK_SIGNING_SECRET');
  }
  assertBodySize(rawBody);
  if (!timestamp) throw ingressError(401, 'Missing X-Slack-Request-Timestamp header.');
  if (!signature) throw ingressError(401, 'Missing X-Slack-Signature header.');
  if (!/^\d{1,12}$/.test(timestamp)) {
    throw ingressError(401, 'X-Slack-Request-Timestamp is not a unix timestamp.');
  }
  const nowSeconds = Math.floor((input.now ?? Date.now()) / 1000);
  const skew = nowSeconds - Number(timestamp);
  if (skew > SLACK_MAX_SKEW_SECONDS) {
    throw ingressError(
      401,
      'Slack request timestamp is more than 5 minutes old; refusing a possible replay.',
    );
  }
  if (skew < -SLACK_MAX_SKEW_SECONDS) {
    throw ingressError(401, 'Slack request timestamp is more than 5 minutes in the future; check the clock.');
  }
  const match = /^v0=([0-9a-f]{64})$/i.exec(signature.trim());
  if (!match?.[1]) {
    throw ingressError(401, 'X-Slack-Signature is not a v0 signature.');
  }
  const given = Buffer.from(match[1], 'hex');
  const expected = Buffer.from(signSlackRequest(signingSecret, timestamp, rawBody).slice(3), 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw ingressError(401, 'Slack signature does not match the request body.');
  }
}
