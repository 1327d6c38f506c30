/** Small repositories: audit trail, sandbox runs, workspaces, schedules. */
import type { Types } from 'mongoose';
import { guard } from '../errors.js';
import type {
  AuditEntryDoc,
  AuditOutcome,
  Models,
  Platform,
  RunDoc,
  ScheduleDoc,
  WorkspaceDoc,
} from '../models/index.js';

type WithId<T> = T & { id: string };
function withId<T extends { _id: Types.ObjectId }>(doc: T): WithId<Omit<T, '_id'>> {
  const { _id, ...rest } = doc;
  return { ...rest, id: String(_id) };
}

/** What `listAudit` narrows by; every field is optional and they combine with AND. */
export interface AuditFilter {
  /** Only entries at or after this instant. */
  since?: Date | undefined;
  actor?: string | undefined;
  /** Exact action, or a prefix when it ends with `.` or `*` (`code.` / `code.*`). */
  action?: string | undefined;
  /** `<platform>:<workspaceId>`; entries of other workspaces (or of none) are never returned. */
  workspace?: string | undefined;
  /** Default 100, at most 1000. */
  limit?: number | undefined;
}

export const AUDIT_DEFAULT_LIMIT = 100;
export const AUDIT_MAX_LIMIT = 1000;

function auditLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return AUDIT_DEFAULT_LIMIT;
  return Math.min(AUDIT_MAX_LIMIT, Math.max(1, Math.floor(limit)));
}

/** Plain equality, $gte and an anchored $regex only: the subset FerretDB runs. */
function auditQuery(filter: AuditFilter): Record<string, unknown> {
  const query: Record<string, unknown> = {};
  if (filter.since) query.at = { $gte: filter.since };
  if (filter.actor !== undefined) query.actor = filter.actor;
  if (filter.workspace !== undefined) query.workspace = filter.workspace;
  if (filter.action !== undefined) {
    const prefix = filter.action.endsWith('*') ? filter.action.slice(0, -1) : filter.action;
    query.action =
      filter.action.endsWith('*') || filter.action.endsWith('.')
        ? { $regex: `^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}` }
        : filter.action;
  }
  return query;
}

export function recordRepo(models: Models) {
  return {
    async recordAudit(entry: {
      actor: string;
      action: string;
      target?: string;
      outcome: AuditOutcome;
      detail?: unknown;
      /** `<platform>:<workspaceId>`, e.g. `slack:T1`, `github:12345`. */
      workspace?: string | undefined;
    }) {
      const doc = await guard('AuditEntry', () => models.AuditEntry.create(entry));
      return String(doc._id);
    },
    /** Newest first. `action` ending in `.` or `*` is a prefix (`code.` matches `code.push`). */
    async listAudit(filter: AuditFilter = {}): Promise<WithId<AuditEntryDoc>[]> {
      const docs = await models.AuditEntry.find(auditQuery(filter))
        .sort({ at: -1, _id: -1 })
        .limit(auditLimit(filter.limit))
        .lean<(AuditEntryDoc & { _id: Types.ObjectId })[]>();
      return docs.map(withId);
    },

    async startRun(
      run: Pick<RunDoc, 'image' | 'command' | 'limits'> & { taskId?: string | null; containerId?: string },
    ) {
      const doc = await guard('Run', () => models.Run.create(run));
      return String(doc._id);
    },
    async finishRun(
      id: string,
      outcome: Pick<RunDoc, 'status' | 'stdout' | 'stderr' | 'truncated'> & {
        exitCode: number | null;
        durationMs: number;
      },
    ): Promise<void> {
      await guard('Run', () =>
        models.Run.updateOne(
          { _id: id },
          { $set: { ...outcome, finishedAt: new Date() } },
          { runValidators: true },
        ),
      );
    },
    async getRun(id: string): Promise<WithId<RunDoc> | null> {
      const doc = await models.Run.findById(id).lean<RunDoc & { _id: Types.ObjectId }>();
      return doc ? withId(doc) : null;
    },

    async upsertWorkspace(
      platform: Platform,
      externalId: string,
      name?: string,
    ): Promise<WithId<WorkspaceDoc>> {
      const doc = await guard('Workspace', () =>
        models.Workspace.findOneAndUpdate(
          { platform, externalId },
          { $setOnInsert: { platform, externalId }, ...(name ? { $set: { name } } : {}) },
          { upsert: true, returnDocument: 'after' },
        ).lean<WorkspaceDoc & { _id: Types.ObjectId }>(),
      );
      if (!doc) throw new Error('upsert returned no workspace');
      return withId(doc);
    },

    async saveSchedule(
      schedule: Omit<ScheduleDoc, 'createdAt' | 'updatedAt' | 'lastRunAt' | 'kind'>,
    ): Promise<WithId<ScheduleDoc>> {
      const { platform, workspaceId, name } = schedule;
      const doc = await guard('Schedule', () =>
        models.Schedule.findOneAndUpdate(
          { platform, workspaceId, name },
          { $set: schedule },
          { upsert: true, returnDocument: 'after', runValidators: true },
        ).lean<ScheduleDoc & { _id: Types.ObjectId }>(),
      );
      if (!doc) throw new Error('upsert returned no schedule');
      return withId(doc);
    },
    async listSchedules(filter: { platform?: Platform; workspaceId?: string; enabled?: boolean } = {}) {
      const docs = await models.Schedule.find(filter)
        .sort({ name: 1 })
        .lean<(ScheduleDoc & { _id: Types.ObjectId })[]>();
      return docs.map(withId);
    },
    async deleteSchedule(id: string): Promise<boolean> {
      const result = await models.Schedule.deleteOne({ _id: id });
      return result.deletedCount === 1;
    },
  };
}
