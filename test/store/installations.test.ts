/**
 * Slack bot tokens from OAuth installs are encrypted at rest when DECKHAND_SECRET_KEY is set: what
 * the database holds (and a dump or backup of it) is not a working token, while Deckhand reads it
 * back as it was given.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/index.js';
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

async function storedToken(teamId: string): Promise<string | undefined> {
  const doc = await sealed.models.Installation.findById(`slack:${teamId}`).lean();
  return doc?.botToken;
}

describe('Slack installations at rest', () => {
  it('stores the bot token encrypted and reads it back as given', async () => {
    await sealed.saveInstallation({ platform: 'slack', teamId: 'T0SEALED', botToken: TOKEN });
    const stored = await storedToken('T0SEALED');
    expect(stored).toMatch(/^enc:v1:/);
    expect(stored).not.toContain('xoxb');
    expect((await sealed.findInstallation('slack', { teamId: 'T0SEALED' }))?.botToken).toBe(TOKEN);
  });

  it('still reads a token stored in plain text before the key was set, and seals it on the next write', async () => {
    const plain = await openStore({ uri, retries: 1, ensureIndexes: false });
    try {
      await plain.saveInstallation({ platform: 'slack', teamId: 'T0OLD', botToken: TOKEN });
    } finally {
      await plain.close();
    }
    expect(await storedToken('T0OLD')).toBe(TOKEN);
    expect((await sealed.findInstallation('slack', { teamId: 'T0OLD' }))?.botToken).toBe(TOKEN);
    await sealed.saveInstallation({ platform: 'slack', teamId: 'T0OLD', botToken: TOKEN });
    expect(await storedToken('T0OLD')).toMatch(/^enc:v1:/);
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

  it('refuses a key too short to be a key, before connecting', async () => {
    await expect(openStore({ uri, retries: 0, secretKey: 'short' })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      userMessage: expect.stringContaining('openssl rand -base64 32'),
    });
  });
});
