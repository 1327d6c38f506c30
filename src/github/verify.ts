/**
 * GitHub webhook signing: `X-Hub-Signature-256: sha256=<hex>`, the HMAC-SHA256 of the raw body with
 * the webhook secret. The check itself is @octokit/webhooks' `verify` (a constant-time comparison);
 * this file keeps Deckhand's answers around it: 503 naming GITHUB_WEBHOOK_SECRET when it is unset,
 * 401 for a missing or wrong signature, 400 for a body that cannot be a delivery.
 * https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
 */
import { createHmac } from 'node:crypto';
import { Webhooks } from '@octokit/webhooks';
import { assertBodySize, ingressError, notConfigured } from '../core/index.js';

export interface GitHubSignatureInput {
  /** GITHUB_WEBHOOK_SECRET. */
  secret: string;
  rawBody: Buffer;
  /** X-Hub-Signature-256. */
  signature256: string | undefined;
}

/**
 * `sha256=<hex>` for a body, as GitHub would sign it. Synchronous, for tests, benchmarks and local
 * tools that build signed requests; verification never uses it.
 */
export function signGitHubPayload(secret: string, rawBody: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
}

/** One @octokit/webhooks instance for the secret in use (it changes only when the operator rotates it). */
let verifier: { secret: string; webhooks: Webhooks } | undefined;

function webhooksFor(secret: string): Webhooks {
  if (verifier?.secret !== secret) verifier = { secret, webhooks: new Webhooks({ secret }) };
  return verifier.webhooks;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The body as GitHub signed it: UTF-8 JSON text. Undefined for bytes that are not UTF-8. */
function bodyText(rawBody: Buffer): string | undefined {
  try {
    return utf8.decode(rawBody);
  } catch {
    return undefined;
  }
}

/**
 * Resolves when the body carries a valid signature; rejects with IngressError 503 without a secret,
 * 401 for a missing, malformed or wrong signature, 400 for an empty or non-UTF-8 body. Nothing about
 * the body is read before the signature's shape is checked.
 */
export async function verifyGitHubSignature(input: GitHubSignatureInput): Promise<void> {
  const { secret, rawBody, signature256 } = input;
  if (!secret) throw notConfigured('GitHub webhooks', 'GITHUB_WEBHOOK_SECRET');
  assertBodySize(rawBody);
  if (!signature256) throw ingressError(401, 'Missing X-Hub-Signature-256 header.');
  const signature = signature256.trim();
  if (!/^sha256=[0-9a-f]{64}$/i.test(signature)) {
    throw ingressError(401, 'X-Hub-Signature-256 is not a sha256 signature.');
  }
  // @octokit/webhooks signs the text, so the text must be exactly the bytes that came in.
  const text = bodyText(rawBody);
  if (!text) throw ingressError(400, 'The webhook body is empty or not UTF-8 text.');
  // GitHub sends lowercase hex; the comparison inside `verify` is over the whole `sha256=<hex>` string.
  const valid = await webhooksFor(secret).verify(text, `sha256=${signature.slice(7).toLowerCase()}`);
  if (!valid) throw ingressError(401, 'GitHub signature does not match the request body.');
}
