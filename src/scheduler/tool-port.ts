/**
 * The scheduler as the agent's tools see it (schedule_digest, list_schedules): the shape of
 * SchedulerToolPort in src/agents/tools/ports.ts, implemented over the store.
 */
import { DeckhandError } from '../core/index.js';
import { PLATFORMS, type Platform, type ScheduleRecord, type Store } from '../store/index.js';
import { assertTimezone, latestDue, nextDue, validCron } from './cron.js';
import { cadenceOf } from './due.js';

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

export function schedulerToolPort(store: Store, clock: () => Date = () => new Date()) {
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
