/**
 * How Deckhand acts on GitHub: as a GitHub App installation (GITHUB_APP_ID + GITHUB_PRIVATE_KEY) or,
 * the simple alternative, with a personal access token (GITHUB_TOKEN). Either way every client is a
 * GitHubOctokit (octokit.ts: retries and throttling, the throttling shared through Redis when given).
 *
 * Installation tokens: @octokit/auth-app caches them per installation for 59 of their 60 minutes and
 * shares that cache between every installation Octokit the App hands out. A token given to git is
 * renewed here when less than GIT_TOKEN_MIN_VALIDITY_MS remains, so a clone or push never starts with
 * a token about to expire.
 */
import { App } from '@octokit/app';
import { type Config, DeckhandError, registerSecret } from '../core/index.js';
import {
  GitHubOctokit,
  type GitHubOctokitClient,
  type GitHubOctokitOptions,
  octokitDefaults,
  throttleId,
} from './octokit.js';

export { GitHubOctokit, type GitHubOctokitClient, type GitHubOctokitOptions } from './octokit.js';

/** A token handed to git must stay valid at least this long; otherwise a new one is made. */
export const GIT_TOKEN_MIN_VALIDITY_MS = 10 * 60_000;

export interface GitHubAccess {
  mode: 'app' | 'token';
  /** An Octokit acting for this installation (the webhook's installation id; ignored with a token). */
  octokit(installationId: string): Promise<GitHubOctokitClient>;
  /** A token for git over HTTPS, valid for at least GIT_TOKEN_MIN_VALIDITY_MS. */
  gitToken(installationId: string): Promise<string>;
  /**
   * The installation that covers a repository, for work that starts outside a webhook (a chat asking
   * for a pull request). 'none' with a personal token.
   */
  installationIdFor(owner: string, repo: string): Promise<string>;
}

export interface GitHubAccessOptions extends GitHubOctokitOptions {
  appId?: string | number | undefined;
  /** PEM; `\n` escapes (common in environment variables) become newlines. */
  privateKey?: string | undefined;
  /** A personal access token, used when there is no App. */
  token?: string | undefined;
  now?: () => number;
}

function installationNumber(installationId: string): number {
  const id = Number(installationId);
  if (!Number.isInteger(id) || id <= 0) {
    throw new DeckhandError(
      'NOT_CONFIGURED',
      'This GitHub event names no App installation, so Deckhand cannot act on it. Install the GitHub App on the repository (or set GITHUB_TOKEN instead of the App).',
    );
  }
  return id;
}

export function createGitHubAccess(options: GitHubAccessOptions): GitHubAccess {
  const now = options.now ?? Date.now;
  if (options.appId && options.privateKey) {
    const app = new App({
      appId: options.appId,
      privateKey: options.privateKey.replace(/\\n/g, '\n'),
      Octokit: GitHubOctokit.defaults(octokitDefaults(options, throttleId(options))),
      log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    });
    const clients = new Map<number, Promise<GitHubOctokitClient>>();
    return {
      mode: 'app',
      async octokit(installationId) {
        const id = installationNumber(installationId);
        let client = clients.get(id);
        if (!client) {
          client = app.getInstallationOctokit(id) as Promise<GitHubOctokitClient>;
          // A failed token request must not be remembered.
          client.catch(() => clients.delete(id));
          clients.set(id, client);
        }
        return client;
      },
      async gitToken(installationId) {
        const installation = installationNumber(installationId);
        const read = async (refresh: boolean) =>
          (await app.octokit.auth({ type: 'installation', installationId: installation, refresh })) as {
            token: string;
            expiresAt: string;
          };
        let auth = await read(false);
        if (Date.parse(auth.expiresAt) - now() < GIT_TOKEN_MIN_VALIDITY_MS) auth = await read(true);
        registerSecret(auth.token);
        return auth.token;
      },
      async installationIdFor(owner, repo) {
        try {
          const { data } = await app.octokit.request('GET /repos/{owner}/{repo}/installation', {
            owner,
            repo,
          });
          return String(data.id);
        } catch (error) {
          if ((error as { status?: unknown }).status !== 404) throw error;
          throw new DeckhandError(
            'NOT_CONFIGURED',
            `The GitHub App is not installed on ${owner}/${repo}. Install it there (repository access in the App's settings) and ask again.`,
          );
        }
      },
    };
  }
  const token = options.token;
  if (token) {
    registerSecret(token);
    const client = new GitHubOctokit({ ...octokitDefaults(options, throttleId({ token })), auth: token });
    return {
      mode: 'token',
      octokit: async () => client,
      gitToken: async () => token,
      installationIdFor: async () => 'none',
    };
  }
  throw new DeckhandError(
    'CONFIG_MISSING',
    'GitHub needs GITHUB_APP_ID and GITHUB_PRIVATE_KEY (a GitHub App), or GITHUB_TOKEN (a personal access token).',
  );
}

/** The App when its id and key are set, else the personal token; undefined when neither is. */
export function githubAccessFromConfig(
  config: Config,
  extra: Pick<GitHubAccessOptions, 'logger' | 'throttle' | 'retry' | 'redis'> = {},
): GitHubAccess | undefined {
  const { GITHUB_APP_ID, GITHUB_PRIVATE_KEY, GITHUB_TOKEN } = config.secrets;
  const app = Boolean(GITHUB_APP_ID && GITHUB_PRIVATE_KEY);
  if (!app && !GITHUB_TOKEN) return undefined;
  return createGitHubAccess({
    ...extra,
    ...(app ? { appId: GITHUB_APP_ID, privateKey: GITHUB_PRIVATE_KEY } : { token: GITHUB_TOKEN }),
    baseUrl: config.github.apiUrl || undefined,
  });
}

/**
 * The tracking-comment sink's client (sink.ts GitHubClient) for one installation. The sink retries on
 * its own, so Octokit's retry plugin is off for its calls; throttling still spaces and waits them.
 */
export function sinkClientFor(access: GitHubAccess, installationId: string) {
  return {
    async request(route: string, params: object): Promise<{ data: unknown }> {
      const octokit = await access.octokit(installationId);
      const response = await octokit.request(route, { ...params, request: { retries: 0 } });
      return { data: response.data as unknown };
    },
  };
}
