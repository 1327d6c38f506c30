/**
 * The facts "who may do what" is decided from: which GitHub account a chat account proved it owns,
 * each person's role in a workspace, and which repositories a workspace is connected to. The policy
 * itself lives in src/core/access; this only keeps the facts. Portable operations only (this also
 * runs on FerretDB): primary-key reads, upserts, and inserts a duplicate key refuses.
 */
import { z } from 'zod';
import { DeckhandError } from '../../core/index.js';
import { guard, isDuplicateKeyError, toStoreError } from '../errors.js';
import type { Models, Platform } from '../models/index.js';
import { type MembershipDoc, membershipId, type WorkspaceRole } from '../models/membership.js';
import { type PersonLinkDoc, personLinkId } from '../models/person-link.js';
import { repoConnectionId } from '../models/repo-connection.js';
import type { SecretBox } from '../secret-box.js';

/** A chat account: platform, its workspace ('dm' for Discord DMs, 'local' for the terminal), the user id. */
export interface AccountKey {
  platform: Platform;
  workspaceId: string;
  userId: string;
}

export interface WorkspaceKey {
  platform: Platform;
  workspaceId: string;
}

export interface GithubLink {
  login: string;
  githubId: number;
  linkedAt: Date;
}

export interface RoleGrant {
  userId: string;
  role: WorkspaceRole;
  grantedBy: string;
  updatedAt: Date;
}

const sealedGithub = z.strictObject({ login: z.string().min(1), githubId: z.number().int().positive() });

/** GitHub's rules for an owner and a repository name, lower-cased. */
const REPO_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,38})\/[a-z0-9._-]{1,100}$/;

/** `Owner/Name` as stored: trimmed, lower-cased; anything else is refused with the form to use. */
export function normalizeRepo(repo: string): string {
  const name = repo.trim().toLowerCase();
  if (!REPO_PATTERN.test(name) || name.endsWith('/.') || name.endsWith('/..')) {
    throw new DeckhandError(
      'BAD_REQUEST',
      `\`${repo.trim().slice(0, 120)}\` is not a GitHub repository; write it as owner/name.`,
    );
  }
  return name;
}

function openLink(box: SecretBox, doc: PersonLinkDoc): { link: GithubLink; stale: boolean } {
  const opened = box.open(doc.github, doc._id, 'GitHub link');
  let json: unknown;
  try {
    json = JSON.parse(opened.plain);
  } catch {
    json = undefined;
  }
  const parsed = sealedGithub.safeParse(json);
  if (!parsed.success) {
    throw new DeckhandError('STORE_VALIDATION', `The stored GitHub link (${doc._id}) is damaged.`);
  }
  return { link: { ...parsed.data, linkedAt: doc.linkedAt }, stale: opened.stale };
}

export function accessRepo(models: Models, box: SecretBox) {
  const { PersonLink, Membership, RepoConnection } = models;

  return {
    /** Links a chat account to a proven GitHub account, replacing an earlier link of that account. */
    async linkGithub(account: AccountKey, github: { login: string; githubId: number }): Promise<GithubLink> {
      const value = sealedGithub.parse({ login: github.login, githubId: github.githubId });
      const id = personLinkId(account);
      const linkedAt = new Date();
      await guard('PersonLink', () =>
        PersonLink.updateOne(
          { _id: id },
          {
            $set: {
              platform: account.platform,
              workspaceId: account.workspaceId,
              userId: account.userId,
              github: box.seal(JSON.stringify(value), id),
              linkedAt,
            },
          },
          { upsert: true, runValidators: true },
        ),
      );
      return { ...value, linkedAt };
    },

    /**
     * The GitHub account a chat account proved, if any. A link stored in plain text or under a
     * previous key is sealed again under the current key as it is read (best effort).
     */
    async githubLinkOf(account: AccountKey): Promise<GithubLink | undefined> {
      const doc = await PersonLink.findById(personLinkId(account)).lean<PersonLinkDoc>();
      if (!doc) return undefined;
      const { link, stale } = openLink(box, doc);
      if (stale) {
        const sealed = box.seal(JSON.stringify({ login: link.login, githubId: link.githubId }), doc._id);
        // Only if unchanged since read, so a concurrent relink wins.
        await PersonLink.updateOne({ _id: doc._id, github: doc.github }, { $set: { github: sealed } }).catch(
          () => undefined,
        );
      }
      return link;
    },

    /** Forgets an account's GitHub link; true when there was one. */
    async unlinkGithub(account: AccountKey): Promise<boolean> {
      const result = await PersonLink.deleteOne({ _id: personLinkId(account) });
      return result.deletedCount === 1;
    },

    /** Gives `userId` the role `role` in the workspace (replacing any earlier role). */
    async setRole(
      workspace: WorkspaceKey,
      userId: string,
      role: WorkspaceRole,
      grantedBy: string,
    ): Promise<void> {
      const id = membershipId(workspace.platform, workspace.workspaceId, userId);
      await guard('Membership', () =>
        Membership.updateOne(
          { _id: id },
          {
            $set: {
              platform: workspace.platform,
              workspaceId: workspace.workspaceId,
              userId,
              role,
              grantedBy,
            },
          },
          { upsert: true, runValidators: true },
        ),
      );
    },

    async roleOf(workspace: WorkspaceKey, userId: string): Promise<WorkspaceRole | undefined> {
      const id = membershipId(workspace.platform, workspace.workspaceId, userId);
      const doc = await Membership.findById(id).lean<MembershipDoc>();
      return doc?.role;
    },

    /** Every role granted in the workspace, by user id. */
    async listRoles(workspace: WorkspaceKey): Promise<RoleGrant[]> {
      const docs = await Membership.find({
        platform: workspace.platform,
        workspaceId: workspace.workspaceId,
      }).lean<MembershipDoc[]>();
      return docs
        .map((doc) => ({
          userId: doc.userId,
          role: doc.role,
          grantedBy: doc.grantedBy,
          updatedAt: doc.updatedAt,
        }))
        .sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
    },

    /** Connects `owner/name` to the workspace; true when newly connected, false when it already was. */
    async connectRepo(workspace: WorkspaceKey, repo: string, connectedBy: string): Promise<boolean> {
      const name = normalizeRepo(repo);
      try {
        await RepoConnection.create({
          _id: repoConnectionId(workspace.platform, workspace.workspaceId, name),
          platform: workspace.platform,
          workspaceId: workspace.workspaceId,
          repo: name,
          connectedBy,
        });
        return true;
      } catch (error) {
        if (isDuplicateKeyError(error)) return false;
        throw toStoreError(error, 'RepoConnection');
      }
    },

    /** True when the repository was connected to the workspace and no longer is. */
    async disconnectRepo(workspace: WorkspaceKey, repo: string): Promise<boolean> {
      const name = normalizeRepo(repo);
      const result = await RepoConnection.deleteOne({
        _id: repoConnectionId(workspace.platform, workspace.workspaceId, name),
      });
      return result.deletedCount === 1;
    },

    /** The workspace's repositories, `owner/name` lower-cased, sorted. */
    async connectedRepos(workspace: WorkspaceKey): Promise<string[]> {
      const docs = await RepoConnection.find(
        { platform: workspace.platform, workspaceId: workspace.workspaceId },
        { repo: 1 },
      ).lean<Array<{ repo: string }>>();
      return docs.map((doc) => doc.repo).sort();
    },

    /** Whether `owner/name` (any case) is connected to the workspace; a malformed name is not. */
    async isRepoConnected(workspace: WorkspaceKey, repo: string): Promise<boolean> {
      let name: string;
      try {
        name = normalizeRepo(repo);
      } catch {
        return false;
      }
      const id = repoConnectionId(workspace.platform, workspace.workspaceId, name);
      return (await RepoConnection.exists({ _id: id })) !== null;
    },
  };
}
