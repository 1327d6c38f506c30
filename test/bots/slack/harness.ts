/**
 * The whole way through for the adapter tests: the real HTTP app on loopback, the real store
 * (FerretDB), the pipeline, a worker running the command router, the real Docker sandbox, and the
 * real reply sinks. slack.com and discord.com are a loopback fake (test/support/platforms/recording.ts).
 */

import { generateKeyPairSync, sign } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Docker from 'dockerode';
import { vi } from 'vitest';
import {
  createEventHandler,
  createHttpApp,
  createPipeline,
  createSinkFactory,
  createWorker,
  listen,
  signSlackRequest,
  type Worker,
} from '../../../src/bots/index.js';
import { type Config, createLogger, loadConfig } from '../../../src/core/index.js';
import type { SandboxRunner } from '../../../src/runners/index.js';
import type { Store } from '../../../src/store/index.js';
import { ensureSandboxImage, testDocker, testRunner } from '../../runners/helpers.js';
import { type ApiReply, type FakeApi, startFakeApi } from '../../support/platforms/index.js';
import { dropTestStore, openTestStore } from '../../support/store.js';

export const SLACK_SECRET = 'slack-signing-secret-e2e';
export const SLACK_BOT_TOKEN = 'xoxb-e2e-0000-secret-token';
export const DISCORD_APP = '1200000000000000000';
const discordKeys = generateKeyPairSync('ed25519');
const discordPublicHex = (discordKeys.publicKey.export({ format: 'der', type: 'spki' }) as Buffer)
  .subarray(12)
  .toString('hex');

export interface Harness {
  store: Store;
  /** The stand-in for https://slack.com/api (paths /api/<method>) and https://discord.com/api/v10. */
  api: FakeApi;
  base: string;
  config: Config;
  close(): Promise<void>;
}

export async function startHarness(reply: ApiReply, env: Record<string, string> = {}): Promise<Harness> {
  ensureSandboxImage();
  const store = await openTestStore();
  const logger = createLogger({ level: (process.env.E2E_LOG as 'warn') ?? 'silent', pretty: false });
  const config = loadConfig({
    SLACK_SIGNING_SECRET: SLACK_SECRET,
    SLACK_BOT_TOKEN,
    DISCORD_PUBLIC_KEY: discordPublicHex,
    DISCORD_APPLICATION_ID: DISCORD_APP,
    DISCORD_BOT_TOKEN: 'discord-bot-token-e2e',
    ...env,
  });
  const pipeline = createPipeline(store);
  const docker: Docker = testDocker();
  const runner: SandboxRunner = testRunner(docker, { warmPool: 0 });
  await runner.start();
  const api = await startFakeApi(reply);
  const sinkFor = createSinkFactory({
    config,
    logger,
    env: { SLACK_API_URL: `${api.url}/api`, DISCORD_API_URL: `${api.url}/api/v10` },
    installations: store,
    threads: store,
  });
  const worker: Worker = createWorker({
    store,
    pipeline,
    logger,
    pollMs: 50,
    handler: createEventHandler({ store, sinkFor, codeRunner: runner }),
  });
  worker.start();
  const server: Server = await listen(createHttpApp({ config, store, pipeline, logger }).app, 0, '127.0.0.1');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    store,
    api,
    base,
    config,
    async close() {
      await api.close();
      await new Promise((resolve) => server.close(resolve));
      await worker.stop(5000);
      await runner.close();
      await dropTestStore(store);
    },
  };
}

/** POSTs a body to /slack/events signed as Slack signs it; `retry` sets X-Slack-Retry-Num. */
export function postSlack(
  base: string,
  body: string,
  options: { retry?: number; contentType?: string } = {},
): Promise<Response> {
  const ts = String(Math.floor(Date.now() / 1000));
  return fetch(`${base}/slack/events`, {
    method: 'POST',
    headers: {
      'content-type': options.contentType ?? 'application/json',
      'x-slack-request-timestamp': ts,
      'x-slack-signature': signSlackRequest(SLACK_SECRET, ts, body),
      ...(options.retry
        ? { 'x-slack-retry-num': String(options.retry), 'x-slack-retry-reason': 'http_timeout' }
        : {}),
    },
    body,
  });
}

/** POSTs an interaction to /discord/interactions signed with the application's key. */
export function postDiscord(base: string, interaction: unknown): Promise<Response> {
  const body = JSON.stringify(interaction);
  const ts = String(Math.floor(Date.now() / 1000));
  const signature = sign(null, Buffer.from(ts + body), discordKeys.privateKey).toString('hex');
  return fetch(`${base}/discord/interactions`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-signature-ed25519': signature,
      'x-signature-timestamp': ts,
    },
    body,
  });
}

/** Resolves once `check` returns true (each try after the last one settled); gives up after `tries`. */
/** Waits (vi.waitFor, 50 ms apart, 20 s at most) until `check` holds. */
export async function until(check: () => Promise<boolean> | boolean): Promise<void> {
  await vi.waitFor(
    async () => {
      if (!(await check())) throw new Error('the condition never held');
    },
    { timeout: 20_000, interval: 50 },
  );
}
