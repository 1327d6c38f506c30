/**
 * The secret box on its own: what it refuses to open (short tags, values moved to another record,
 * keys it does not hold) and what it still opens (the v1 format and plain text from before).
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSecretBox, secretKeyId } from '../../src/store/index.js';

const KEY_A = 'key-a-for-tests-only-not-for-any-real-use';
const KEY_B = 'key-b-for-tests-only-not-for-any-real-use';
const TOKEN = 'xoxb-1111-2222-abcdefghijklmnop';
const WHAT = 'Slack bot token';

function aesKey(secretKey: string): Buffer {
  return createHash('sha256').update(secretKey, 'utf8').digest();
}

/** GCM over `plain`, packed iv | tag | ciphertext, with the tag cut to `tagBytes` (GCM truncates from the front). */
function gcm(secretKey: string, plain: string, tagBytes: number, aad?: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', aesKey(secretKey), iv);
  if (aad !== undefined) cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag().subarray(0, tagBytes), body]);
}

/** A value in the format Deckhand wrote before key ids and record binding: `enc:v1:`. */
function sealV1(secretKey: string, plain: string): string {
  return `enc:v1:${gcm(secretKey, plain, 16).toString('base64')}`;
}

describe('the secret box', () => {
  it('refuses a v1 value whose tag was truncated to 4 bytes, though that tag is genuine', () => {
    const forged = `enc:v1:${gcm(KEY_A, '', 4).toString('base64')}`;
    const box = createSecretBox(KEY_A);
    expect(() => box.open(forged, 'slack:T1', WHAT)).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        userMessage: expect.stringContaining('authentication tag is not 16 bytes'),
      }),
    );
  });

  it('refuses a v2 value whose tag was truncated to 4 bytes', () => {
    const header = `enc:v2:${secretKeyId(KEY_A)}:`;
    const forged = header + gcm(KEY_A, '', 4, `${header}slack:T1`).toString('base64');
    expect(() => createSecretBox(KEY_A).open(forged, 'slack:T1', WHAT)).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
  });

  it('seals under the current key id and opens only for the record it was sealed for', () => {
    const box = createSecretBox(KEY_A);
    const sealed = box.seal(TOKEN, 'slack:T1');
    expect(sealed.startsWith(`enc:v2:${secretKeyId(KEY_A)}:`)).toBe(true);
    expect(box.open(sealed, 'slack:T1', WHAT)).toEqual({ plain: TOKEN, stale: false });
    expect(() => box.open(sealed, 'slack:T2', WHAT)).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        userMessage: expect.stringContaining('does not authenticate for this record'),
      }),
    );
  });

  it('refuses a value whose key id was rewritten to another configured key', () => {
    const sealed = createSecretBox(KEY_A).seal(TOKEN, 'slack:T1');
    const relabelled = sealed.replace(secretKeyId(KEY_A), secretKeyId(KEY_B));
    expect(() => createSecretBox(KEY_B, KEY_A).open(relabelled, 'slack:T1', WHAT)).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
  });

  it('opens a value sealed under a previous key and marks it stale, and names both variables without it', () => {
    const sealed = createSecretBox(KEY_A).seal(TOKEN, 'slack:T1');
    const rotated = createSecretBox(KEY_B, `${KEY_A}, some-other-old-key-that-is-long-enough`);
    expect(rotated.keyId).toBe(secretKeyId(KEY_B));
    expect(rotated.open(sealed, 'slack:T1', WHAT)).toEqual({ plain: TOKEN, stale: true });
    const resealed = rotated.seal(TOKEN, 'slack:T1');
    expect(resealed.startsWith(`enc:v2:${secretKeyId(KEY_B)}:`)).toBe(true);
    expect(createSecretBox(KEY_B).open(resealed, 'slack:T1', WHAT).plain).toBe(TOKEN);
    expect(() => createSecretBox(KEY_B).open(sealed, 'slack:T1', WHAT)).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        userMessage: expect.stringMatching(
          new RegExp(`key id ${secretKeyId(KEY_A)}.*DECKHAND_SECRET_KEY .*DECKHAND_SECRET_KEY_PREVIOUS`),
        ),
      }),
    );
  });

  it('still opens the v1 format, under the current or a previous key, and marks it stale', () => {
    expect(createSecretBox(KEY_A).open(sealV1(KEY_A, TOKEN), 'slack:T1', WHAT)).toEqual({
      plain: TOKEN,
      stale: true,
    });
    expect(createSecretBox(KEY_B, KEY_A).open(sealV1(KEY_A, TOKEN), 'slack:T1', WHAT).plain).toBe(TOKEN);
  });

  it('reads plain text as given: stale with a key, as it was without one', () => {
    expect(createSecretBox(KEY_A).open(TOKEN, 'slack:T1', WHAT)).toEqual({ plain: TOKEN, stale: true });
    expect(createSecretBox().open(TOKEN, 'slack:T1', WHAT)).toEqual({ plain: TOKEN, stale: false });
    expect(createSecretBox().seal(TOKEN, 'slack:T1')).toBe(TOKEN);
  });

  it('refuses previous keys without a current one, and a previous key too short to be a key', () => {
    expect(() => createSecretBox(undefined, KEY_A)).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        userMessage: expect.stringContaining('DECKHAND_SECRET_KEY is not'),
      }),
    );
    expect(() => createSecretBox(KEY_B, 'short')).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        userMessage: expect.stringContaining('DECKHAND_SECRET_KEY_PREVIOUS'),
      }),
    );
  });
});
