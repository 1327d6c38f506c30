import { Schema } from 'mongoose';
import { PLATFORMS, type Platform } from './platform.js';

/**
 * A chat account linked to the GitHub account its owner proved through the device flow (so "who may
 * do what" can ask GitHub what that person may do). `_id` is `platform:workspaceId:userId`, so the
 * lookup on every request is a primary-key read (FerretDB pushes only `_id` filters down); the same
 * triple is also a unique index. `github` is `{login, githubId}` as JSON, sealed with the SecretBox
 * for that id: a dump does not say who is who. No token is ever stored.
 */
export interface PersonLinkDoc {
  _id: string;
  platform: Platform;
  workspaceId: string;
  userId: string;
  github: string;
  linkedAt: Date;
}

export const personLinkSchema = new Schema<PersonLinkDoc>(
  {
    _id: { type: String },
    platform: { type: String, enum: PLATFORMS, required: true },
    workspaceId: { type: String, required: true, minlength: 1 },
    userId: { type: String, required: true, minlength: 1 },
    github: { type: String, required: true, minlength: 1 },
    linkedAt: { type: Date, required: true },
  },
  { strict: 'throw', versionKey: false },
);
personLinkSchema.index({ platform: 1, workspaceId: 1, userId: 1 }, { unique: true });

/** The record id a link is stored (and sealed) under. */
export function personLinkId(account: { platform: Platform; workspaceId: string; userId: string }): string {
  return `${account.platform}:${account.workspaceId}:${account.userId}`;
}
