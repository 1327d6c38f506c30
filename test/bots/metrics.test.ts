import type { Server } from 'node:http';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createHttpApp,
  createMetrics,
  createPipeline,
  listen,
  recordDigestFired,
  recordModelUsage,
} from '../../src/bots/index.js';
import { createLogger, loadConfig, withLogContext } from '../../src/core/index.js';
import type { Store } from '../../src/store/index.js';
import { signedSlackMention } from '../support/ingress.js';
import { dropTestStore, openTestStore } from '../support/store.js';

const SECRET = 'metrics-test-secret';
let store: Store;
let server: Server;
let base: string;
const metrics = createMetrics();
const lines: string[] = [];

beforeAll(async () => {
  store = await openTestStore();
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const logger = createLogger({ level: 'info', pretty: false, destination: sink });
  const config = loadConfig({ SLACK_SIGNING_SECRET: SECRET, PORT: '0' });
  const { app } = createHttpApp({ config, store, pipeline: createPipeline(store), logger, metrics });
  server = await listen(app, 0, '127.0.0.1');
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
afterAll(async () => {
  server?.close();
  await dropTestStore(store);
});

function slackEvent(eventId: string, secret = SECRET): Promise<Response> {
  return fetch(`${base}/slack/events`, signedSlackMention(eventId, secret, 'TMET'));
}

describe('metrics on /metrics', () => {
  it('counts events received, deduplicated and rejected, and times the ack', async () => {
    expect((await slackEvent('EvMet1')).status).toBe(200);
    expect((await slackEvent('EvMet1')).status).toBe(200); // Slack's retry
    expect((await slackEvent('EvMet2', 'wrong-secret')).status).toBe(401);
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toContain('deckhand_events_total{platform="slack",outcome="received"} 2');
    expect(text).toContain('deckhand_events_total{platform="slack",outcome="deduplicated"} 1');
    expect(text).toContain('deckhand_events_total{platform="slack",outcome="rejected"} 1');
    expect(text).toMatch(/deckhand_ingress_ack_seconds_count\{route="\/slack\/events"\} 2/);
  });

  it('exposes model tokens and cost, and digests fired, recorded by other parts', async () => {
    recordModelUsage(
      {
        provider: 'anthropic',
        model: 'claude-sonnet-4-5',
        workspaceId: 'slack:TMET',
        tokensIn: 1200,
        tokensOut: 300,
        costUsd: 0.0081,
      },
      metrics,
    );
    recordDigestFired('posted', metrics);
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toContain(
      'deckhand_model_tokens_total{provider="anthropic",model="claude-sonnet-4-5",direction="in"} 1200',
    );
    expect(text).toContain(
      'deckhand_model_cost_usd_total{provider="anthropic",model="claude-sonnet-4-5",workspace="slack:TMET"} 0.0081',
    );
    expect(text).toContain('deckhand_digests_fired_total{outcome="posted"} 1');
  });

  it('answers with the request id it logs under (X-Request-Id), and adds the task id to log lines inside a task', async () => {
    lines.length = 0;
    const res = await slackEvent('EvMet3', 'wrong-secret');
    const requestId = res.headers.get('x-request-id');
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    const logger = createLogger({
      level: 'info',
      pretty: false,
      destination: new Writable({
        write(chunk, _e, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    });
    await withLogContext({ taskId: 'task-123' }, async () => {
      await Promise.resolve();
      logger.info('inside a task');
    });
    expect(
      lines.map((l) => JSON.parse(l) as { taskId?: string }).find((l) => l.taskId === 'task-123'),
    ).toBeTruthy();
  });
});
