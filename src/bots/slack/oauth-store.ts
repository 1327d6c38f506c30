/**
 * What `@slack/oauth` stores, kept in Deckhand's store: an InstallationStore over the installations
 * repository (tokens sealed there with the secret box), and the uninstall path. A workspace that
 * uninstalls Deckhand or revokes its tokens (`app_uninstalled`, `tokens_revoked`) loses its
 * installation, so its dead token is never tried again.
 */
import type { Installation, InstallationQuery, InstallationStore } from '@slack/oauth';
import { z } from 'zod';
import { DeckhandError, type Logger } from '../../core/index.js';
import type { InstallationRecord, Store } from '../../store/index.js';

type InstallationsRepo = Pick<
  Store,
  'saveInstallation' | 'findInstallation' | 'deleteInstallation' | 'listRoles' | 'setRole'
>;

const named = z.object({ id: z.string().min(1), name: z.string().optional() });

/** What `raw` keeps of the SDK's installation: descriptive fields only, never a token. */
const rawSchema = z
  .object({
    team: named.nullish(),
    enterprise: named.nullish(),
    isEnterpriseInstall: z.boolean().optional(),
    enterpriseUrl: z.string().optional(),
  })
  .catch({});

/** The installation `@slack/oauth` built from Slack's answer: checked before it is stored. */
const installedSchema = z.object({
  team: named.nullish(),
  enterprise: named.nullish(),
  user: z.object({ id: z.string().optional() }).partial().optional(),
  bot: z.object(
    {
      token: z.string().min(1),
      refreshToken: z.string().min(1).optional(),
      expiresAt: z.number().positive().optional(),
      scopes: z.array(z.string()).default([]),
      id: z.string().optional(),
      userId: z.string().optional(),
    },
    { error: 'Slack granted no bot token' },
  ),
  appId: z.string().optional(),
  enterpriseUrl: z.string().optional(),
  isEnterpriseInstall: z.boolean().optional(),
});

function toInstallation(record: InstallationRecord): Installation<'v2', boolean> {
  const raw = rawSchema.parse(record.raw ?? {});
  const enterpriseWide = raw.isEnterpriseInstall === true || (!record.teamId && !!record.enterpriseId);
  const expiresAt = record.tokenExpiresAt
    ? Math.floor(new Date(record.tokenExpiresAt).getTime() / 1000)
    : undefined;
  return {
    team: record.teamId
      ? { id: record.teamId, ...(raw.team?.name ? { name: raw.team.name } : {}) }
      : undefined,
    enterprise: record.enterpriseId
      ? { id: record.enterpriseId, ...(raw.enterprise?.name ? { name: raw.enterprise.name } : {}) }
      : undefined,
    user: { token: undefined, scopes: undefined, id: record.installedBy ?? '' },
    bot: {
      token: record.botToken,
      scopes: record.botScopes,
      id: record.botId ?? '',
      userId: record.botUserId ?? '',
      ...(record.refreshToken ? { refreshToken: record.refreshToken } : {}),
      ...(expiresAt !== undefined ? { expiresAt } : {}),
    },
    ...(record.appId ? { appId: record.appId } : {}),
    ...(raw.enterpriseUrl ? { enterpriseUrl: raw.enterpriseUrl } : {}),
    tokenType: 'bot',
    isEnterpriseInstall: enterpriseWide,
    authVersion: 'v2',
  };
}

function keyOf(query: InstallationQuery<boolean>): { teamId?: string; enterpriseId?: string } {
  if (query.isEnterpriseInstall) return query.enterpriseId ? { enterpriseId: query.enterpriseId } : {};
  return {
    ...(query.teamId ? { teamId: query.teamId } : {}),
    ...(query.enterpriseId ? { enterpriseId: query.enterpriseId } : {}),
  };
}

/** The first person to install Deckhand in a workspace owns it there (until someone is made owner). */
async function firstInstallerOwns(
  store: InstallationsRepo,
  teamId: string | undefined,
  userId: string | undefined,
): Promise<void> {
  if (!teamId || !userId) return;
  const workspace = { platform: 'slack' as const, workspaceId: teamId };
  const roles = await store.listRoles(workspace);
  if (roles.some((grant) => grant.role === 'owner')) return;
  await store.setRole(workspace, userId, 'owner', 'slack:install');
}

/** `@slack/oauth`'s InstallationStore, backed by the installations repository. */
export function createSlackInstallationStore(store: InstallationsRepo): InstallationStore {
  return {
    async storeInstallation(given) {
      const parsed = installedSchema.safeParse(given);
      if (!parsed.success) {
        throw new DeckhandError(
          'BAD_REQUEST',
          'Slack granted no bot token: add the bot scopes to the app and install again.',
          { detail: parsed.error.issues.map((issue) => issue.path.join('.')).join(', ') },
        );
      }
      const installation = parsed.data;
      const bot = installation.bot;
      const enterpriseWide = installation.isEnterpriseInstall === true;
      await store.saveInstallation({
        platform: 'slack',
        teamId: enterpriseWide ? undefined : installation.team?.id,
        enterpriseId: installation.enterprise?.id,
        appId: installation.appId,
        botUserId: bot.userId || undefined,
        botId: bot.id || undefined,
        botToken: bot.token,
        refreshToken: bot.refreshToken,
        tokenExpiresAt: bot.expiresAt ? new Date(bot.expiresAt * 1000) : undefined,
        botScopes: bot.scopes,
        installedBy: installation.user?.id || undefined,
        raw: {
          team: installation.team ?? null,
          enterprise: installation.enterprise ?? null,
          isEnterpriseInstall: enterpriseWide,
          ...(installation.enterpriseUrl ? { enterpriseUrl: installation.enterpriseUrl } : {}),
        },
      });
      await firstInstallerOwns(
        store,
        enterpriseWide ? undefined : installation.team?.id,
        installation.user?.id,
      );
    },

    async fetchInstallation(query) {
      const record = await store.findInstallation('slack', keyOf(query));
      if (!record) {
        throw new DeckhandError(
          'NOT_FOUND',
          `Deckhand is not installed in Slack workspace ${query.teamId ?? query.enterpriseId ?? '(unknown)'}.`,
        );
      }
      return toInstallation(record);
    },

    async deleteInstallation(query) {
      await store.deleteInstallation('slack', keyOf(query));
    },
  };
}

/**
 * Forgets a workspace's installation after `app_uninstalled` or `tokens_revoked` (bot tokens): its
 * tokens no longer work, and SLACK_BOT_TOKEN (if set) serves it from now on. An org-wide install is
 * forgotten when the event names the org and no team. True when an installation was removed.
 */
export async function forgetSlackInstallation(
  store: Pick<Store, 'deleteInstallation'>,
  teamId: string | undefined,
  enterpriseId?: string | undefined,
  logger?: Pick<Logger, 'info'>,
): Promise<boolean> {
  if (!teamId && !enterpriseId) return false;
  const removed = await store.deleteInstallation('slack', {
    ...(teamId ? { teamId } : {}),
    ...(enterpriseId ? { enterpriseId } : {}),
  });
  if (removed) logger?.info({ team: teamId, enterprise: enterpriseId }, 'Slack installation forgotten');
  return removed;
}

const uninstallSchema = z.object({
  type: z.literal('event_callback'),
  team_id: z.string().nullish(),
  enterprise_id: z.string().nullish(),
  authorizations: z.array(z.object({ is_enterprise_install: z.boolean().optional() }).loose()).optional(),
  event: z.discriminatedUnion('type', [
    z.object({ type: z.literal('app_uninstalled') }).loose(),
    z
      .object({
        type: z.literal('tokens_revoked'),
        tokens: z.object({ bot: z.array(z.string()).optional() }).loose(),
      })
      .loose(),
  ]),
});

/**
 * For a verified Events API body (HTTP or Socket Mode payload): when it is `app_uninstalled`, or
 * `tokens_revoked` naming bot tokens, forgets the workspace's installation (the org's, for an
 * org-wide install) and returns true; any other body returns false and changes nothing.
 */
export async function forgetUninstalledSlackWorkspace(
  store: Pick<Store, 'deleteInstallation'>,
  body: unknown,
  logger?: Pick<Logger, 'info'>,
): Promise<boolean> {
  const parsed = uninstallSchema.safeParse(body);
  if (!parsed.success) return false;
  const { event, team_id: teamId, enterprise_id: enterpriseId } = parsed.data;
  if (event.type === 'tokens_revoked' && (event.tokens.bot ?? []).length === 0) return false;
  const orgWide = parsed.data.authorizations?.some((entry) => entry.is_enterprise_install) ?? false;
  if (orgWide && enterpriseId) await forgetSlackInstallation(store, undefined, enterpriseId, logger);
  else await forgetSlackInstallation(store, teamId ?? undefined, enterpriseId ?? undefined, logger);
  return true;
}
