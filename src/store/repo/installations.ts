/**
 * Installations of the chat apps (multi-workspace Slack), and the threads Deckhand takes part in (so a
 * plain reply there continues the conversation). Every read is a primary-key read.
 */
import { DeckhandError } from '../../core/index.js';
import { guard, isDuplicateKeyError, toStoreError } from '../errors.js';
import { botThreadId } from '../models/bot-thread.js';
import type { Models, Platform } from '../models/index.js';
import { type InstallationDoc, installationId } from '../models/installation.js';
import type { SecretBox } from '../secret-box.js';

export interface ThreadKey {
  platform: Platform;
  workspaceId: string;
  channelId: string;
  threadId: string;
}

export type InstallationRecord = Omit<InstallationDoc, '_id'> & { id: string };

export interface InstallationInput {
  platform: Platform;
  teamId?: string | undefined;
  enterpriseId?: string | undefined;
  appId?: string | undefined;
  botUserId?: string | undefined;
  botId?: string | undefined;
  botToken: string;
  /** Token rotation: the refresh token and when `botToken` expires (both unset: it does not expire). */
  refreshToken?: string | undefined;
  tokenExpiresAt?: Date | undefined;
  botScopes?: string[] | undefined;
  installedBy?: string | undefined;
  raw?: unknown;
}

/** A bot token renewed with the refresh token (token rotation). */
export interface RenewedToken {
  botToken: string;
  refreshToken: string;
  tokenExpiresAt: Date;
}

/** The refresh token is sealed for its own record id, so it cannot be swapped with the bot token. */
const refreshTokenId = (id: string) => `${id}#refresh`;

export function installationRepo(models: Models, box: SecretBox) {
  const { Installation, BotThread } = models;

  /**
   * The record as callers see it: the bot token in clear (it is sealed in the store with a key,
   * bound to the record's `_id`). A token in plain text, in the old format or under a previous key
   * is sealed again under the current key as it is read, so a rotation completes without reinstalls.
   */
  async function toRecord(doc: InstallationDoc): Promise<InstallationRecord> {
    const { _id, ...rest } = doc;
    const bot = box.open(doc.botToken, _id, 'Slack bot token');
    const refresh = doc.refreshToken
      ? box.open(doc.refreshToken, refreshTokenId(_id), 'Slack refresh token')
      : undefined;
    if (bot.stale || refresh?.stale) {
      // Only if unchanged since read, so a concurrent reinstall or renewal wins. Best effort: the
      // caller has the token, and a failed upgrade is tried again on the next read.
      await Installation.updateOne(
        { _id, botToken: doc.botToken },
        {
          $set: {
            botToken: box.seal(bot.plain, _id),
            ...(refresh ? { refreshToken: box.seal(refresh.plain, refreshTokenId(_id)) } : {}),
          },
        },
      ).catch(() => undefined);
    }
    return {
      ...rest,
      botToken: bot.plain,
      ...(refresh ? { refreshToken: refresh.plain } : {}),
      id: _id,
    };
  }

  return {
    /** Saves (or replaces, on reinstall) an installation. */
    async saveInstallation(input: InstallationInput): Promise<InstallationRecord> {
      if (!input.teamId && !input.enterpriseId) {
        throw new DeckhandError('BAD_REQUEST', 'An installation needs a team id or an enterprise id.');
      }
      const id = installationId(input.platform, input.teamId, input.enterpriseId);
      const fields = Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined));
      // A reinstall replaces the record: a token that no longer rotates drops the old refresh token.
      const unset = {
        ...(input.refreshToken ? {} : { refreshToken: 1 }),
        ...(input.tokenExpiresAt ? {} : { tokenExpiresAt: 1 }),
      };
      const doc = await guard('Installation', () =>
        Installation.findOneAndUpdate(
          { _id: id },
          {
            $set: {
              ...fields,
              botToken: box.seal(input.botToken, id),
              ...(input.refreshToken
                ? { refreshToken: box.seal(input.refreshToken, refreshTokenId(id)) }
                : {}),
              botScopes: input.botScopes ?? [],
              raw: input.raw ?? null,
            },
            ...(Object.keys(unset).length > 0 ? { $unset: unset } : {}),
          },
          { upsert: true, returnDocument: 'after', runValidators: true },
        ).lean<InstallationDoc>(),
      );
      if (!doc) throw new Error('upsert returned no installation');
      return toRecord(doc);
    },

    /** The installation serving a team: the team's own, else its Enterprise Grid org's. */
    async findInstallation(
      platform: Platform,
      query: { teamId?: string | undefined; enterpriseId?: string | undefined },
    ): Promise<InstallationRecord | null> {
      if (query.teamId) {
        const team = await Installation.findById(
          installationId(platform, query.teamId),
        ).lean<InstallationDoc>();
        if (team) return toRecord(team);
      }
      if (query.enterpriseId) {
        const org = await Installation.findById(
          installationId(platform, undefined, query.enterpriseId),
        ).lean<InstallationDoc>();
        if (org) return toRecord(org);
      }
      return null;
    },

    /**
     * Stores a renewed bot token, only if the installation still holds the token that expires at
     * `previousExpiresAt` (a renewal elsewhere, or a reinstall, wins). Null when it did not.
     */
    async renewInstallationToken(
      id: string,
      previousExpiresAt: Date | undefined,
      renewed: RenewedToken,
    ): Promise<InstallationRecord | null> {
      const doc = await guard('Installation', () =>
        Installation.findOneAndUpdate(
          { _id: id, tokenExpiresAt: previousExpiresAt ?? null },
          {
            $set: {
              botToken: box.seal(renewed.botToken, id),
              refreshToken: box.seal(renewed.refreshToken, refreshTokenId(id)),
              tokenExpiresAt: renewed.tokenExpiresAt,
            },
          },
          { returnDocument: 'after', runValidators: true },
        ).lean<InstallationDoc>(),
      );
      return doc ? toRecord(doc) : null;
    },

    async deleteInstallation(
      platform: Platform,
      query: { teamId?: string | undefined; enterpriseId?: string | undefined },
    ): Promise<boolean> {
      const id = installationId(platform, query.teamId, query.enterpriseId);
      const result = await Installation.deleteOne({ _id: id });
      return result.deletedCount === 1;
    },

    /** Records that Deckhand takes part in a thread (idempotent: a second mark changes nothing). */
    async markThread(key: ThreadKey): Promise<void> {
      if (!key.threadId) return;
      try {
        await BotThread.create({ _id: botThreadId(key), platform: key.platform });
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw toStoreError(error, 'BotThread');
      }
    },

    /** Forgets threads marked before `olderThan` (an explicit purge: no TTL index on FerretDB). */
    async purgeBotThreads(olderThan: Date): Promise<number> {
      const result = await BotThread.deleteMany({ createdAt: { $lt: olderThan } });
      return result.deletedCount;
    },

    /** True when Deckhand takes part in this thread: one primary-key read. */
    async isKnownThread(key: ThreadKey): Promise<boolean> {
      if (!key.threadId) return false;
      return (await BotThread.exists({ _id: botThreadId(key) })) !== null;
    },
  };
}
