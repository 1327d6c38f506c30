/**
 * What the agent needs from the GitHub and scheduler modules. Those are built separately; the
 * integrator passes implementations to orchestratorFromConfig. A tool is offered only when its port is.
 */

/** Who is asking, as the platform knows them (named in commits and pull requests). */
export interface ToolActor {
  platform: string;
  workspaceId: string;
  userId: string;
  userName?: string;
}

export type RepoPermission = 'admin' | 'maintain' | 'write' | 'triage' | 'read' | 'none';

export interface FileChange {
  path: string;
  /** The new content; null deletes the file. */
  content: string | null;
}

export interface GithubToolPort {
  readFile(repo: string, path: string, ref?: string): Promise<{ content: string; ref: string }>;
  searchCode(repo: string, query: string): Promise<Array<{ path: string; line?: number; snippet: string }>>;
  listFiles(repo: string, path: string, ref?: string): Promise<Array<{ path: string; type: 'file' | 'dir' }>>;
  openPullRequest(input: {
    repo: string;
    title: string;
    body: string;
    base?: string;
    branch: string;
    changes: FileChange[];
    actor: ToolActor;
  }): Promise<{ url: string; number: number }>;
  activity(repo: string, sinceIso: string): Promise<string>;
  /**
   * A GitHub login's permission on the repository (the login a chat account is linked to, or a
   * GitHub actor's own), asked with Deckhand's GitHub client; 'none' when GitHub does not know it there.
   */
  permissionOf(repo: string, login: string, installationId?: string): Promise<RepoPermission>;
}

export interface ScheduleSummary {
  name: string;
  cron: string;
  timezone: string;
  channelId: string;
  nextRunAt?: string;
}

export interface SchedulerToolPort {
  scheduleDigest(input: {
    name: string;
    cron: string;
    timezone: string;
    repos: string[];
    channelId: string;
    actor: ToolActor;
  }): Promise<ScheduleSummary>;
  listSchedules(workspace: { platform: string; workspaceId: string }): Promise<ScheduleSummary[]>;
}
