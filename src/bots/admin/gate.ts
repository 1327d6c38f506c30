/**
 * The door of /admin: sign-in (the form posts DECKHAND_ADMIN_TOKEN and gets a stored session),
 * sign-out (the session is deleted), and the check in front of every other /admin route (Bearer
 * token or live session). Wrong tokens are throttled per client address (throttle.ts).
 * Every sign-in and every wrong token goes into the audit trail as `admin.sign_in` (actor `admin`,
 * the session's short form as target, never the token); throttled tries only reach the log, so a
 * flood of them cannot fill the trail.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { Logger } from '../../core/index.js';
import {
  bearerOf,
  clearedCookie,
  cookieOf,
  type SessionStore,
  sameSecret,
  sessionCookie,
  sessionShortId,
  tokenTag,
  validSession,
} from './auth.js';
import { renderLogin } from './page.js';
import { createSignInThrottle, type SignInThrottle, type SignInThrottleOptions } from './throttle.js';

export interface AdminGateOptions {
  store: SessionStore;
  /** DECKHAND_ADMIN_TOKEN (the router answers 503 before the gate when it is unset). */
  token: string;
  logger: Logger;
  sessionMs: number;
  throttle?: SignInThrottleOptions | undefined;
  now: () => Date;
}

/** What a request presents: nothing, a valid credential, a wrong token, a dead session, or too many tries. */
type Presented = 'none' | 'valid' | 'invalid' | 'ended' | { retryInSeconds: number };

const loginSchema = z.object({ token: z.string().min(1).max(4096) });

function isSecure(req: Request): boolean {
  return req.secure || req.get('x-forwarded-proto') === 'https';
}

function clientOf(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

/** Checks a presented token against the throttle: too many wrong ones and even the right one waits. */
async function checkToken(
  throttle: SignInThrottle,
  client: string,
  given: string,
  token: string,
): Promise<Presented> {
  const blocked = await throttle.blockedFor(client);
  if (blocked !== undefined) return { retryInSeconds: blocked };
  if (given && sameSecret(given, token)) {
    await throttle.succeeded(client);
    return 'valid';
  }
  await throttle.failed(client);
  return 'invalid';
}

function refuse(req: Request, res: Response, presented: Exclude<Presented, 'valid'>): void {
  const api = req.path.startsWith('/api/');
  if (typeof presented === 'object') {
    const message = `Too many wrong tokens from your address; try again in ${presented.retryInSeconds} s.`;
    res.status(429).set('retry-after', String(presented.retryInSeconds));
    if (api) res.json({ error: 'RATE_LIMITED', message });
    else res.type('html').send(renderLogin(message));
    return;
  }
  if (presented === 'ended') res.set('set-cookie', clearedCookie());
  res.set('www-authenticate', 'Bearer realm="deckhand-admin"').status(401);
  if (api) {
    res.json({ error: 'UNAUTHORIZED', message: 'Send Authorization: Bearer <DECKHAND_ADMIN_TOKEN>.' });
    return;
  }
  const notice =
    presented === 'invalid'
      ? 'That token is not right.'
      : presented === 'ended'
        ? 'Your session has ended; sign in again.'
        : undefined;
  res.type('html').send(renderLogin(notice));
}

/** Best effort: a sign-in is answered the same whether or not its audit entry could be written. */
async function auditSignIn(
  store: SessionStore,
  log: Logger,
  entry: { outcome: 'succeeded' | 'failed'; target?: string; detail: Record<string, unknown> },
): Promise<void> {
  try {
    await store.recordAudit({ actor: 'admin', action: 'admin.sign_in', ...entry });
  } catch (error) {
    log.warn({ err: error, outcome: entry.outcome }, 'admin sign-in could not be written to the audit trail');
  }
}

function storeUnavailable(res: Response): void {
  res.status(503).type('text').send('The store is unreachable right now; try again shortly.');
}

/** Adds /login and /logout to the router, then the check every later route is behind. */
export function mountAdminGate(router: Router, options: AdminGateOptions): void {
  const { store, token, logger: log, sessionMs, now } = options;
  const throttle = createSignInThrottle(options.throttle);

  /** Bearer first (scripts), then the session cookie (browsers). */
  async function presented(req: Request): Promise<Presented> {
    const bearer = bearerOf(req);
    if (bearer !== undefined) return checkToken(throttle, clientOf(req), bearer, token);
    const session = cookieOf(req);
    if (!session) return 'none';
    return (await validSession(store, session, token, now())) ? 'valid' : 'ended';
  }

  router.post(
    '/login',
    express.urlencoded({ extended: false, limit: '8kb' }),
    async (req: Request, res: Response) => {
      const given = loginSchema.safeParse(req.body).data?.token ?? '';
      const outcome = await checkToken(throttle, clientOf(req), given, token);
      if (outcome !== 'valid') {
        log.warn({ ip: req.ip, throttled: outcome !== 'invalid' }, 'admin sign-in refused');
        if (outcome === 'invalid')
          await auditSignIn(store, log, {
            outcome: 'failed',
            detail: { via: 'form', client: clientOf(req) },
          });
        refuse(req, res, outcome);
        return;
      }
      try {
        // The TTL index's job where there is none (FerretDB); admin sessions are few.
        await store.purgeAdminSessions(now());
        const session = await store.openAdminSession({
          tokenTag: tokenTag(token),
          lifetimeMs: sessionMs,
          now: now(),
        });
        log.info({ ip: req.ip, expiresAt: session.expiresAt }, 'admin signed in');
        await auditSignIn(store, log, {
          outcome: 'succeeded',
          target: `session:${sessionShortId(session.id)}`,
          detail: { via: 'form', client: clientOf(req), expiresAt: session.expiresAt.toISOString() },
        });
        res
          .set('set-cookie', sessionCookie(session.id, sessionMs / 1000, isSecure(req)))
          .redirect(303, '/admin');
      } catch (error) {
        log.warn({ err: error }, 'admin sign-in could not store the session');
        storeUnavailable(res);
      }
    },
  );

  router.post('/logout', async (req: Request, res: Response) => {
    const session = cookieOf(req);
    try {
      if (session) await store.closeAdminSession(session);
    } catch (error) {
      log.warn({ err: error }, 'admin sign-out could not delete the session');
      storeUnavailable(res);
      return;
    }
    res.set('set-cookie', clearedCookie()).redirect(303, '/admin');
  });

  router.use(async (req: Request, res: Response, next: NextFunction) => {
    let outcome: Presented;
    try {
      outcome = await presented(req);
    } catch (error) {
      log.warn({ err: error }, 'admin request could not check the session');
      storeUnavailable(res);
      return;
    }
    if (outcome === 'valid') {
      next();
      return;
    }
    if (outcome === 'invalid') {
      // Only a Bearer header can be a wrong token here (a cookie is a live or an ended session).
      log.warn({ ip: req.ip, path: req.path }, 'admin request with a wrong token');
      await auditSignIn(store, log, { outcome: 'failed', detail: { via: 'bearer', client: clientOf(req) } });
    }
    refuse(req, res, outcome);
  });
}
