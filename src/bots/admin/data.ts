/** What the admin page shows, read through the store's repository functions only. */
import type {
  RunSummary,
  ScheduleDoc,
  Store,
  TaskRecord,
  TaskStatus,
  WorkspaceUsage,
} from '../../store/index.js';
import { TASK_STATUSES } from '../../store/index.js';

export interface AdminView {
  generatedAt: Date;
  windowDays: number;
  statusCounts: Record<TaskStatus, number>;
  /** Tasks created per UTC day over the window, by status. */
  activity: { days: string[]; byStatus: Record<TaskStatus, number[]> };
  /** Tasks created over the window, by workspace, most first. */
  tasksByWorkspace: { workspace: string; tasks: number; failed: number }[];
  recentTasks: TaskRecord[];
  runs: RunSummary[];
  runOutcomes: { status: string; count: number }[];
  schedules: (ScheduleDoc & { id: string })[];
  usage: WorkspaceUsage[];
}

export type AdminStore = Pick<
  Store,
  'taskStatusCounts' | 'taskActivity' | 'listTasks' | 'listRecentRuns' | 'listSchedules' | 'usageByWorkspace'
>;

function dayKey(date: Date): string {
  return date.toISOString().slice(0, 10);
}

export async function loadAdminView(
  store: AdminStore,
  options: { now?: Date; windowDays?: number } = {},
): Promise<AdminView> {
  const now = options.now ?? new Date();
  const windowDays = options.windowDays ?? 14;
  const firstDay = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  firstDay.setUTCDate(firstDay.getUTCDate() - (windowDays - 1));
  const [statusCounts, activityRows, recentTasks, runs, schedules, usage] = await Promise.all([
    store.taskStatusCounts(),
    store.taskActivity(firstDay),
    store.listTasks({}, 50),
    store.listRecentRuns(50),
    store.listSchedules(),
    store.usageByWorkspace(firstDay),
  ]);

  const days: string[] = [];
  for (let i = 0; i < windowDays; i++) {
    const day = new Date(firstDay);
    day.setUTCDate(firstDay.getUTCDate() + i);
    days.push(dayKey(day));
  }
  const index = new Map(days.map((d, i) => [d, i]));
  const byStatus = Object.fromEntries(TASK_STATUSES.map((s) => [s, days.map(() => 0)])) as Record<
    TaskStatus,
    number[]
  >;
  const perWorkspace = new Map<string, { workspace: string; tasks: number; failed: number }>();
  for (const row of activityRows) {
    const i = index.get(dayKey(new Date(row.createdAt)));
    const series = byStatus[row.status];
    if (i !== undefined && series) series[i] = (series[i] ?? 0) + 1;
    const entry = perWorkspace.get(row.workspace) ?? { workspace: row.workspace, tasks: 0, failed: 0 };
    entry.tasks += 1;
    if (row.status === 'failed') entry.failed += 1;
    perWorkspace.set(row.workspace, entry);
  }

  const outcomeCounts = new Map<string, number>();
  for (const run of runs) outcomeCounts.set(run.status, (outcomeCounts.get(run.status) ?? 0) + 1);

  return {
    generatedAt: now,
    windowDays,
    statusCounts,
    activity: { days, byStatus },
    tasksByWorkspace: [...perWorkspace.values()].sort((a, b) => b.tasks - a.tasks).slice(0, 15),
    recentTasks,
    runs,
    runOutcomes: [...outcomeCounts].map(([status, count]) => ({ status, count })),
    schedules,
    usage,
  };
}
