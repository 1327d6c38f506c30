/**
 * Read-only queries for the admin page: counts, recent activity, runs and spend. Portable subset
 * only (find, countDocuments, projections; grouping is done here, not with $group/$lookup), and every
 * scan is bounded by a time window and a row limit because FerretDB pushes down only `_id` filters.
 */
import type { Types } from 'mongoose';
import type { Models, RunDoc, TaskDoc } from '../models/index.js';
import { TASK_STATUSES, type TaskStatus } from '../task-status.js';

/** One task as the activity chart needs it. */
export interface TaskActivityRow {
  createdAt: Date;
  status: TaskStatus;
  kind: string;
  workspace: string;
}

export type RunSummary = Omit<RunDoc, 'stdout' | 'stderr' | 'taskId'> & { id: string; taskId: string | null };

export interface WorkspaceUsage {
  /** `platform:workspaceId`. */
  workspace: string;
  tokensIn: number;
  tokensOut: number;
  costUsd: number;
  modelCalls: number;
}

interface UsageRow {
  conversationId?: Types.ObjectId;
  workspaceKey?: string;
  model?: string;
  tokensIn?: number;
  tokensOut?: number;
  costUsd?: number;
}

export function adminRepo(models: Models) {
  const { Task, Run, Message, Conversation } = models;
  return {
    /** Tasks per status, every status present (0 when none). */
    async taskStatusCounts(): Promise<Record<TaskStatus, number>> {
      const counts = await Promise.all(TASK_STATUSES.map((status) => Task.countDocuments({ status })));
      return Object.fromEntries(TASK_STATUSES.map((s, i) => [s, counts[i] ?? 0])) as Record<
        TaskStatus,
        number
      >;
    },

    /** Tasks created since `since` (newest first, at most `limit`), reduced to what charts need. */
    async taskActivity(since: Date, limit = 20_000): Promise<TaskActivityRow[]> {
      const docs = await Task.find(
        { createdAt: { $gte: since } },
        { createdAt: 1, status: 1, kind: 1, 'source.platform': 1, 'source.workspaceId': 1 },
      )
        .sort({ createdAt: -1 })
        .limit(limit)
        .lean<Pick<TaskDoc, 'createdAt' | 'status' | 'kind' | 'source'>[]>();
      return docs.map((doc) => ({
        createdAt: doc.createdAt,
        status: doc.status,
        kind: doc.kind,
        workspace: `${doc.source?.platform ?? '?'}:${doc.source?.workspaceId ?? '-'}`,
      }));
    },

    /** The latest sandbox runs, without their output. */
    async listRecentRuns(limit = 50): Promise<RunSummary[]> {
      const docs = await Run.find({}, { stdout: 0, stderr: 0 })
        .sort({ startedAt: -1 })
        .limit(limit)
        .lean<(Omit<RunDoc, 'stdout' | 'stderr'> & { _id: Types.ObjectId })[]>();
      return docs.map(({ _id, taskId, ...rest }) => ({
        ...rest,
        id: String(_id),
        taskId: taskId ? String(taskId) : null,
      }));
    },

    /**
     * Model spend per workspace since `since`: messages that carry tokens or cost, attributed by
     * their workspaceKey, or else by their conversation's workspace. Largest spend first.
     */
    async usageByWorkspace(since: Date, limit = 50_000): Promise<WorkspaceUsage[]> {
      const rows = await Message.find(
        { createdAt: { $gte: since }, $or: [{ costUsd: { $gt: 0 } }, { tokensIn: { $gt: 0 } }] },
        { conversationId: 1, workspaceKey: 1, model: 1, tokensIn: 1, tokensOut: 1, costUsd: 1 },
      )
        .limit(limit)
        .lean<UsageRow[]>();
      const unkeyed = [
        ...new Set(
          rows.filter((r) => !r.workspaceKey && r.conversationId).map((r) => String(r.conversationId)),
        ),
      ];
      const conversations = unkeyed.length
        ? await Conversation.find({ _id: { $in: unkeyed } }, { platform: 1, workspaceId: 1 }).lean<
            { _id: Types.ObjectId; platform: string; workspaceId: string }[]
          >()
        : [];
      const workspaceOf = new Map(
        conversations.map((c) => [String(c._id), `${c.platform}:${c.workspaceId}`]),
      );
      const totals = new Map<string, WorkspaceUsage>();
      for (const row of rows) {
        const workspace = row.workspaceKey ?? workspaceOf.get(String(row.conversationId)) ?? 'unknown';
        const entry = totals.get(workspace) ?? {
          workspace,
          tokensIn: 0,
          tokensOut: 0,
          costUsd: 0,
          modelCalls: 0,
        };
        entry.tokensIn += row.tokensIn ?? 0;
        entry.tokensOut += row.tokensOut ?? 0;
        entry.costUsd += row.costUsd ?? 0;
        if (row.model) entry.modelCalls += 1;
        totals.set(workspace, entry);
      }
      return [...totals.values()].sort((a, b) => b.costUsd - a.costUsd || b.tokensIn - a.tokensIn);
    },
  };
}
