/**
 * The one HTTP port: Bolt's ExpressReceiver app carrying Slack events, GitHub webhooks, Discord
 * interactions, health, readiness and metrics. Every platform route verifies the signature over the
 * raw body before anything else, records the task durably, then acks; it never waits for a model.
 */
import type { Server } from 'node:http';
import { ExpressReceiver } from '@slack/bolt';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Config, Logger } from '../core/index.js';
import { parseGitHubWebhook, verifyGitHubSignature } from '../github/index.js';
import type { Store } from '../store/index.js';
import { parseDiscordInteraction } from './discord/parse.js';
import { verifyDiscordSignature } from './discord/verify.js';
import type { ParseOutcome } from './events.js';
import { ingressErrorResponse, MAX_BODY_BYTES, parseJson } from './http.js';
import { createMetrics, type Metrics } from './metrics.js';
import type { Pipeline } from './pipeline.js';
import { parseSlackRequest } from './slack/parse.js';
import { verifySlackSignature } from './slack/verify.js';

export interface ServerDeps {
  config: Config;
  store: Store;
  pipeline: Pipeline;
  logger: Logger;
  /** Readiness of Redis, when one is configured. */
  redisPing?: () => Promise<unknown>;
}

type Headers = Record<string, string | undefined>;
type Route = (rawBody: Buffer, headers: Headers) => ParseOutcome;

function headersOf(req: Request): Headers {
  const out: Headers = {};
  for (const [key, value] of Object.entries(req.headers))
    out[key] = Array.isArray(value) ? value.join(',') : value;
  return out;
}

export function createHttpApp(deps: ServerDeps) {
  const { config, pipeline, logger: log } = deps;
  const secrets = config.secrets;
  const metrics: Metrics = createMetrics();
  const app = express();
  app.disable('x-powered-by');
  // Bolt listens on its own endpoint for the Bolt App (interactive features); our routes come first.
  const receiver = new ExpressReceiver({
    signingSecret: secrets.SLACK_SIGNING_SECRET ?? 'not-configured',
    endpoints: '/slack/bolt',
    app,
  });
  const raw = express.raw({ type: () => true, limit: MAX_BODY_BYTES });

  const routes: Record<string, Route> = {
    '/slack/events': (rawBody, headers) => {
      verifySlackSignature({
        signingSecret: secrets.SLACK_SIGNING_SECRET ?? '',
        rawBody,
        timestamp: headers['x-slack-request-timestamp'],
        signature: headers['x-slack-signature'],
      });
      return parseSlackRequest({ rawBody, contentType: headers['content-type'] ?? '', headers });
    },
    '/github/webhooks': (rawBody, headers) => {
      verifyGitHubSignature({
        secret: secrets.GITHUB_WEBHOOK_SECRET ?? '',
        rawBody,
        signature256: headers['x-hub-signature-256'],
      });
      // parseGitHubWebhook answers 400 for missing X-GitHub-Event / X-GitHub-Delivery headers.
      return parseGitHubWebhook({
        name: headers['x-github-event'] ?? '',
        deliveryId: headers['x-github-delivery'] ?? '',
        payload: parseJson(rawBody.toString('utf8'), 'The webhook body'),
      });
    },
    '/discord/interactions': (rawBody, headers) => {
      verifyDiscordSignature({
        publicKeyHex: secrets.DISCORD_PUBLIC_KEY ?? '',
        rawBody,
        signature: headers['x-signature-ed25519'],
        timestamp: headers['x-signature-timestamp'],
      });
      return parseDiscordInteraction(rawBody);
    },
  };

  /** What each platform expects as the ack once the task is durable. */
  function ack(path: string, taskId: string, duplicate: boolean, res: Response, contentType: string): void {
    if (path === '/discord/interactions') {
      res.status(200).json({ type: 5 }); // DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE: the follow-up comes from the worker
    } else if (path === '/slack/events' && contentType.includes('form-urlencoded')) {
      res.status(200).json({ response_type: 'ephemeral', text: duplicate ? 'Already on it.' : 'On it…' });
    } else if (path === '/github/webhooks') {
      res.status(202).json({ task: taskId, duplicate });
    } else {
      res.status(200).end();
    }
  }

  for (const [path, route] of Object.entries(routes)) {
    app.post(path, raw, async (req: Request, res: Response, next: NextFunction) => {
      const stop = metrics.ackSeconds.startTimer({ route: path });
      try {
        const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const headers = headersOf(req);
        const outcome = route(rawBody, headers);
        if (outcome.kind === 'respond') {
          res.status(outcome.status).json(outcome.body);
        } else if (outcome.kind === 'ignore') {
          res.status(path === '/github/webhooks' ? 202 : 200).json({ ignored: outcome.reason });
        } else {
          const { taskId, duplicate } = await pipeline.ingest(outcome.event);
          if (duplicate) metrics.duplicates.inc({ platform: outcome.event.platform });
          ack(path, taskId, duplicate, res, headers['content-type'] ?? '');
        }
        metrics.requests.inc({ route: path, status: String(res.statusCode) });
        stop();
      } catch (error) {
        next(error);
      }
    });
  }

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  app.get('/readyz', async (_req, res) => {
    const checks: Record<string, string> = {};
    try {
      await deps.store.ping();
      checks.store = 'ok';
    } catch (error) {
      checks.store = `unreachable: ${(error as Error).message}`;
    }
    if (deps.redisPing) {
      try {
        await deps.redisPing();
        checks.redis = 'ok';
      } catch (error) {
        checks.redis = `unreachable: ${(error as Error).message}`;
      }
    }
    const ok = Object.values(checks).every((v) => v === 'ok');
    res.status(ok ? 200 : 503).json({ ok, checks });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  // Errors from body parsing (413), verification (401/503), parsing (400); anything else is a 500
  // whose detail stays in the log. A refused request has created nothing by this point.
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const typed = error as { type?: string; status?: number };
    let answer = ingressErrorResponse(error);
    if (typed.type === 'entity.too.large' || typed.status === 413) {
      answer = {
        status: 413,
        body: {
          error: 'PAYLOAD_TOO_LARGE',
          message: `Request bodies are limited to ${MAX_BODY_BYTES} bytes.`,
        },
      };
    } else if (answer.status === 500) {
      log.error({ err: error, path: req.path }, 'request failed');
    }
    metrics.requests.inc({ route: req.path, status: String(answer.status) });
    res.status(answer.status).json(answer.body);
  });

  return { app, receiver, metrics };
}

export async function listen(app: express.Express, port: number, host = '0.0.0.0'): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (error?: Error) => (error ? reject(error) : resolve(server)));
    server.keepAliveTimeout = 65_000;
  });
}
