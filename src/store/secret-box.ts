/**
 * Encryption at rest for the credentials the store keeps (Slack bot tokens from OAuth installs), so
 * a database dump or backup does not hand out working tokens. AES-256-GCM; the AES key is SHA-256 of
 * the configured key string.
 *
 * Format written: `enc:v2:<kid>:<base64 of iv (12 bytes) | tag (16 bytes) | ciphertext>`, where
 * `<kid>` is 8 hex characters naming the key (SHA-256 of a label and the AES key, so it reveals
 * nothing of the key), and the GCM additional data is `enc:v2:<kid>:` followed by the record id the
 * caller names (an installation's `_id`, e.g. `slack:T123`): a sealed value copied onto another
 * record, or given another key id, does not open. The tag must be exactly 16 bytes: Node would
 * otherwise accept a tag as short as 4 bytes, which a forger can guess in 2^32 tries.
 *
 * Also read, as before: `enc:v1:<base64 of iv | tag | ciphertext>` (no key id, no record binding;
 * each configured key is tried, and the tag must be 16 bytes here too), and plain text, stored before
 * a key was set. Both come back marked stale, as does a v2 value under a previous key, so the caller
 * writes it again sealed under the current key.
 *
 * Keys: DECKHAND_SECRET_KEY seals and opens; DECKHAND_SECRET_KEY_PREVIOUS (comma- or line-separated)
 * only opens, which is how a key is rotated. Without any key, values are stored as given (and read
 * back as given), as before this existed; a sealed value then cannot be read, and the error says
 * which variable to set.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { DeckhandError, registerSecret } from '../core/index.js';

const PREFIX_V1 = 'enc:v1:';
const PREFIX_V2 = 'enc:v2:';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const V2_PATTERN = /^enc:v2:([0-9a-f]{8}):([A-Za-z0-9+/]*={0,2})$/;
/** A key shorter than this is refused: `openssl rand -base64 32` gives 44 characters. */
export const SECRET_KEY_MIN_CHARS = 32;

export interface OpenedSecret {
  plain: string;
  /** Not sealed in the current format under the current key: write it again (seal) to upgrade it. */
  stale: boolean;
}

export interface SecretBox {
  /** The current key's id (what `enc:v2:<kid>:` says), or undefined without a key. */
  readonly keyId: string | undefined;
  /** Seals `plain` for the record `recordId` (stored as given when no key is set). */
  seal(plain: string, recordId: string): string;
  /** Opens a value stored for `recordId`; `what` names it in errors ("Slack bot token"). */
  open(stored: string, recordId: string, what: string): OpenedSecret;
}

interface BoxKey {
  id: string;
  aes: Buffer;
}

function deriveKey(secretKey: string): BoxKey {
  // Any long random string works as the key material; SHA-256 makes it the 32 bytes AES-256 needs.
  const aes = createHash('sha256').update(secretKey, 'utf8').digest();
  const id = createHash('sha256')
    .update('deckhand secret-box key id\0')
    .update(aes)
    .digest('hex')
    .slice(0, 8);
  return { id, aes };
}

/** The key id a value sealed with `secretKey` carries (`enc:v2:<kid>:…`). */
export function secretKeyId(secretKey: string): string {
  return deriveKey(secretKey).id;
}

function checkLength(secretKey: string, variable: string): void {
  if (secretKey.length < SECRET_KEY_MIN_CHARS) {
    throw new DeckhandError(
      'CONFIG_INVALID',
      `${variable} holds a key that is too short (${secretKey.length} characters); use at least ${SECRET_KEY_MIN_CHARS}, for example: export DECKHAND_SECRET_KEY="$(openssl rand -base64 32)".`,
    );
  }
}

function splitKeys(previous: string | readonly string[] | undefined): string[] {
  if (previous === undefined) return [];
  const list = typeof previous === 'string' ? previous.split(/[,\n]/) : previous;
  return list.map((key) => key.trim()).filter((key) => key !== '');
}

/** Plain text from GCM, or undefined when the tag does not authenticate. */
function decrypt(aes: Buffer, packed: Buffer, aad: Buffer | undefined): string | undefined {
  try {
    const decipher = createDecipheriv('aes-256-gcm', aes, packed.subarray(0, IV_BYTES), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAuthTag(packed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    if (aad) decipher.setAAD(aad);
    return Buffer.concat([decipher.update(packed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString(
      'utf8',
    );
  } catch {
    return undefined;
  }
}

/**
 * @param secretKey DECKHAND_SECRET_KEY: seals new values and opens them.
 * @param previousSecretKeys DECKHAND_SECRET_KEY_PREVIOUS: keys that still open values, never seal.
 */
export function createSecretBox(
  secretKey?: string,
  previousSecretKeys?: string | readonly string[],
): SecretBox {
  if (secretKey !== undefined) checkLength(secretKey, 'DECKHAND_SECRET_KEY');
  const previous = splitKeys(previousSecretKeys);
  if (previous.length > 0 && secretKey === undefined) {
    throw new DeckhandError(
      'CONFIG_INVALID',
      'DECKHAND_SECRET_KEY_PREVIOUS is set but DECKHAND_SECRET_KEY is not: set DECKHAND_SECRET_KEY to the new key (previous keys only read what they sealed), for example: export DECKHAND_SECRET_KEY="$(openssl rand -base64 32)".',
    );
  }
  for (const key of previous) {
    checkLength(key, 'DECKHAND_SECRET_KEY_PREVIOUS');
    // The variable is registered whole by the config; each key on its own must be redacted too.
    registerSecret(key);
  }
  const current = secretKey ? deriveKey(secretKey) : undefined;
  // Current first: v1 values (no key id) are tried against each key in this order.
  const keys = [...(current ? [current] : []), ...previous.map(deriveKey)].filter(
    (key, index, all) => all.findIndex((other) => other.id === key.id) === index,
  );

  function cannotOpen(what: string, recordId: string, reason: string): DeckhandError {
    return new DeckhandError(
      'CONFIG_INVALID',
      `The stored ${what} (${recordId}) cannot be decrypted: ${reason}. Set DECKHAND_SECRET_KEY to the key it was stored with, or keep that key in DECKHAND_SECRET_KEY_PREVIOUS while rotating; or install the app again.`,
    );
  }

  function unpack(body: string, what: string, recordId: string): Buffer {
    const packed = Buffer.from(body, 'base64');
    // A shorter value has a truncated tag (or none): refused rather than checked with a short tag.
    if (packed.length < IV_BYTES + TAG_BYTES) {
      throw cannotOpen(what, recordId, `it is damaged (its authentication tag is not ${TAG_BYTES} bytes)`);
    }
    return packed;
  }

  return {
    keyId: current?.id,

    seal(plain, recordId) {
      if (!current) return plain;
      const header = `${PREFIX_V2}${current.id}:`;
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', current.aes, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(Buffer.from(header + recordId, 'utf8'));
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return header + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
    },

    open(stored, recordId, what) {
      const v1 = stored.startsWith(PREFIX_V1);
      const v2 = stored.startsWith(PREFIX_V2);
      if (!v1 && !v2) return { plain: stored, stale: current !== undefined };
      if (keys.length === 0) {
        throw new DeckhandError(
          'CONFIG_MISSING',
          `The stored ${what} (${recordId}) is encrypted and DECKHAND_SECRET_KEY is not set: set it to the key it was stored with (export DECKHAND_SECRET_KEY=... or DECKHAND_SECRET_KEY_FILE=/path).`,
        );
      }
      if (v1) {
        const packed = unpack(stored.slice(PREFIX_V1.length), what, recordId);
        for (const key of keys) {
          const plain = decrypt(key.aes, packed, undefined);
          if (plain !== undefined) return { plain, stale: true };
        }
        throw cannotOpen(what, recordId, 'none of the configured keys opens it (was the key changed?)');
      }
      const match = V2_PATTERN.exec(stored);
      if (!match) throw cannotOpen(what, recordId, 'it is damaged (not a sealed value Deckhand wrote)');
      const [, keyId = '', body = ''] = match;
      const packed = unpack(body, what, recordId);
      const candidates = keys.filter((key) => key.id === keyId);
      if (candidates.length === 0) {
        const known = keys.map((key) => key.id).join(', ');
        throw cannotOpen(
          what,
          recordId,
          `it was sealed with key id ${keyId}, and the configured keys have ids ${known}`,
        );
      }
      const aad = Buffer.from(`${PREFIX_V2}${keyId}:${recordId}`, 'utf8');
      for (const key of candidates) {
        const plain = decrypt(key.aes, packed, aad);
        if (plain !== undefined) return { plain, stale: key.id !== current?.id };
      }
      throw cannotOpen(
        what,
        recordId,
        `its key id ${keyId} matches, but it does not authenticate for this record (copied from another record, or altered)`,
      );
    },
  };
}
