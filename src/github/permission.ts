/**
 * A GitHub login's role on a repository, as GET /repos/{owner}/{repo}/collaborators/{username}/permission
 * says: the fact the one policy (src/core/policy.ts) decides GitHub actions and repository tools from.
 */
import { z } from 'zod';
import { DeckhandError } from '../core/index.js';
import type { GitHubOctokitClient } from './access.js';

const permissionSchema = z.object({
  // `permission` is the legacy level (admin, write, read, none); `role_name` also knows maintain/triage.
  permission: z.string(),
  role_name: z.string().optional(),
});

/** The user's role on the repository ('none' when GitHub does not know them there). */
export async function repositoryRole(
  octokit: GitHubOctokitClient,
  owner: string,
  repo: string,
  username: string,
): Promise<string> {
  try {
    const { data } = await octokit.request('GET /repos/{owner}/{repo}/collaborators/{username}/permission', {
      owner,
      repo,
      username,
    });
    const parsed = permissionSchema.safeParse(data);
    if (!parsed.success) {
      throw new DeckhandError('UPSTREAM_FAILED', 'GitHub answered the permission check with nonsense.', {
        detail: parsed.error.message,
      });
    }
    return parsed.data.role_name || parsed.data.permission;
  } catch (error) {
    if ((error as { status?: unknown }).status === 404) return 'none';
    throw error;
  }
}
