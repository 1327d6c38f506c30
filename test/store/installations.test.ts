/**
 * Slack bot tokens from OAuth installs are encrypted at rest when DECKHAND_SECRET_KEY is set: what
 * the database holds (and a dump or backup of it) is not a working token, while Deckhand reads it
 * back as it was given. A sealed token is bound to its record, and keys rotate through
 * DECKHAND_SECRET_KEY_PREVIOUS: what an old key sealed is read and sealed again under the new one.
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/index.js';
import { openStore, type Store, secretKeyId } from '../../src/store/index.js';
import { testDatabaseUri } from '../support/store.js';

const KEY = 'an-example-key-for-tests-only-not-for-use';
const TOKEN = 'xoxb-1111-2222-abcdefghijklmnop';
const uri = testDatabaseUri('installs');
let sealed: Store;
beforeAll(async () => {
  sealed = await openStore({ uri, retries: 1, secretKey: KEY });
});
afterAll(async () => {
  await sealed.dropDatabase().catch(() => undefined);
  await sealed.close();
});

/** A token sealed as Deckhand wrote it before key ids and record binding: `enc:v1:`, no AAD. */
function sealV1(secretKey: string, plain: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', createHash('sha256').update(secretKey, 'utf8').digest(), iv);
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return `enc:v1:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
}

async function storedToken(teamId: string): Promise<string | undefined> {
  const doc = await sealed.models.Installation.findById(`slack:${teamId}`).lean();
  return doc?.botToken;
}

describe('Slack installations at rest', () => {
  it('stores the bot token encrypted and reads it back as given', async () => {
    await sealed.saveInstallation({ platform: 'slack', teamId: 'T0SEALED', botToken: TOKEN });
    const stored = await storedToken('T0SEALED');
    expect(stored?.startsWith(`enc:v2:${secretKeyId(KEY)}:`)).toBe(true);
    expect(stored).not.toContain('xoxb');
    expect((await sealed.findInstallation('slack', { teamId: 'T0SEALED' }))?.botToken).toBe(TOKEN);
  });

  it('still reads a token stored in plain text before the key was set, and seals it as it reads it', async () => {
    const plain = await openStore({ uri, retries: 1, ensureIndexes: false });
    try {
      await plain.saveInstallation({ platform: 'slack', teamId: 'T0OLD', botToken: TOKEN });
    } finally {
      await plain.close();
    }
    expect(await storedToken('T0OLD')).toBe(TOKEN);
    expect((await sealed.findInstallation('slack', { teamId: 'T0OLD' }))?.botToken).toBe(TOKEN);
    expect(await storedToken('T0OLD')).toMatch(/^enc:v2:/);
    expect((await sealed.findInstallation('slack', { teamId: 'T0OLD' }))?.botToken).toBe(TOKEN);
  });

  it('says which variable to set when an encrypted token is read without the key or with another', async () => {
    await sealed.saveInstallation({ platform: 'slack', teamId: 'T0KEYS', botToken: TOKEN });
    const keyless = await openStore({ uri, retries: 1, ensureIndexes: false });
    const other = await openStore({ uri, retries: 1, ensureIndexes: false, secretKey: `${KEY}-changed` });
    try {
      await expect(keyless.findInstallation('slack', { teamId: 'T0KEYS' })).rejects.toMatchObject({
        code: 'CONFIG_MISSING',
        userMessage: expect.stringContaining('DECKHAND_SECRET_KEY'),
      });
      await expect(other.findInstallation('slack', { teamId: 'T0KEYS' })).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        userMessage: expect.stringContaining('cannot be decrypted'),
      });
    } finally {
      await keyless.close();
      await other.close();
    }
  });

  it('still reads a token sealed in the v1 format, and seals it again bound to its record', async () => {
    await sealed.saveInstallation({ platform: 'slack', teamId: 'T0V1', botToken: 'xoxb-placeholder' });
    await sealed.models.Installation.updateOne(
      { _id: 'slack:T0V1' },
      { $set: { botToken: sealV1(KEY, TOKEN) } },
    );
    expect((await sealed.findInstallation('slack', { teamId: 'T0V1' }))?.botToken).toBe(TOKEN);
    expect(await storedToken('T0V1')).toMatch(new RegExp(`^enc:v2:${secretKeyId(KEY)}:`));
    expect((await sealed.findInstallation('slack', { teamId: 'T0V1' }))?.botToken).toBe(TOKEN);
  });

  it('does not open a sealed token copied onto another installation', async () => {
    await sealed.saveInstallation({ platform: 'slack', teamId: 'T0MINE', botToken: TOKEN });
    await sealed.saveInstallation({ platform: 'slack', teamId: 'T0THEIRS', botToken: 'xoxb-9999-theirs' });
    const mine = await storedToken('T0MINE');
    await sealed.models.Installation.updateOne({ _id: 'slack:T0THEIRS' }, { $set: { botToken: mine } });
    await expect(sealed.findInstallation('slack', { teamId: 'T0THEIRS' })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      userMessage: expect.stringContaining('does not authenticate for this record'),
    });
    expect((await sealed.findInstallation('slack', { teamId: 'T0MINE' }))?.botToken).toBe(TOKEN);
  });

  it('rotates: a token sealed with the old key is read with it in DECKHAND_SECRET_KEY_PREVIOUS and sealed under the new one', async () => {
    const NEW_KEY = 'a-second-example-key-for-tests-only-rotated';
    await sealed.saveInstallation({ platform: 'slack', teamId: 'T0ROTR', botToken: TOKEN });
    await sealed.saveInstallation({ platform: 'slack', teamId: 'T0ROTW', botToken: TOKEN });
    const config = loadConfig({ DECKHAND_SECRET_KEY: NEW_KEY, DECKHAND_SECRET_KEY_PREVIOUS: KEY });
    const rotated = await openStore({
      uri,
      retries: 1,
      ensureIndexes: false,
      secretKey: config.secrets.DECKHAND_SECRET_KEY,
      previousSecretKeys: config.secrets.DECKHAND_SECRET_KEY_PREVIOUS,
    });
    const newOnly = await openStore({ uri, retries: 1, ensureIndexes: false, secretKey: NEW_KEY });
    try {
      await expect(newOnly.findInstallation('slack', { teamId: 'T0ROTR' })).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        userMessage: expect.stringContaining('DECKHAND_SECRET_KEY_PREVIOUS'),
      });
      // Read: opened with the previous key, and sealed again under the new one.
      expect((await rotated.findInstallation('slack', { teamId: 'T0ROTR' }))?.botToken).toBe(TOKEN);
      expect(await storedToken('T0ROTR')).toMatch(new RegExp(`^enc:v2:${secretKeyId(NEW_KEY)}:`));
      // Write (a reinstall): sealed under the new key.
      await rotated.saveInstallation({ platform: 'slack', teamId: 'T0ROTW', botToken: TOKEN });
      expect(await storedToken('T0ROTW')).toMatch(new RegExp(`^enc:v2:${secretKeyId(NEW_KEY)}:`));
      for (const teamId of ['T0ROTR', 'T0ROTW'])
        expect((await newOnly.findInstallation('slack', { teamId }))?.botToken).toBe(TOKEN);
    } finally {
      await rotated.close();
      await newOnly.close();
    }
  });

  it('seals a rotating token’s refresh token too, and a bot token copied into its place does not open', async () => {
    const expires = new Date(Date.now() + 43_200_000);
    await sealed.saveInstallation({
      platform: 'slack',
      teamId: 'T0ROTATES',
      botToken: 'xoxe.xoxb-rotating',
      refreshToken: 'xoxe-1-refresh-rotating',
      tokenExpiresAt: expires,
    });
    const doc = await sealed.models.Installation.findById('slack:T0ROTATES').lean();
    expect(doc?.refreshToken).toMatch(new RegExp(`^enc:v2:${secretKeyId(KEY)}:`));
    expect(JSON.stringify(doc)).not.toContain('xoxe');
    expect(await sealed.findInstallation('slack', { teamId: 'T0ROTATES' })).toMatchObject({
      botToken: 'xoxe.xoxb-rotating',
      refreshToken: 'xoxe-1-refresh-rotating',
      tokenExpiresAt: expires,
    });
    await sealed.models.Installation.updateOne(
      { _id: 'slack:T0ROTATES' },
      { $set: { refreshToken: doc?.botToken } },
    );
    await expect(sealed.findInstallation('slack', { teamId: 'T0ROTATES' })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    });
  });

  it('stores a renewed token only while the installation still holds the token it renewed', async () => {
    const first = new Date(Date.now() + 60_000);
    await sealed.saveInstallation({
      platform: 'slack',
      teamId: 'T0RENEW',
      botToken: 'xoxe.xoxb-first',
      refreshToken: 'xoxe-1-refresh-first',
      tokenExpiresAt: first,
    });
    const renewed = {
      botToken: 'xoxe.xoxb-second',
      refreshToken: 'xoxe-1-refresh-second',
      tokenExpiresAt: new Date(Date.now() + 43_200_000),
    };
    expect(await sealed.renewInstallationToken('slack:T0RENEW', first, renewed)).toMatchObject(renewed);
    // A second renewal of the same (now replaced) token changes nothing.
    const late = { ...renewed, botToken: 'xoxe.xoxb-late', refreshToken: 'xoxe-1-refresh-late' };
    expect(await sealed.renewInstallationToken('slack:T0RENEW', first, late)).toBeNull();
    expect((await sealed.findInstallation('slack', { teamId: 'T0RENEW' }))?.botToken).toBe(
      'xoxe.xoxb-second',
    );
  });

  it('drops the old refresh token when a reinstall brings a token that does not rotate', async () => {
    await sealed.saveInstallation({
      platform: 'slack',
      teamId: 'T0ROTOFF',
      botToken: 'xoxe.xoxb-rotating',
      refreshToken: 'xoxe-1-refresh',
      tokenExpiresAt: new Date(Date.now() + 60_000),
    });
    await sealed.saveInstallation({ platform: 'slack', teamId: 'T0ROTOFF', botToken: TOKEN });
    const record = await sealed.findInstallation('slack', { teamId: 'T0ROTOFF' });
    expect(record?.botToken).toBe(TOKEN);
    expect(record?.refreshToken).toBeUndefined();
    expect(record?.tokenExpiresAt).toBeUndefined();
  });

  it('refuses a key too short to be a key, before connecting', async () => {
    await expect(openStore({ uri, retries: 0, secretKey: 'short' })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      userMessage: expect.stringContaining('openssl rand -base64 32'),
    });
  });
});
