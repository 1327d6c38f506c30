/** schedule_digest / list_schedules over the scheduler port, for the asking user's workspace and channel. */
import { z } from 'zod';
import type { SchedulerToolPort } from './ports.js';
import { defineTool, type Tool } from './tool.js';

export function schedulerTools(port: SchedulerToolPort): Tool[] {
  return [
    defineTool({
      name: 'schedule_digest',
      description:
        'Create or replace a scheduled digest of repository activity, posted to the current channel on a cron schedule.',
      category: 'schedule-write',
      mutates: true,
      schema: z
        .object({
          name: z.string().regex(/^[A-Za-z0-9 _-]{1,64}$/, 'a short name (letters, digits, space, _ or -)'),
          cron: z.string().min(9).max(100).describe('5-field cron expression, e.g. "0 9 * * 1-5"'),
          timezone: z.string().min(1).max(64).default('UTC').describe('IANA zone, e.g. Europe/Berlin'),
          repos: z
            .array(z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'owner/name'))
            .min(1)
            .max(20),
        })
        .strict(),
      target: (a) => ({ target: `schedule:${a.name}`, repos: a.repos }),
      async run(a, ctx) {
        const saved = await port.scheduleDigest({
          name: a.name,
          cron: a.cron,
          timezone: a.timezone,
          repos: a.repos,
          channelId: ctx.event.channelId,
          actor: {
            platform: ctx.event.platform,
            workspaceId: ctx.event.workspaceId,
            userId: ctx.event.userId,
          },
        });
        return {
          output: `scheduled "${saved.name}" (${saved.cron} ${saved.timezone})${saved.nextRunAt ? `, next run ${saved.nextRunAt}` : ''}`,
        };
      },
    }),
    defineTool({
      name: 'list_schedules',
      description: "List this workspace's scheduled digests.",
      category: 'schedule-read',
      mutates: false,
      schema: z.object({}).strict(),
      target: () => ({ target: 'schedules' }),
      async run(_a, ctx) {
        const list = await port.listSchedules({
          platform: ctx.event.platform,
          workspaceId: ctx.event.workspaceId,
        });
        if (list.length === 0) return { output: 'no schedules' };
        return {
          output: list
            .map(
              (s) =>
                `${s.name}: ${s.cron} ${s.timezone} in ${s.channelId}${s.nextRunAt ? `, next ${s.nextRunAt}` : ''}`,
            )
            .join('\n'),
        };
      },
    }),
  ];
}
