/**
 * GitHub webhook signing: `X-Hub-Signature-256: sha256=<hex>`, the HMAC-SHA256 of the raw body
 * with the webhook secret.
 * https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { assertBodySize, ingressError, notConfigured } from '../core/index.js';

export interface GitHubSignatureInput {
  /** GITHUB_WEBHOOK_SECRET. */
  secret: string;
  rawBody: Buffer;
  /** X-Hub-Signature-256. */
  signature256: string | undefined;
}

/** `sha256=<hex>` for a body, as GitHub would sign it. Exported for tests and local tools. */
export function signGitHubPayload(secret: string, rawBody: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
}

/** Throws IngressError 401 unless the body carries a valid signature (503 without a secret). */
export function verifyGitHubSignature(input: GitHubSignatureInput): void {
  const { secret, rawBody, signature256 } = input;
  if (!secret) throw notConfigured('GitHub webhooks', 'GITHUB_WEBHOOK_SECRET');
  assertBodySize(rawBody);
  if (!signature256) throw ingressError(401, 'Missing X-Hub-Signature-256 header.');
  const match = /^sha256=([0-9a-f]{64})$/i.exec(signature256.trim());
  if (!match?.[1]) throw ingressError(401, 'X-Hub-Signature-256 is not a sha256 signature.');
  const given = Buffer.from(match[1], 'hex');
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw ingressError(401, 'GitHub signature does not match the request body.');
  }
}
