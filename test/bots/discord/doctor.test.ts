/** `deckhand doctor` says when the gateway would be refused for the Message Content intent. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDoctor } from '../../../src/cli/doctor.js';
import { loadConfig } from '../../../src/core/index.js';
import { type FakeApi, startFakeApi } from '../../support/platforms/index.js';

let api: FakeApi;
let flags = 0;
const previous = process.env.DISCORD_API_URL;

beforeAll(async () => {
  api = await startFakeApi((call) =>
    call.path === '/api/v10/applications/@me' ? { status: 200, body: { id: '1', flags } } : { status: 404 },
  );
  process.env.DISCORD_API_URL = `${api.url}/api/v10`;
});
afterAll(async () => {
  if (previous === undefined) delete process.env.DISCORD_API_URL;
  else process.env.DISCORD_API_URL = previous;
  await api?.close();
});

const discordEnv = {
  DISCORD_APPLICATION_ID: '1200000000000000000',
  DISCORD_PUBLIC_KEY: 'ab'.repeat(32),
  DISCORD_BOT_TOKEN: 'discord-doctor-token',
};

async function gatewayCheck(env: Record<string, string>) {
  const results = await runDoctor(loadConfig({ ...discordEnv, ...env }));
  return results.find((result) => result.part === 'discord gateway');
}

describe('doctor and the Discord Message Content intent', () => {
  it('reports the intent as broken, with the Developer Portal switch to flip, when it is off', async () => {
    flags = 0;
    const check = await gatewayCheck({});
    expect(check).toMatchObject({ state: 'broken' });
    expect(check?.fix).toMatch(/Privileged Gateway Intents: turn on Message Content Intent/);
    expect(api.calls.at(-1)?.headers.authorization).toBe('Bot discord-doctor-token');
  });

  it('reports ok when the application has the (limited) intent', async () => {
    flags = 1 << 19;
    expect(await gatewayCheck({})).toMatchObject({ state: 'ok', detail: 'Message Content intent enabled' });
  });
});
