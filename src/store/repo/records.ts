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

export function recordRepo(models: Models) {
  return {
    async recordAudit(entry: {
      actor: string;
      action: string;
      target?: string;
      outcome: AuditOutcome;
      detail?: unknown;
    }) {
      const doc = await guard('AuditEntry', () => models.AuditEntry.create(entry));
      return String(doc._id);
    },
    async listAudit(
      filter: { actor?: string; action?: string } = {},
      limit = 100,
    ): Promise<WithId<AuditEntryDoc>[]> {
      const docs = await models.AuditEntry.find(filter)
        .sort({ at: -1 })
        .limit(limit)
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
