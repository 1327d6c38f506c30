/**
 * /admin: tasks, runs, schedules and spend per workspace for operators, behind DECKHAND_ADMIN_TOKEN.
 * Unset token: 503 naming the variable (the page is off, not open). Wrong token: 401; five wrong
 * tokens a minute from one address: 429 with Retry-After (throttle.ts). Browser sign-ins are
 * server-side sessions with an expiry (auth.ts, stored by the store's admin-sessions repo).
 * GET /admin is the page; GET /admin/api/summary the same data as JSON; GET /admin/audit the audit
 * trail with filters (audit.ts); /admin/jobs/ is agendash (Agenda's own dashboard) when the process
 * was given one, behind the same token.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { Logger } from '../../core/index.js';
import { type AuditStore, auditHandler } from './audit.js';
import { DEFAULT_SESSION_MS, type SessionStore } from './auth.js';
import { type AdminStore, loadAdminView } from './data.js';
import { mountAdminGate } from './gate.js';
import { renderDashboard, renderNotConfigured } from './page.js';
import type { SignInThrottleOptions } from './throttle.js';

export type { AdminView } from './data.js';
export { loadAdminView } from './data.js';

export interface AdminOptions {
  store: AdminStore & SessionStore & AuditStore;
  /** DECKHAND_ADMIN_TOKEN; undefined turns the page off (503). */
  token: string | undefined;
  logger: Logger;
  /** agendash for the scheduler's jobs, served at /admin/jobs/ after the token check. */
  jobsDashboard?: Router;
  /** How long a browser sign-in lasts (default 12 h). */
  sessionMs?: number;
  /** Wrong tokens allowed per client address and window (default 5 a minute). */
  throttle?: SignInThrottleOptions;
  /** The clock sessions are opened and checked against (tests). */
  now?: () => Date;
}

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

export function createAdminRouter(options: AdminOptions): Router {
  const { store, token, logger: log } = options;
  const now = options.now ?? (() => new Date());
  const router = express.Router();
  router.use((_req: Request, res: Response, next: NextFunction) => {
    res.set(SECURITY_HEADERS);
    next();
  });
  if (!token) {
    router.use((_req: Request, res: Response) => {
      res.status(503).type('html').send(renderNotConfigured());
    });
    return router;
  }

  // Sign-in, sign-out, and the token or session check in front of everything below.
  mountAdminGate(router, {
    store,
    token,
    logger: log,
    sessionMs: options.sessionMs ?? DEFAULT_SESSION_MS,
    throttle: options.throttle,
    now,
  });

  async function view(
    req: Request,
    res: Response,
    send: (v: Awaited<ReturnType<typeof loadAdminView>>) => void,
  ) {
    const days = z.coerce
      .number()
      .int()
      .min(1)
      .max(90)
      .catch(14)
      .parse(req.query.days ?? 14);
    try {
      send(await loadAdminView(store, { windowDays: days }));
    } catch (error) {
      log.warn({ err: error }, 'admin page could not read the store');
      res.status(503).type('text').send('The store is unreachable right now; try again shortly.');
    }
  }

  if (options.jobsDashboard) {
    const dashboard = options.jobsDashboard;
    // agendash sets its own CSP (its page needs scripts), replacing the strict one set above.
    router.use('/jobs', dashboard);
  }
  router.get('/', (req, res) =>
    view(req, res, (v) =>
      res.type('html').send(renderDashboard(v, { jobs: Boolean(options.jobsDashboard) })),
    ),
  );
  router.get('/audit', auditHandler(store, log, now));
  router.get('/api/summary', (req, res) => view(req, res, (v) => res.json(v)));
  return router;
}
