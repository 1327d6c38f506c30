/**
 * The repository tools the agent orchestrator offers (src/agents/tools/ports.ts GithubToolPort),
 * over GitHub: read, list and search files, repository activity, a GitHub login's permission, and
 * a pull request from explicit file changes (cloned, committed and pushed on the host like the
 * mention flow, never in a sandbox). Shaped to fit that port without importing src/agents.
 */
import { posix } from 'node:path';
import { z } from 'zod';
import { type Config, DeckhandError } from '../core/index.js';
import type { GitHubAccess, GitHubOctokitClient } from './access.js';
import { collectRepoActivity } from './activity.js';
import { botLoginOf } from './change.js';
import {
  cloneBranch,
  commitAll,
  createWorkspace,
  pushBranch,
  remoteBranches,
  removeWorkspace,
} from './git.js';
import { repositoryRole } from './permission.js';
import { defaultBranch, openPull } from './pulls.js';
import { applyFileChange } from './safe-write.js';

export type RepoPermission = 'admin' | 'maintain' | 'write' | 'triage' | 'read' | 'none';

export interface ToolActorLike {
  platform: string;
  workspaceId: string;
  userId: string;
  userName?: string;
}

export interface GitHubToolPortDeps {
  access: GitHubAccess;
  settings: Config['github'];
}

const REPO = /^([\w.-]+)\/([\w.-]+)$/;
const PERMISSIONS = new Set<string>(['admin', 'maintain', 'write', 'triage', 'read', 'none']);
const MAX_FILE_BYTES = 1_000_000;

const fileSchema = z.object({
  type: z.string(),
  content: z.string().optional(),
  encoding: z.string().optional(),
});
const entrySchema = z.object({ path: z.string(), type: z.string() });
const searchSchema = z.object({
  items: z.array(
    z.object({
      path: z.string(),
      text_matches: z.array(z.object({ fragment: z.string().optional() })).optional(),
    }),
  ),
});

function split(repo: string): { owner: string; repo: string } {
  const match = REPO.exec(repo);
  if (!match)
    throw new DeckhandError('BAD_REQUEST', `"${repo}" is not a repository; write it as owner/name.`);
  return { owner: match[1]!, repo: match[2]! };
}

/** A path inside the repository, or a BAD_REQUEST naming it. */
function inside(path: string): string {
  const normalized = posix.normalize(path.replace(/^\/+/, ''));
  if (
    !normalized ||
    normalized === '.' ||
    normalized.startsWith('..') ||
    normalized.split('/').includes('.git')
  ) {
    throw new DeckhandError('BAD_REQUEST', `"${path}" is not a file path inside the repository.`);
  }
  return normalized;
}

function notFound(error: unknown, what: string): never {
  if ((error as { status?: unknown }).status === 404)
    throw new DeckhandError('NOT_FOUND', `${what} was not found.`);
  throw error;
}

export function createGitHubToolPort(deps: GitHubToolPortDeps) {
  const { access, settings } = deps;

  async function clientFor(repo: string): Promise<{
    octokit: GitHubOctokitClient;
    installationId: string;
    where: { owner: string; repo: string };
  }> {
    const where = split(repo);
    const installationId = await access.installationIdFor(where.owner, where.repo);
    return { where, installationId, octokit: await access.octokit(installationId) };
  }

  return {
    async readFile(repo: string, path: string, ref?: string): Promise<{ content: string; ref: string }> {
      const file = inside(path);
      const { octokit, where } = await clientFor(repo);
      const at = ref ?? (await defaultBranch(octokit, where));
      const { data } = await octokit
        .request('GET /repos/{owner}/{repo}/contents/{path}', {
          owner: where.owner,
          repo: where.repo,
          path: file,
          ref: at,
        })
        .catch((error: unknown) => notFound(error, `${repo}:${path}`));
      const found = fileSchema.safeParse(data);
      if (!found.success || found.data.type !== 'file' || found.data.content === undefined) {
        throw new DeckhandError('BAD_REQUEST', `${repo}:${path} is not a file (list it instead).`);
      }
      const bytes = Buffer.from(found.data.content, 'base64');
      if (bytes.length > MAX_FILE_BYTES) {
        throw new DeckhandError(
          'PAYLOAD_TOO_LARGE',
          `${repo}:${path} is larger than ${MAX_FILE_BYTES} bytes.`,
        );
      }
      return { content: bytes.toString('utf8'), ref: at };
    },

    async listFiles(
      repo: string,
      path: string,
      ref?: string,
    ): Promise<Array<{ path: string; type: 'file' | 'dir' }>> {
      const { octokit, where } = await clientFor(repo);
      const dir = path.replace(/^\/+|\/+$/g, '');
      const { data } = await octokit
        .request('GET /repos/{owner}/{repo}/contents/{path}', {
          owner: where.owner,
          repo: where.repo,
          path: dir ? inside(dir) : '',
          ...(ref ? { ref } : {}),
        })
        .catch((error: unknown) => notFound(error, `${repo}:${path || '/'}`));
      const entries = z.array(entrySchema).safeParse(data);
      if (!entries.success)
        throw new DeckhandError('BAD_REQUEST', `${repo}:${path} is a file, not a folder.`);
      return entries.data.map((e) => ({ path: e.path, type: e.type === 'dir' ? 'dir' : 'file' }));
    },

    async searchCode(repo: string, query: string): Promise<Array<{ path: string; snippet: string }>> {
      const { octokit, where } = await clientFor(repo);
      const { owner, repo: name } = where;
      const { data } = await octokit.request('GET /search/code', {
        q: `${query} repo:${owner}/${name}`,
        per_page: 20,
        headers: { accept: 'application/vnd.github.text-match+json' },
      });
      const parsed = searchSchema.safeParse(data);
      if (!parsed.success)
        throw new DeckhandError('UPSTREAM_FAILED', 'GitHub’s code search answer could not be read.');
      return parsed.data.items.map((item) => ({
        path: item.path,
        snippet: (item.text_matches ?? [])
          .map((m) => m.fragment ?? '')
          .join('\n…\n')
          .slice(0, 500),
      }));
    },

    async activity(repo: string, sinceIso: string): Promise<string> {
      const { octokit } = await clientFor(repo);
      const found = await collectRepoActivity(octokit, repo, {
        since: new Date(sinceIso),
        until: new Date(),
      });
      if (found.error) return found.error;
      const list = (items: { number: number; title: string; author: string }[]) =>
        items.length ? items.map((i) => `#${i.number} ${i.title} (@${i.author})`).join('; ') : 'none';
      return [
        `merged: ${list(found.merged)}`,
        `waiting for review: ${list(found.waitingForReview)}`,
        `issues opened: ${list(found.openedIssues)}`,
        `issues closed: ${list(found.closedIssues)}`,
        `failing checks on ${found.defaultBranch}: ${found.failingChecks.length ? found.failingChecks.map((c) => c.name).join(', ') : 'none'}`,
      ].join('\n');
    },

    /**
     * A GitHub login's permission on the repository, asked with Deckhand's own client (the App
     * installation's, or the token's), whichever platform the asker came from: the caller passes the
     * login a chat account is linked to. 'none' when GitHub does not know the login there.
     */
    /** `installationId`: the installation a GitHub event came from (no lookup needed). */
    async permissionOf(repo: string, login: string, installationId?: string): Promise<RepoPermission> {
      const where = split(repo);
      const octokit = await access.octokit(
        installationId ?? (await access.installationIdFor(where.owner, where.repo)),
      );
      const role = await repositoryRole(octokit, where.owner, where.repo, login);
      return PERMISSIONS.has(role) ? (role as RepoPermission) : 'none';
    },

    async openPullRequest(input: {
      repo: string;
      title: string;
      body: string;
      base?: string;
      branch: string;
      changes: Array<{ path: string; content: string | null }>;
      actor: ToolActorLike;
    }): Promise<{ url: string; number: number }> {
      const changes = input.changes.map((change) => ({ ...change, path: inside(change.path) }));
      const { octokit, installationId, where } = await clientFor(input.repo);
      const base = input.base ?? (await defaultBranch(octokit, where));
      const remote = {
        url: `${settings.cloneBaseUrl.replace(/\/+$/, '')}/${where.owner}/${where.repo}.git`,
        token: await access.gitToken(installationId),
      };
      if ((await remoteBranches(remote, input.branch)).includes(input.branch)) {
        throw new DeckhandError(
          'BAD_REQUEST',
          `Branch ${input.branch} already exists in ${input.repo}; choose another name.`,
        );
      }
      const ws = await createWorkspace(settings.workspaceDir);
      try {
        await cloneBranch(ws, remote, base);
        // Never through a link: the repository may hold links pointing anywhere on this host.
        for (const change of changes) await applyFileChange(ws.workDir, change.path, change.content);
        const bot = `${botLoginOf(settings)}[bot]`;
        const who = input.actor.userName ?? input.actor.userId;
        await commitAll(
          ws,
          {
            name: settings.commitName || bot,
            email: settings.commitEmail || `${bot}@users.noreply.github.com`,
          },
          `${input.title}\n\nRequested by ${who} on ${input.actor.platform}.`,
        );
        await pushBranch(ws, remote, input.branch);
        const { pull } = await openPull(octokit, where, {
          title: input.title,
          body: `${input.body}\n\nRequested by ${who} on ${input.actor.platform}, through Deckhand.`.trim(),
          head: input.branch,
          base,
          draft: settings.draftPullRequests,
        });
        return { url: pull.html_url, number: pull.number };
      } finally {
        await removeWorkspace(ws).catch(() => undefined);
      }
    },
  };
}

export type GitHubToolPort = ReturnType<typeof createGitHubToolPort>;
