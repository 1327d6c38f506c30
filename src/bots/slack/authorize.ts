/**
 * Which bot token serves a Slack workspace: the installation the OAuth flow stored for it (or for
 * its Enterprise Grid org), else the single-workspace SLACK_BOT_TOKEN. Shaped as Bolt's `authorize`
 * so a Bolt App given it (instead of `token`) starts without calling Slack, and used by the reply
 * sinks for the same answer.
 */
import type { Authorize, AuthorizeResult } from '@slack/bolt';
import { DeckhandError } from '../../core/index.js';
import type { Store } from '../../store/index.js';

export interface SlackAuthorizeDeps {
  installations?: Pick<Store, 'findInstallation'> | undefined;
  /** SLACK_BOT_TOKEN: serves any workspace without an installation of its own. */
  botToken?: string | undefined;
}

export async function authorizeSlackWorkspace(
  deps: SlackAuthorizeDeps,
  query: { teamId?: string | undefined; enterpriseId?: string | undefined },
): Promise<AuthorizeResult> {
  const installed = deps.installations ? await deps.installations.findInstallation('slack', query) : null;
  if (installed) {
    return {
      botToken: installed.botToken,
      ...(installed.botId ? { botId: installed.botId } : {}),
      ...(installed.botUserId ? { botUserId: installed.botUserId } : {}),
      ...(installed.teamId ? { teamId: installed.teamId } : {}),
      ...(installed.enterpriseId ? { enterpriseId: installed.enterpriseId } : {}),
    };
  }
  if (deps.botToken) return { botToken: deps.botToken };
  throw new DeckhandError(
    'CONFIG_MISSING',
    `Deckhand is not installed in Slack workspace ${query.teamId ?? query.enterpriseId ?? '(unknown)'}: install it through /slack/install, or set SLACK_BOT_TOKEN for a single workspace.`,
  );
}

export function createSlackAuthorize(deps: SlackAuthorizeDeps): Authorize<boolean> {
  return (source) =>
    authorizeSlackWorkspace(deps, { teamId: source.teamId, enterpriseId: source.enterpriseId });
}
