/**
 * Discord interaction signing: Ed25519 over `${X-Signature-Timestamp}${rawBody}` with the
 * application's public key (hex), signature in `X-Signature-Ed25519` (hex).
 * https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint-validating-security-request-headers
 */
import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { assertBodySize, ingressError, notConfigured } from '../../core/index.js';

/** DER SubjectPublicKeyInfo header for a raw 32-byte Ed25519 key (RFC 8410). */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface DiscordSignatureInput {
  /** DISCORD_PUBLIC_KEY: 64 hex characters. */
  publicKeyHex: string;
  rawBody: Buffer;
  /** X-Signature-Ed25519 (128 hex characters). */
  signature: string | undefined;
  /** X-Signature-Timestamp. */
  timestamp: string | undefined;
}

const keyCache = new Map<string, KeyObject>();

/** A KeyObject for a hex Ed25519 public key; 503 when the configured key is not one. */
export function discordPublicKey(publicKeyHex: string): KeyObject {
  const normalized = publicKeyHex.trim().toLowerCase();
  const cached = keyCache.get(normalized);
  if (cached) return cached;
  if (!/^[0-9a-f]{64}$/.test(normalized)) {
    throw ingressError(
      503,
      'DISCORD_PUBLIC_KEY is not a 32-byte hex Ed25519 key; copy it from the Developer Portal.',
    );
  }
  const key = createPublicKey({
    key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(normalized, 'hex')]),
    format: 'der',
    type: 'spki',
  });
  if (keyCache.size > 16) keyCache.clear();
  keyCache.set(normalized, key);
  return key;
}

/** Throws IngressError 401 unless the request carries a valid Discord signature (503 without a key). */
export function verifyDiscordSignature(input: DiscordSignatureInput): void {
  const { publicKeyHex, rawBody, signature, timestamp } = input;
  if (!publicKeyHex) {
    throw notConfigured('Discord interactions', 'DISCORD_PUBLIC_KEY');
  }
  const key = discordPublicKey(publicKeyHex);
  assertBodySize(rawBody);
  if (!signature) throw ingressError(401, 'Missing X-Signature-Ed25519 header.');
  if (!timestamp) throw ingressError(401, 'Missing X-Signature-Timestamp header.');
  if (!/^[0-9a-f]{128}$/i.test(signature)) {
    throw ingressError(401, 'X-Signature-Ed25519 is not a 64-byte hex signature.');
  }
  const message = Buffer.concat([Buffer.from(timestamp, 'utf8'), rawBody]);
  let valid: boolean;
  try {
    valid = verify(null, message, key, Buffer.from(signature, 'hex'));
  } catch (cause) {
    throw ingressError(401, 'Discord signature could not be checked.', { cause });
  }
  if (!valid) throw ingressError(401, 'Discord signature does not match the request body.');
}
