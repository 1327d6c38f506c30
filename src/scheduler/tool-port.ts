/**
 * The scheduler as the agent's tools see it (schedule_digest, list_schedules): the shape of
 * SchedulerToolPort in src/agents/tools/ports.ts, implemented over the store. A cadence more frequent
 * than digests.minIntervalMinutes is refused like a bad cron expression.
 */
import { DeckhandError } from '../core/index.js';
import { PLATFORMS, type Platform, type ScheduleRecord, type Store } from '../store/index.js';
import { assertTimezone, latestDue, nextDue, validCron } from './cron.js';
import { cadenceOf } from './due.js';
import { assertMinInterval, DEFAULT_MIN_INTERVAL_MINUTES } from './interval.js';

export interface ScheduleSummaryView {
  name: string;
  cron: string;
  timezone: string;
  channelId: string;
  nextRunAt?: string;
}

function platformOf(value: string): Platform {
  if (!(PLATFORMS as readonly string[]).includes(value)) {
    throw new DeckhandError('BAD_REQUEST', `Digests cannot be scheduled from ${value}.`);
  }
  return value as Platform;
}

function summary(schedule: ScheduleRecord, now: Date): ScheduleSummaryView {
  const next = schedule.enabled ? nextDue(cadenceOf(schedule), now) : null;
  return {
    name: schedule.name,
    cron: schedule.cron,
    timezone: schedule.timezone,
    channelId: schedule.channelId,
    ...(next ? { nextRunAt: next.toISOString() } : {}),
  };
}

export interface SchedulerToolPortOptions {
  /** digests.minIntervalMinutes: a cadence firing more often than this is refused (default 60). */
  minIntervalMinutes?: number;
}

export function schedulerToolPort(
  store: Store,
  clock: () => Date = () => new Date(),
  options: SchedulerToolPortOptions = {},
) {
  const minIntervalMinutes = options.minIntervalMinutes ?? DEFAULT_MIN_INTERVAL_MINUTES;
  return {
    async scheduleDigest(input: {
      name: string;
      cron: string;
      timezone: string;
      repos: string[];
      channelId: string;
      actor: { platform: string; workspaceId: string; userId: string };
    }): Promise<ScheduleSummaryView> {
      const timezone = assertTimezone(input.timezone);
      const cron = validCron(input.cron, timezone);
      assertMinInterval({ cron, timezone }, minIntervalMinutes, clock());
      const platform = platformOf(input.actor.platform);
      const existing = await store.findScheduleByName(platform, input.actor.workspaceId, input.name);
      const saved = await store.upsertSchedule({
        name: input.name,
        platform,
        workspaceId: input.actor.workspaceId,
        channelId: input.channelId,
        cron,
        timezone,
        repos: input.repos,
        enabled: existing?.enabled ?? true,
        createdBy: `${platform}:${input.actor.userId}`,
      });
      const latest = existing ? latestDue(cadenceOf(saved), clock()) : null;
      if (latest) await store.noteScheduleDue(saved.id, latest);
      return summary(saved, clock());
    },
    async listSchedules(workspace: {
      platform: string;
      workspaceId: string;
    }): Promise<ScheduleSummaryView[]> {
      const list = await store.listSchedules({
        platform: platformOf(workspace.platform),
        workspaceId: workspace.workspaceId,
      });
      return list.map((s) => summary(s, clock()));
    },
  };
}
