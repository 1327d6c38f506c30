/**
 * Approvals (`access.approvals`): an action that waits for a person with the right role to approve
 * it, and the one decision on it. Portable operations only (this also runs on FerretDB): inserts a
 * duplicate `_id` refuses, and primary-key reads. The first decision wins: it is the insert of the
 * decision record, which no second insert can overwrite.
 */
import { randomBytes } from 'node:crypto';
import type { Model } from 'mongoose';
import { type ApprovalInput, DeckhandError } from '../../core/index.js';
import { guard, isDuplicateKeyError, toStoreError } from '../errors.js';
import type { ApprovalDecisionDoc, ApprovalDoc, ApprovalVerdict } from '../models/approval.js';

/** The contract's shape (src/core approval.ts): what the wait hands the store. */
export type { ApprovalInput };

export type ApprovalRecord = ApprovalInput & { id: string; createdAt: Date };

export interface ApprovalDecision {
  verdict: ApprovalVerdict;
  by: string;
  at: Date;
}

/** The decision that holds, and whether this call made it (`first`). */
export type ApprovalDecisionResult = ApprovalDecision & { first: boolean };

export interface ApprovalModels {
  Approval: Model<ApprovalDoc>;
  ApprovalDecision: Model<ApprovalDecisionDoc>;
}

/** 6 random bytes: 8 url-safe characters, short enough to type, 2^48 values. */
function newApprovalId(): string {
  return randomBytes(6).toString('base64url');
}

/** Another try after an id collision: one in 2^48 per live approval, so a second is already a fault. */
const ID_ATTEMPTS = 3;

function toRecord(doc: ApprovalDoc): ApprovalRecord {
  const { _id, ...rest } = doc;
  return { ...rest, id: _id };
}

function toDecision(doc: ApprovalDecisionDoc): ApprovalDecision {
  return { verdict: doc.verdict, by: doc.by, at: doc.at };
}

export function approvalRepo(models: ApprovalModels) {
  const { Approval, ApprovalDecision } = models;

  async function decisionOf(id: string): Promise<ApprovalDecision | undefined> {
    const doc = await ApprovalDecision.findById(id).lean<ApprovalDecisionDoc>();
    return doc ? toDecision(doc) : undefined;
  }

  return {
    /** Records an action waiting for approval, under a new short id. */
    async createApproval(input: ApprovalInput): Promise<ApprovalRecord> {
      for (let attempt = 1; ; attempt++) {
        try {
          const doc = await Approval.create({ ...input, _id: newApprovalId(), createdAt: new Date() });
          return toRecord(doc.toObject());
        } catch (error) {
          if (!isDuplicateKeyError(error) || attempt >= ID_ATTEMPTS) throw toStoreError(error, 'Approval');
        }
      }
    },

    async getApproval(id: string): Promise<ApprovalRecord | undefined> {
      const doc = await guard('Approval', () => Approval.findById(id).lean<ApprovalDoc>());
      return doc ? toRecord(doc) : undefined;
    },

    /**
     * Decides an approval, once: the first decision inserted holds, and every later call gets that
     * one back with `first: false`. An approve or deny that comes after the approval expired records
     * (or finds) the expiry instead, so a click on a stale button never lets the action through, even
     * when nobody was left waiting to record the timeout. `first` is true only when this call made
     * the decision it asked for. An unknown id is NOT_FOUND.
     */
    async decideApproval(id: string, verdict: ApprovalVerdict, by: string): Promise<ApprovalDecisionResult> {
      const approval = await guard('Approval', () =>
        Approval.findById(id).select({ expiresAt: 1 }).lean<Pick<ApprovalDoc, '_id' | 'expiresAt'>>(),
      );
      if (!approval) throw new DeckhandError('NOT_FOUND', `No approval with id \`${id.slice(0, 40)}\`.`);
      const late = verdict !== 'expired' && approval.expiresAt.getTime() <= Date.now();
      const asked = late ? { verdict: 'expired' as const, by: 'timeout' } : { verdict, by };
      try {
        const doc = await ApprovalDecision.create({ _id: id, ...asked, at: new Date() });
        return { ...toDecision(doc.toObject()), first: !late };
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw toStoreError(error, 'Approval decision');
      }
      const held = await decisionOf(id);
      // A duplicate key means a decision is stored; it is never deleted, so this cannot be missing.
      if (!held) throw new DeckhandError('INTERNAL', 'The approval decision could not be read back.');
      return { ...held, first: false };
    },

    /** The decision on an approval, if one was made. */
    async approvalDecisionOf(id: string): Promise<ApprovalDecision | undefined> {
      return guard('Approval decision', () => decisionOf(id));
    },
  };
}
