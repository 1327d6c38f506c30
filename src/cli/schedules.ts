/**
 * `deckhand schedules [--json]`: every digest schedule with its next run time (in UTC and in its own
 * zone), when it last posted, and the scheduler's periodic jobs as Agenda has them queued.
 */
import { parseArgs } from 'node:util';
import { createLogger, loadConfig } from '../core/index.js';
import { cadenceOf, formatLocal, JOBS_COLLECTION, nextDue } from '../scheduler/index.js';
import { openStore, type ScheduleRecord, type Store } from '../store/index.js';
import { resolveStoreUri } from './runtime.js';

export interface ScheduleRow {
  name: string;
  where: string;
  cron: string;
  timezone: string;
  state: 'active' | 'paused';
  nextRunAt: string | null;
  nextRunLocal: string | null;
  lastPostedDueAt: string | null;
  repos: string[];
}

export interface JobRow {
  name: string;
  nextRunAt: string | null;
  lastRunAt: string | null;
}

export function scheduleRow(schedule: ScheduleRecord, now: Date): ScheduleRow {
  const next = schedule.enabled ? nextDue(cadenceOf(schedule), now) : null;
  return {
    name: schedule.name,
    where: `${schedule.platform}:${schedule.workspaceId}/${schedule.channelId}`,
    cron: schedule.cron,
    timezone: schedule.timezone,
    state: schedule.enabled ? 'active' : 'paused',
    nextRunAt: next?.toISOString() ?? null,
    nextRunLocal: next ? formatLocal(next, schedule.timezone) : null,
    lastPostedDueAt: schedule.lastRunAt ? new Date(schedule.lastRunAt).toISOString() : null,
    repos: schedule.repos,
  };
}

export async function listScheduleRows(
  store: Store,
  now = new Date(),
): Promise<{ schedules: ScheduleRow[]; jobs: JobRow[] }> {
  const schedules = (await store.listSchedules()).map((s) => scheduleRow(s, now));
  const jobs = await store.db
    .collection(JOBS_COLLECTION)
    .find({}, { projection: { name: 1, nextRunAt: 1, lastRunAt: 1 } })
    .sort({ name: 1 })
    .toArray();
  const iso = (value: unknown) => (value instanceof Date ? value.toISOString() : null);
  return {
    schedules,
    jobs: jobs.map((j) => ({
      name: String(j.name),
      nextRunAt: iso(j.nextRunAt),
      lastRunAt: iso(j.lastRunAt),
    })),
  };
}

export function formatScheduleRows(rows: { schedules: ScheduleRow[]; jobs: JobRow[] }): string {
  const lines: string[] = [];
  if (rows.schedules.length === 0)
    lines.push('No digest schedules. Add one in chat: digest add daily 09:00 UTC repos=org/repo');
  for (const s of rows.schedules) {
    const next =
      s.state === 'paused' ? 'paused' : s.nextRunAt ? `next ${s.nextRunAt} (${s.nextRunLocal})` : 'never due';
    lines.push(`${s.name.padEnd(20)} ${s.where}  ${s.cron} ${s.timezone}  ${next}`);
    lines.push(
      `${' '.repeat(20)} repos: ${s.repos.join(', ') || '-'}; last posted: ${s.lastPostedDueAt ?? 'never'}`,
    );
  }
  if (rows.jobs.length) {
    lines.push('', 'Periodic jobs (Agenda):');
    for (const j of rows.jobs)
      lines.push(`${j.name.padEnd(28)} next ${j.nextRunAt ?? '-'}  last ${j.lastRunAt ?? '-'}`);
  }
  return `${lines.join('\n')}\n`;
}

export async function schedulesCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } } });
  const config = loadConfig();
  const log = createLogger({ level: 'warn', pretty: false });
  const store = await openStore({
    uri: await resolveStoreUri(config, log),
    retries: config.store.connectRetries,
    ensureIndexes: false,
  });
  try {
    const rows = await listScheduleRows(store);
    process.stdout.write(values.json ? `${JSON.stringify(rows)}\n` : formatScheduleRows(rows));
    return 0;
  } finally {
    await store.close();
  }
}
