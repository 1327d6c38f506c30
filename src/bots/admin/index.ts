/**
 * /admin: tasks, runs, schedules and spend per workspace for operators, behind DECKHAND_ADMIN_TOKEN.
 * Unset token: 503 naming the variable (the page is off, not open). Wrong token: 401.
 * GET /admin is the page; GET /admin/api/summary the same data as JSON; /admin/jobs/ is agendash
 * (Agenda's own dashboard) when the process was given one, behind the same token.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { Logger } from '../../core/index.js';
import { clearedCookie, credentialOf, sameSecret, sessionCookie } from './auth.js';
import { type AdminStore, loadAdminView } from './data.js';
import { renderDashboard, renderLogin, renderNotConfigured } from './page.js';

export type { AdminView } from './data.js';
export { loadAdminView } from './data.js';

export interface AdminOptions {
  store: AdminStore;
  /** DECKHAND_ADMIN_TOKEN; undefined turns the page off (503). */
  token: string | undefined;
  logger: Logger;
  /** agendash for the scheduler's jobs, served at /admin/jobs/ after the token check. */
  jobsDashboard?: Router;
}

const loginSchema = z.object({ token: z.string().min(1).max(4096) });

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

function isSecure(req: Request): boolean {
  return req.secure || req.get('x-forwarded-proto') === 'https';
}

export function createAdminRouter(options: AdminOptions): Router {
  const { store, token, logger: log } = options;
  const router = express.Router();

  router.use((_req: Request, res: Response, next: NextFunction) => {
    res.set(SECURITY_HEADERS);
    if (!token) {
      res.status(503).type('html').send(renderNotConfigured());
      return;
    }
    next();
  });

  router.post(
    '/login',
    express.urlencoded({ extended: false, limit: '8kb' }),
    (req: Request, res: Response) => {
      const parsed = loginSchema.safeParse(req.body);
      if (!token || !parsed.success || !sameSecret(parsed.data.token, token)) {
        log.warn({ ip: req.ip }, 'admin sign-in refused: wrong token');
        res.status(401).type('html').send(renderLogin('That token is not right.'));
        return;
      }
      log.info({ ip: req.ip }, 'admin signed in');
      res.set('set-cookie', sessionCookie(token, isSecure(req))).redirect(303, '/admin');
    },
  );

  router.post('/logout', (_req: Request, res: Response) => {
    res.set('set-cookie', clearedCookie()).redirect(303, '/admin');
  });

  router.use((req: Request, res: Response, next: NextFunction) => {
    const credential = credentialOf(req, token ?? '');
    if (credential === 'valid') {
      next();
      return;
    }
    if (credential === 'invalid')
      log.warn({ ip: req.ip, path: req.path }, 'admin request with a wrong token');
    res.set('www-authenticate', 'Bearer realm="deckhand-admin"');
    if (req.path.startsWith('/api/')) {
      res
        .status(401)
        .json({ error: 'UNAUTHORIZED', message: 'Send Authorization: Bearer <DECKHAND_ADMIN_TOKEN>.' });
    } else {
      res
        .status(401)
        .type('html')
        .send(renderLogin(credential === 'invalid' ? 'That token is not right.' : undefined));
    }
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
  router.get('/api/summary', (req, res) => view(req, res, (v) => res.json(v)));
  return router;
}
