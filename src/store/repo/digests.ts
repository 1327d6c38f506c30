/**
 * Schedules and their digest runs. Whether an attempt at a (schedule, due time) is ours is decided by
 * a unique insert into DigestRun (see models/digest-run.ts); every other write here is either keyed
 * by `_id` or a monotonic hint ($max), so a lost or raced write can only cost a retry, never a double
 * post.
 */
import { Types } from 'mongoose';
import { DeckhandError } from '../../core/index.js';
import { guard, isDuplicateKeyError } from '../errors.js';
import type { DigestRunDoc, DigestRunStatus, Models, Platform, ScheduleDoc } from '../models/index.js';

export type ScheduleRecord = ScheduleDoc & { id: string };
export type DigestRunRecord = DigestRunDoc & { id: string };

export type NewSchedule = Omit<ScheduleDoc, 'createdAt' | 'updatedAt' | 'lastRunAt' | 'lastDueAt' | 'kind'>;

export interface DigestClaim {
  scheduleId: string;
  dueAt: Date;
  attempt: number;
  by: string;
  status: Extract<DigestRunStatus, 'queued' | 'running' | 'skipped'>;
  leaseExpiresAt?: Date | null;
  manual?: boolean;
  error?: string;
}

export type DigestRunUpdate = Partial<
  Pick<DigestRunDoc, 'status' | 'leaseExpiresAt' | 'retryAt' | 'error' | 'messageId' | 'postedAt'>
>;

const OPEN_STATUSES: DigestRunStatus[] = ['queued', 'running', 'failed'];

function oid(id: string, what = 'schedule'): Types.ObjectId {
  if (!Types.ObjectId.isValid(id)) throw new DeckhandError('NOT_FOUND', `No ${what} with id ${id}.`);
  return new Types.ObjectId(id);
}

function toRecord<T extends { _id: Types.ObjectId }>(doc: T): Omit<T, '_id'> & { id: string } {
  const { _id, ...rest } = doc;
  return { ...rest, id: String(_id) };
}

type Lean<T> = T & { _id: Types.ObjectId };

export function digestRepo(models: Models) {
  const { Schedule, DigestRun } = models;

  return {
    /** Creates a schedule; a name already used in the workspace is a STORE_CONFLICT. */
    async createSchedule(input: NewSchedule): Promise<ScheduleRecord> {
      const doc = await guard(`The digest "${input.name}"`, () => Schedule.create(input));
      return toRecord(doc.toObject() as Lean<ScheduleDoc>);
    },

    /**
     * Creates or updates a schedule by (platform, workspace, name), for digests defined in config.
     * Two processes starting at once may both try the insert; the unique index lets one win and the
     * other then updates.
     */
    async upsertSchedule(input: NewSchedule): Promise<ScheduleRecord> {
      const { platform, workspaceId, name } = input;
      for (let round = 0; ; round++) {
        try {
          const doc = await Schedule.findOneAndUpdate(
            { platform, workspaceId, name },
            { $set: input },
            { upsert: true, returnDocument: 'after', runValidators: true },
          ).lean<Lean<ScheduleDoc>>();
          if (!doc) throw new Error('upsert returned no schedule');
          return toRecord(doc);
        } catch (error) {
          if (!isDuplicateKeyError(error) || round > 0) return guard('Schedule', () => Promise.reject(error));
        }
      }
    },

    async getSchedule(id: string): Promise<ScheduleRecord | null> {
      if (!Types.ObjectId.isValid(id)) return null;
      const doc = await Schedule.findById(id).lean<Lean<ScheduleDoc>>();
      return doc ? toRecord(doc) : null;
    },

    async findScheduleByName(
      platform: Platform,
      workspaceId: string,
      name: string,
    ): Promise<ScheduleRecord | null> {
      const doc = await Schedule.findOne({ platform, workspaceId, name }).lean<Lean<ScheduleDoc>>();
      return doc ? toRecord(doc) : null;
    },

    async setScheduleEnabled(id: string, enabled: boolean): Promise<void> {
      await Schedule.updateOne({ _id: oid(id) }, { $set: { enabled } });
    },

    /** Raises the schedule's claimed-due hint; never lowers it, whatever order writes land in. */
    async noteScheduleDue(id: string, dueAt: Date): Promise<void> {
      await Schedule.updateOne({ _id: oid(id) }, { $max: { lastDueAt: dueAt } });
    },

    /** Raises the due time of the last posted digest (the next digest's window starts there). */
    async noteSchedulePosted(id: string, dueAt: Date): Promise<void> {
      await Schedule.updateOne({ _id: oid(id) }, { $max: { lastRunAt: dueAt } });
    },

    /** Inserts the attempt; false when another process already holds this attempt. */
    async claimDigestRun(claim: DigestClaim): Promise<DigestRunRecord | null> {
      try {
        const doc = await DigestRun.create({
          scheduleId: oid(claim.scheduleId),
          dueAt: claim.dueAt,
          attempt: claim.attempt,
          by: claim.by,
          status: claim.status,
          manual: claim.manual ?? false,
          leaseExpiresAt: claim.leaseExpiresAt ?? null,
          error: claim.error ?? null,
        });
        return toRecord(doc.toObject() as Lean<DigestRunDoc>);
      } catch (error) {
        if (isDuplicateKeyError(error)) return null;
        throw error;
      }
    },

    async updateDigestRun(id: string, set: DigestRunUpdate): Promise<void> {
      await DigestRun.updateOne({ _id: oid(id, 'digest run') }, { $set: set });
    },

    /** Whether a later attempt of the same occurrence exists (this one was taken over). */
    async digestRunSuperseded(run: Pick<DigestRunDoc, 'scheduleId' | 'dueAt' | 'attempt'>): Promise<boolean> {
      const later = await DigestRun.exists({
        scheduleId: run.scheduleId,
        dueAt: run.dueAt,
        attempt: { $gt: run.attempt },
      });
      return later !== null;
    },

    /** `scheduleId|dueAt ms` of every occurrence claimed (attempt 1) with a due time >= `since`. */
    async claimedOccurrences(since: Date): Promise<Set<string>> {
      const docs = await DigestRun.find({ dueAt: { $gte: since }, attempt: 1 })
        .select({ scheduleId: 1, dueAt: 1 })
        .lean<Pick<Lean<DigestRunDoc>, 'scheduleId' | 'dueAt'>[]>();
      return new Set(docs.map((d) => `${String(d.scheduleId)}|${new Date(d.dueAt).getTime()}`));
    },

    /** Raises the claimed-due hint of many schedules that share one due time, in one write. */
    async noteSchedulesDue(ids: string[], dueAt: Date): Promise<void> {
      if (ids.length === 0) return;
      await Schedule.updateMany({ _id: { $in: ids.map((id) => oid(id)) } }, { $max: { lastDueAt: dueAt } });
    },

    /** Attempts that may need another one: queued, running (lease may have expired), failed. */
    async openDigestRuns(limit = 1000): Promise<DigestRunRecord[]> {
      const docs = await DigestRun.find({ status: { $in: OPEN_STATUSES } })
        .limit(limit)
        .lean<Lean<DigestRunDoc>[]>();
      return docs.map(toRecord);
    },

    async listDigestRuns(
      filter: { scheduleId?: string; status?: DigestRunStatus } = {},
      limit = 500,
    ): Promise<DigestRunRecord[]> {
      const query: Record<string, unknown> = {};
      if (filter.scheduleId) query.scheduleId = oid(filter.scheduleId);
      if (filter.status) query.status = filter.status;
      const docs = await DigestRun.find(query)
        .sort({ dueAt: -1, attempt: -1 })
        .limit(limit)
        .lean<Lean<DigestRunDoc>[]>();
      return docs.map(toRecord);
    },

    /** Deletes finished runs recorded before `olderThan`; returns how many went. */
    async purgeDigestRuns(olderThan: Date): Promise<number> {
      const result = await DigestRun.deleteMany({
        at: { $lt: olderThan },
        status: { $nin: OPEN_STATUSES },
      });
      return result.deletedCount;
    },

    /** Deletes a schedule and its run log. */
    async removeSchedule(id: string): Promise<boolean> {
      const result = await Schedule.deleteOne({ _id: oid(id) });
      await DigestRun.deleteMany({ scheduleId: oid(id) });
      return result.deletedCount === 1;
    },
  };
}
