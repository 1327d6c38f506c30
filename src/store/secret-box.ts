/**
 * Encryption at rest for the credentials the store keeps (Slack bot tokens from OAuth installs), so
 * a database dump or backup does not hand out working tokens. AES-256-GCM under a key derived from
 * DECKHAND_SECRET_KEY; a sealed value reads `enc:v1:<base64 of iv | tag | ciphertext>`.
 *
 * Without a key, values are stored as given (and read back as given), as before this existed; a
 * value sealed earlier then cannot be read, and the error says which variable to set. Values stored
 * in plain text before a key was set are still read, and sealed when next written.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { DeckhandError } from '../core/errors.js';

const PREFIX = 'enc:v1:';
/** A key shorter than this is refused: `openssl rand -base64 32` gives 44 characters. */
export const SECRET_KEY_MIN_CHARS = 32;

export interface SecretBox {
  seal(plain: string): string;
  open(stored: string, what: string): string;
}

export function createSecretBox(secretKey?: string): SecretBox {
  if (secretKey !== undefined && secretKey.length < SECRET_KEY_MIN_CHARS) {
    throw new DeckhandError(
      'CONFIG_INVALID',
      `DECKHAND_SECRET_KEY is too short (${secretKey.length} characters); use at least ${SECRET_KEY_MIN_CHARS}, for example: export DECKHAND_SECRET_KEY="$(openssl rand -base64 32)".`,
    );
  }
  // Any long random string works as the key material; SHA-256 makes it the 32 bytes AES-256 needs.
  const key = secretKey ? createHash('sha256').update(secretKey, 'utf8').digest() : undefined;
  return {
    seal(plain) {
      if (!key) return plain;
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
    },
    open(stored, what) {
      if (!stored.startsWith(PREFIX)) return stored;
      if (!key) {
        throw new DeckhandError(
          'CONFIG_MISSING',
          `The stored ${what} is encrypted and DECKHAND_SECRET_KEY is not set: set it to the key it was stored with (export DECKHAND_SECRET_KEY=... or DECKHAND_SECRET_KEY_FILE=/path).`,
        );
      }
      const packed = Buffer.from(stored.slice(PREFIX.length), 'base64');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, packed.subarray(0, 12));
        decipher.setAuthTag(packed.subarray(12, 28));
        return Buffer.concat([decipher.update(packed.subarray(28)), decipher.final()]).toString('utf8');
      } catch (error) {
        throw new DeckhandError(
          'CONFIG_INVALID',
          `The stored ${what} cannot be decrypted with this DECKHAND_SECRET_KEY (was it changed?); set the key it was stored with, or install the app again.`,
          { cause: error },
        );
      }
    },
  };
}
