/**
 * Adapters from the other modules to what the scheduler asks for, so `deckhand start` wires digests
 * to the same GitHub access as mentions and to the agent's digest writer.
 */
import type { Octokit } from '@octokit/rest';
import type { Agent } from '../agents/index.js';
import type { GitHubAccess } from '../github/index.js';
import type { DigestFacts, Summarise } from './compose.js';

/** Reads each repository through its App installation, or through GITHUB_TOKEN. */
export function githubOctokitFor(access: GitHubAccess): (repo: string) => Promise<Octokit> {
  return async (repo) => {
    const [owner = '', name = ''] = repo.split('/');
    const installation = await access.installationIdFor(owner, name);
    // Same REST surface (both are @octokit/core with the REST endpoint methods).
    return (await access.octokit(installation)) as unknown as Octokit;
  };
}

/** The digest's facts, as the model reads them: the activity, not the rendering. */
function factsForModel(facts: DigestFacts): string {
  return JSON.stringify({
    digest: facts.name,
    timezone: facts.timezone,
    since: facts.since.toISOString(),
    until: facts.until.toISOString(),
    repositories: facts.repos,
  });
}

export function digestSummariser(agent: Pick<Agent, 'summariseDigest'>): Summarise {
  return (facts) =>
    agent.summariseDigest({
      name: facts.name,
      ...(facts.destination ?? { platform: 'terminal', workspaceId: 'local', channelId: 'digests' }),
      facts: factsForModel(facts),
    });
}
