/**
 * The digest runner's arithmetic, apart from its claiming and posting (runner.ts): when a schedule
 * is due, which window of activity a digest covers, and that activity from GitHub.
 */
import type { Octokit } from '@octokit/rest';
import { collectActivity, emptyActivity, type RepoActivity } from '../github/index.js';
import type { ScheduleRecord } from '../store/index.js';
import { type Cadence, latestDue, nextDue, previousDue } from './cron.js';

const GITHUB_NOT_CONFIGURED =
  'GitHub is not configured: set GITHUB_APP_ID and GITHUB_PRIVATE_KEY and install the App on this repository';

export function cadenceOf(schedule: Pick<ScheduleRecord, 'cron' | 'timezone' | 'skipWeekends'>): Cadence {
  return { cron: schedule.cron, timezone: schedule.timezone, skipWeekends: schedule.skipWeekends };
}

export function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** Per schedule: the latest due time <= now and the next one, remembered while still valid. */
export function createDueTimes() {
  const memo = new Map<string, { key: string; latest: Date | null; next: Date | null }>();
  return (schedule: ScheduleRecord, now: Date): { latest: Date | null; next: Date | null } => {
    const key = `${schedule.cron}|${schedule.timezone}|${schedule.skipWeekends ? 1 : 0}`;
    const known = memo.get(schedule.id);
    const stillValid =
      known?.key === key &&
      (!known.latest || known.latest.getTime() <= now.getTime()) &&
      (!known.next || now.getTime() < known.next.getTime());
    if (known && stillValid) return known;
    const cadence = cadenceOf(schedule);
    const latest = latestDue(cadence, now);
    const entry = { key, latest, next: nextDue(cadence, now) };
    memo.set(schedule.id, entry);
    return entry;
  };
}

/** Where this digest's window starts: the last posted due time, else the previous due time. */
export function windowStart(schedule: ScheduleRecord, dueAt: Date): Date {
  const last = schedule.lastRunAt ? new Date(schedule.lastRunAt) : null;
  if (last && last.getTime() < dueAt.getTime()) return last;
  return previousDue(cadenceOf(schedule), dueAt) ?? new Date(dueAt.getTime() - 24 * 3_600_000);
}

/** The repositories' activity in the window; without GitHub access, each says how to configure it. */
export async function digestActivity(
  octokitFor: ((repo: string) => Promise<Octokit> | Octokit) | undefined,
  schedule: ScheduleRecord,
  since: Date,
  until: Date,
): Promise<RepoActivity[]> {
  if (!octokitFor)
    return schedule.repos.map((repo) => ({ ...emptyActivity(repo), error: GITHUB_NOT_CONFIGURED }));
  return collectActivity(octokitFor, schedule.repos, { since, until });
}
