/**
 * Digests defined in config (`digests.schedules`) become schedules at start, created or updated by
 * (platform, workspace, name). A schedule paused from chat stays paused; chat cannot remove one for
 * good (the next start brings it back), which is what a config file means. A digest with a bad
 * or too frequent cadence (digests.minIntervalMinutes) stops the start, named, before any is saved.
 */
import type { Config } from '../core/index.js';
import { DeckhandError } from '../core/index.js';
import type { ScheduleRecord, Store } from '../store/index.js';
import { assertTimezone, latestDue, parseWhen } from './cron.js';
import { assertMinInterval, DEFAULT_MIN_INTERVAL_MINUTES } from './interval.js';

export type ConfiguredDigest = Config['digests']['schedules'][number];

/** The digest's cron expression, or a CONFIG_INVALID naming it. */
function configuredCron(digest: ConfiguredDigest, now: Date, minIntervalMinutes: number): string {
  try {
    assertTimezone(digest.timezone);
    const { cron } = parseWhen(digest.when);
    const cadence = { cron, timezone: digest.timezone, skipWeekends: digest.skipWeekends };
    assertMinInterval(cadence, minIntervalMinutes, now);
    return cron;
  } catch (error) {
    const reason = error instanceof DeckhandError ? error.userMessage : String(error);
    throw new DeckhandError('CONFIG_INVALID', `digests.schedules "${digest.name}": ${reason}`);
  }
}

export async function syncConfigSchedules(
  store: Store,
  digests: ConfiguredDigest[],
  now = new Date(),
  minIntervalMinutes = DEFAULT_MIN_INTERVAL_MINUTES,
): Promise<ScheduleRecord[]> {
  const crons = digests.map((digest) => configuredCron(digest, now, minIntervalMinutes));
  const saved: ScheduleRecord[] = [];
  for (const [index, digest] of digests.entries()) {
    const cron = crons[index]!;
    const existing = await store.findScheduleByName(digest.platform, digest.workspaceId, digest.name);
    const schedule = await store.upsertSchedule({
      name: digest.name,
      platform: digest.platform,
      workspaceId: digest.workspaceId,
      channelId: digest.channelId,
      cron,
      timezone: digest.timezone,
      repos: digest.repos,
      skipWeekends: digest.skipWeekends,
      enabled: existing ? existing.enabled : true,
      createdBy: 'config',
    });
    // A changed cadence starts from its next due time, not with a digest for one already past.
    const changed = existing && (existing.cron !== cron || existing.timezone !== digest.timezone);
    const latest = changed
      ? latestDue({ cron, timezone: digest.timezone, skipWeekends: digest.skipWeekends }, now)
      : null;
    if (latest) await store.noteScheduleDue(schedule.id, latest);
    saved.push(schedule);
  }
  return saved;
}
