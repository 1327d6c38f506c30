/**
 * GET /admin/audit: the audit trail (who did what, in which workspace, how it ended) as a table for
 * operators, newest first, with the filters of `deckhand audit` as a plain GET form (actor, action
 * prefix, workspace, since 1h/24h/7d). The query is checked with zod; a bad value is answered with
 * a 400 page that says what is wrong, never a 500. Every value from the store is escaped: targets
 * can hold chat text. The route sits behind the same gate as the rest of /admin (index.ts).
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import type { Logger } from '../../core/index.js';
import {
  AUDIT_WORKSPACE_PATTERN,
  type AuditEntryDoc,
  type AuditFilter,
  type Store,
} from '../../store/index.js';
import { escapeHtml, pageShell } from './html.js';

export type AuditStore = Pick<Store, 'listAudit'>;

/** How many entries the page shows at most. */
export const AUDIT_PAGE_LIMIT = 200;

const SINCE_MS = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000 } as const;
type Since = keyof typeof SINCE_MS;

/** An absent or empty field means "no filter"; a repeated one (an array) is refused. */
const optionalText = (field: string, max: number) =>
  z
    .string({ error: `${field} must be given once, as text.` })
    .trim()
    .max(max, { error: `${field} is longer than ${max} characters.` })
    .optional()
    .transform((value) => (value ? value : undefined));

const auditQuerySchema = z.object({
  actor: optionalText('Actor', 200),
  action: optionalText('Action', 200).refine((value) => value === undefined || /^[\w.:*-]+$/.test(value), {
    error:
      'Action may hold letters, digits and . _ : - only, optionally ending in . or * for a prefix (e.g. code.).',
  }),
  workspace: optionalText('Workspace', 200).refine(
    (value) => value === undefined || AUDIT_WORKSPACE_PATTERN.test(value),
    { error: 'Workspace must look like <platform>:<workspaceId>, e.g. slack:T1.' },
  ),
  since: optionalText('Since', 10).refine((value) => value === undefined || value in SINCE_MS, {
    error: 'Since must be 1h, 24h or 7d (or empty for any time).',
  }),
});

/** The filters as typed into the form, echoed back into it. */
export interface AuditFormValues {
  actor?: string | undefined;
  action?: string | undefined;
  workspace?: string | undefined;
  since?: string | undefined;
}

export type AuditEntryRow = AuditEntryDoc & { id: string };

/** The query string as a store filter, or the readable reasons it is not one. */
export function parseAuditQuery(
  query: unknown,
  now: Date,
):
  | { ok: true; values: AuditFormValues; filter: AuditFilter }
  | { ok: false; values: AuditFormValues; errors: string[] } {
  const parsed = auditQuerySchema.safeParse(query ?? {});
  if (!parsed.success) {
    return { ok: false, values: echo(query), errors: parsed.error.issues.map((issue) => issue.message) };
  }
  const { actor, action, workspace, since } = parsed.data;
  const filter: AuditFilter = { actor, action, workspace, limit: AUDIT_PAGE_LIMIT };
  if (since) filter.since = new Date(now.getTime() - SINCE_MS[since as Since]);
  return { ok: true, values: parsed.data, filter };
}

/** The raw fields worth showing back in the form (strings only, cut short). */
function echo(query: unknown): AuditFormValues {
  const record = typeof query === 'object' && query !== null ? (query as Record<string, unknown>) : {};
  const pick = (key: string) => {
    const value = record[key];
    return typeof value === 'string' ? value.slice(0, 200) : undefined;
  };
  return { actor: pick('actor'), action: pick('action'), workspace: pick('workspace'), since: pick('since') };
}

function when(date: Date | string): string {
  const d = new Date(date);
  if (Number.isNaN(d.getTime())) return '<span class="muted">–</span>';
  return `<time datetime="${d.toISOString()}">${d.toISOString().slice(0, 19).replace('T', ' ')}</time>`;
}

function field(name: string, label: string, value: string | undefined, placeholder: string): string {
  return `<label>${escapeHtml(label)} <input name="${name}" id="audit-${name}" value="${escapeHtml(value ?? '')}" placeholder="${escapeHtml(placeholder)}" maxlength="200"></label>`;
}

function filterForm(values: AuditFormValues): string {
  const options = [
    ['', 'any time'],
    ['1h', 'last hour'],
    ['24h', 'last 24 hours'],
    ['7d', 'last 7 days'],
  ]
    .map(
      ([value, label]) =>
        `<option value="${value}"${(values.since ?? '') === value ? ' selected' : ''}>${label}</option>`,
    )
    .join('');
  return `<form class="filters" id="audit-filters" method="get" action="/admin/audit">
${field('actor', 'Actor', values.actor, 'slack:U123')}
${field('action', 'Action', values.action, 'code. (prefix) or code.push')}
${field('workspace', 'Workspace', values.workspace, 'slack:T1')}
<label>Since <select name="since" id="audit-since">${options}</select></label>
<button type="submit">Filter</button> <a href="/admin/audit">Clear</a>
</form>`;
}

function entriesTable(entries: AuditEntryRow[]): string {
  if (entries.length === 0)
    return '<p class="muted" id="audit-empty">No audit entries match these filters.</p>';
  const head = ['Time (UTC)', 'Actor', 'Workspace', 'Action', 'Target', 'Outcome']
    .map((h) => `<th>${h}</th>`)
    .join('');
  const rows = entries
    .map(
      (e) =>
        `<tr data-audit-id="${escapeHtml(e.id)}"><td>${when(e.at)}</td><td>${escapeHtml(e.actor)}</td><td>${e.workspace ? escapeHtml(e.workspace) : '<span class="muted">–</span>'}</td><td><code>${escapeHtml(e.action)}</code></td><td class="target">${escapeHtml(e.target)}</td><td><span class="badge s-${escapeHtml(e.outcome)}">${escapeHtml(e.outcome)}</span></td></tr>`,
    )
    .join('');
  return `<table id="audit-table"><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table>`;
}

export function renderAuditPage(
  values: AuditFormValues,
  result: { entries: AuditEntryRow[] } | { errors: string[] },
): string {
  const content =
    'errors' in result
      ? `<div class="err" role="alert" id="audit-errors"><p>These filters cannot be used:</p><ul>${result.errors.map((m) => `<li>${escapeHtml(m)}</li>`).join('')}</ul></div>`
      : `<p class="muted">${result.entries.length === AUDIT_PAGE_LIMIT ? `The latest ${AUDIT_PAGE_LIMIT} entries; narrow the filters to see older ones.` : `${result.entries.length} entries, newest first.`}</p>${entriesTable(result.entries)}`;
  const body = `
<header><h1>Deckhand admin: audit trail</h1>
<form method="post" action="/admin/logout"><a href="/admin">Dashboard</a> <button type="submit">Sign out</button></form></header>
<main><section id="audit"><h2>Audit trail</h2>
${filterForm(values)}
${content}</section></main>`;
  return pageShell('Deckhand admin: audit trail', body);
}

/** The handler for GET /admin/audit (mounted behind the admin gate). */
export function auditHandler(store: AuditStore, log: Logger, now: () => Date) {
  return async (req: Request, res: Response): Promise<void> => {
    const parsed = parseAuditQuery(req.query, now());
    if (!parsed.ok) {
      res
        .status(400)
        .type('html')
        .send(renderAuditPage(parsed.values, { errors: parsed.errors }));
      return;
    }
    try {
      const entries = await store.listAudit(parsed.filter);
      res.type('html').send(renderAuditPage(parsed.values, { entries }));
    } catch (error) {
      log.warn({ err: error }, 'admin audit page could not read the store');
      res.status(503).type('text').send('The store is unreachable right now; try again shortly.');
    }
  };
}
