/**
 * `deckhand audit`: reads the audit trail (who did what, in which workspace, how it ended), newest
 * first, as a table for people or one JSON object a line (--json) for scripts. Filters by time
 * (--since 24h|7d|ISO), actor, action (exact, or a prefix ending in `.` or `*`) and workspace.
 * Arguments are checked before the store is opened, so a typo answers at once.
 */
import { createLogger, DeckhandError, loadConfig } from '../core/index.js';
import {
  AUDIT_MAX_LIMIT,
  AUDIT_WORKSPACE_PATTERN,
  type AuditEntryDoc,
  type AuditFilter,
  openStore,
} from '../store/index.js';

/** What main.ts parsed from the command line (strings as typed). */
export interface AuditArgs {
  since?: string | undefined;
  actor?: string | undefined;
  action?: string | undefined;
  workspace?: string | undefined;
  limit?: string | undefined;
  json?: boolean | undefined;
}

export interface AuditRow {
  id: string;
  at: string;
  actor: string;
  workspace: string | null;
  action: string;
  target: string;
  outcome: string;
  detail?: unknown;
}

const SINCE_FORMS =
  'a duration like 30m, 24h or 7d, or an ISO date/time like 2026-12-01 or 2026-12-01T09:00:00Z';
const UNIT_MS: Readonly<Record<string, number>> = { m: 60_000, h: 3_600_000, d: 86_400_000 };
const ISO = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

function badArgument(message: string): DeckhandError {
  return new DeckhandError('BAD_REQUEST', message);
}

/** `24h` / `7d` / `30m` before `now`, or an ISO date/time; anything else is a one-line error. */
export function parseSince(value: string, now: Date = new Date()): Date {
  const relative = /^(\d{1,6})([mhd])$/.exec(value.trim());
  if (relative) return new Date(now.getTime() - Number(relative[1]) * (UNIT_MS[relative[2] ?? 'h'] ?? 0));
  const at = ISO.test(value.trim()) ? new Date(value.trim()) : undefined;
  if (at && !Number.isNaN(at.getTime())) return at;
  throw badArgument(`--since ${JSON.stringify(value)} is not understood: give ${SINCE_FORMS}.`);
}

/** The store filter for the arguments, or a one-line error naming what is wrong. */
export function auditFilterOf(args: AuditArgs, now: Date = new Date()): AuditFilter {
  const filter: AuditFilter = {};
  if (args.since !== undefined) filter.since = parseSince(args.since, now);
  if (args.actor !== undefined) filter.actor = args.actor;
  if (args.action !== undefined) filter.action = args.action;
  if (args.workspace !== undefined) {
    if (!AUDIT_WORKSPACE_PATTERN.test(args.workspace))
      throw badArgument(
        `--workspace ${JSON.stringify(args.workspace)} is not understood: give <platform>:<workspaceId>, e.g. slack:T1 or github:12345.`,
      );
    filter.workspace = args.workspace;
  }
  if (args.limit !== undefined) {
    const limit = Number(args.limit);
    if (!/^\d+$/.test(args.limit) || limit < 1 || limit > AUDIT_MAX_LIMIT)
      throw badArgument(
        `--limit ${JSON.stringify(args.limit)} is not understood: give a whole number from 1 to ${AUDIT_MAX_LIMIT}.`,
      );
    filter.limit = limit;
  }
  return filter;
}

export function auditRow(entry: AuditEntryDoc & { id: string }): AuditRow {
  const row: AuditRow = {
    id: entry.id,
    at: new Date(entry.at).toISOString(),
    actor: entry.actor,
    workspace: entry.workspace ?? null,
    action: entry.action,
    target: entry.target ?? '',
    outcome: entry.outcome,
  };
  if (entry.detail !== undefined) row.detail = entry.detail;
  return row;
}

/** Control characters (a target may be text from chat) would move the terminal's cursor: shown as `?`. */
function printable(value: string, max: number): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: replacing them is the point.
  const clean = value.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

const COLUMNS = [
  { title: 'TIME', max: 20, of: (r: AuditRow) => `${r.at.slice(0, 19).replace('T', ' ')}Z` },
  { title: 'ACTOR', max: 32, of: (r: AuditRow) => r.actor },
  { title: 'WORKSPACE', max: 32, of: (r: AuditRow) => r.workspace ?? '-' },
  { title: 'ACTION', max: 40, of: (r: AuditRow) => r.action },
  { title: 'TARGET', max: 48, of: (r: AuditRow) => r.target || '-' },
  { title: 'OUTCOME', max: 9, of: (r: AuditRow) => r.outcome },
] as const;

export function formatAuditTable(rows: AuditRow[]): string {
  if (rows.length === 0) return 'No audit entries match.\n';
  const cells = rows.map((row) => COLUMNS.map((column) => printable(column.of(row), column.max)));
  const widths = COLUMNS.map((column, i) =>
    Math.max(column.title.length, ...cells.map((line) => line[i]?.length ?? 0)),
  );
  const line = (values: readonly string[]) =>
    values.map((value, i) => (i === values.length - 1 ? value : value.padEnd(widths[i] ?? 0))).join('  ');
  return `${[line(COLUMNS.map((c) => c.title)), ...cells.map(line)].join('\n')}\n`;
}

export function formatAuditJson(rows: AuditRow[]): string {
  return rows.map((row) => `${JSON.stringify(row)}\n`).join('');
}

export async function auditCommand(args: AuditArgs): Promise<number> {
  const filter = auditFilterOf(args);
  const config = loadConfig();
  const log = createLogger({ level: 'warn', pretty: false });
  // runtime.js brings the whole app (agents, bots, Docker): loaded only to start the embedded store.
  const uri = config.store.uri || (await (await import('./runtime.js')).resolveStoreUri(config, log));
  const store = await openStore({
    uri,
    retries: config.store.connectRetries,
    ensureIndexes: false,
  });
  try {
    const rows = (await store.listAudit(filter)).map(auditRow);
    process.stdout.write(args.json ? formatAuditJson(rows) : formatAuditTable(rows));
    return 0;
  } finally {
    await store.close();
  }
}
