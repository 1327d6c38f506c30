/**
 * The facts access decisions are made from, kept in the store: a chat account's proven GitHub
 * account (sealed at rest when DECKHAND_SECRET_KEY is set), roles per workspace, and the
 * repositories connected to each workspace (per workspace, case-insensitive, connected once).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountKey, Store } from '../../src/store/index.js';
import { dropTestStore, openTestStore } from '../support/store.js';

const KEY = 'an-example-key-for-tests-only-not-for-use';
let store: Store;
beforeAll(async () => {
  store = await openTestStore({ secretKey: KEY });
});
afterAll(() => dropTestStore(store));

const ada: AccountKey = { platform: 'slack', workspaceId: 'T0ACCESS', userId: 'U0ADA' };
const teamA = { platform: 'slack', workspaceId: 'T0AAA' } as const;
const teamB = { platform: 'slack', workspaceId: 'T0BBB' } as const;

describe('GitHub links', () => {
  it('reads back the GitHub account a chat account linked', async () => {
    const link = await store.linkGithub(ada, { login: 'ada-lovelace', githubId: 1815 });
    expect(link).toMatchObject({ login: 'ada-lovelace', githubId: 1815 });
    expect(await store.githubLinkOf(ada)).toEqual(link);
    expect(await store.githubLinkOf({ ...ada, workspaceId: 'T0OTHER' })).toBeUndefined();
  });

  it('does not store the login in clear text when a secret key is set', async () => {
    const account: AccountKey = { platform: 'discord', workspaceId: 'dm', userId: '4242' };
    await store.linkGithub(account, { login: 'grace-hopper', githubId: 1906 });
    const raw = await store.models.PersonLink.collection.find({ userId: '4242' }).toArray();
    expect(raw).toHaveLength(1);
    expect(JSON.stringify(raw)).not.toContain('grace-hopper');
    expect(JSON.stringify(raw)).not.toContain('1906');
    expect(String(raw[0]?.github)).toMatch(/^enc:v2:/);
    expect((await store.githubLinkOf(account))?.login).toBe('grace-hopper');
  });

  it('replaces an earlier link when the account links again', async () => {
    const account: AccountKey = { platform: 'terminal', workspaceId: 'local', userId: 'me' };
    await store.linkGithub(account, { login: 'first', githubId: 1 });
    await store.linkGithub(account, { login: 'second', githubId: 2 });
    expect(await store.githubLinkOf(account)).toMatchObject({ login: 'second', githubId: 2 });
    expect(await store.models.PersonLink.countDocuments({ userId: 'me' })).toBe(1);
  });

  it('forgets a link on unlink, and says whether there was one', async () => {
    const account: AccountKey = { platform: 'slack', workspaceId: 'T0ACCESS', userId: 'U0GONE' };
    await store.linkGithub(account, { login: 'leaving', githubId: 77 });
    expect(await store.unlinkGithub(account)).toBe(true);
    expect(await store.githubLinkOf(account)).toBeUndefined();
    expect(await store.unlinkGithub(account)).toBe(false);
  });

  it('reads a link stored in plain text before the key was set, and seals it as it reads it', async () => {
    const plain = JSON.stringify({ login: 'plain-old', githubId: 5 });
    // Written as Deckhand wrote it before a key was set (schema-checked, not sealed).
    await store.models.PersonLink.create({
      _id: 'slack:T0PLAIN:U0OLD',
      platform: 'slack',
      workspaceId: 'T0PLAIN',
      userId: 'U0OLD',
      github: plain,
      linkedAt: new Date(),
    });
    const account: AccountKey = { platform: 'slack', workspaceId: 'T0PLAIN', userId: 'U0OLD' };
    expect(await store.githubLinkOf(account)).toMatchObject({ login: 'plain-old', githubId: 5 });
    const stored = await store.models.PersonLink.findById('slack:T0PLAIN:U0OLD').lean();
    expect(stored?.github).toMatch(/^enc:v2:/);
    expect((await store.githubLinkOf(account))?.login).toBe('plain-old');
  });
});

describe('workspace roles', () => {
  it('upserts a role and lists the roles of a workspace', async () => {
    await store.setRole(teamA, 'U0OWN', 'owner', 'install');
    await store.setRole(teamA, 'U0MEM', 'guest', 'U0OWN');
    await store.setRole(teamA, 'U0MEM', 'member', 'U0OWN');
    await store.setRole(teamB, 'U0MEM', 'admin', 'U0X');
    expect(await store.roleOf(teamA, 'U0MEM')).toBe('member');
    expect(await store.roleOf(teamB, 'U0MEM')).toBe('admin');
    expect(await store.roleOf(teamA, 'U0NOBODY')).toBeUndefined();
    const roles = await store.listRoles(teamA);
    expect(roles.map(({ userId, role, grantedBy }) => ({ userId, role, grantedBy }))).toEqual([
      { userId: 'U0MEM', role: 'member', grantedBy: 'U0OWN' },
      { userId: 'U0OWN', role: 'owner', grantedBy: 'install' },
    ]);
    expect(roles[0]?.updatedAt).toBeInstanceOf(Date);
  });

  it('refuses a role that does not exist', async () => {
    await expect(
      store.setRole(teamA, 'U0BAD', 'emperor' as unknown as 'guest', 'U0OWN'),
    ).rejects.toMatchObject({ code: 'STORE_VALIDATION' });
  });
});

describe('repository connections', () => {
  it('connects a repository once: connecting it again returns false', async () => {
    expect(await store.connectRepo(teamA, 'acme/widgets', 'U0OWN')).toBe(true);
    expect(await store.connectRepo(teamA, 'acme/widgets', 'U0MEM')).toBe(false);
    expect(await store.connectedRepos(teamA)).toEqual(['acme/widgets']);
  });

  it("keeps connections per workspace: workspace A's connection is not B's", async () => {
    await store.connectRepo(teamA, 'acme/only-a', 'U0OWN');
    expect(await store.isRepoConnected(teamA, 'acme/only-a')).toBe(true);
    expect(await store.isRepoConnected(teamB, 'acme/only-a')).toBe(false);
    expect(await store.isRepoConnected({ platform: 'discord', workspaceId: 'T0AAA' }, 'acme/only-a')).toBe(
      false,
    );
    expect(await store.connectedRepos(teamB)).toEqual([]);
  });

  it('treats repository names case-insensitively and stores them lower-cased', async () => {
    expect(await store.connectRepo(teamB, 'Acme/Gadgets', 'U0X')).toBe(true);
    expect(await store.connectRepo(teamB, 'ACME/gadgets', 'U0X')).toBe(false);
    expect(await store.isRepoConnected(teamB, 'acme/GADGETS')).toBe(true);
    expect(await store.connectedRepos(teamB)).toEqual(['acme/gadgets']);
    expect(await store.disconnectRepo(teamB, 'ACME/Gadgets')).toBe(true);
    expect(await store.disconnectRepo(teamB, 'acme/gadgets')).toBe(false);
    expect(await store.isRepoConnected(teamB, 'acme/gadgets')).toBe(false);
  });

  it('lists connected repositories sorted, and refuses a name that is not owner/name', async () => {
    await store.connectRepo(teamA, 'zeta/last', 'U0OWN');
    await store.connectRepo(teamA, 'Alpha/First', 'U0OWN');
    expect(await store.connectedRepos(teamA)).toEqual([
      'acme/only-a',
      'acme/widgets',
      'alpha/first',
      'zeta/last',
    ]);
    await expect(store.connectRepo(teamA, 'not a repo', 'U0OWN')).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    expect(await store.isRepoConnected(teamA, 'nope')).toBe(false);
  });
});
