/**
 * The one policy as a table: every action x role x linked/unlinked x GitHub permission x
 * connected/unconnected repository, against the default rules the README's "Who may do what" table
 * states. Each row of TABLE below is that README row; the test walks every combination and checks the
 * decision and, for a refusal, which fact it names first (role, then link, connection, permission).
 * The special cases (cancel, grants, MCP servers, approvals, GitHub wording) follow as named rows.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MIN_ROLE,
  decide,
  GITHUB_PERMISSIONS,
  type GitHubPermission,
  type PolicyAction,
  type PolicyRules,
  type Requester,
  ROLES,
  type Role,
} from '../../src/core/index.js';

const RULES: PolicyRules = {
  minRole: { ...DEFAULT_MIN_ROLE },
  codeRun: { channels: [], users: [] },
  approvals: {},
};

/** The README table: least role, and whether the action needs a linked login, a connected repo, a permission. */
const TABLE: Array<{
  action: PolicyAction;
  role: Role;
  link?: true;
  connected?: true;
  permission?: GitHubPermission;
}> = [
  { action: 'ask', role: 'guest' },
  { action: 'run', role: 'member' },
  { action: 'digest.change', role: 'member' },
  { action: 'digest.list', role: 'guest' },
  { action: 'repo.read', role: 'member', link: true, connected: true, permission: 'read' },
  { action: 'repo.write', role: 'member', link: true, connected: true, permission: 'write' },
  { action: 'repos.connect', role: 'admin', link: true, permission: 'read' },
  { action: 'repos.disconnect', role: 'admin' },
  { action: 'audit.read', role: 'admin' },
];

function requester(role: Role, linked: boolean): Requester {
  return {
    platform: 'slack',
    workspaceId: 'T1',
    userId: 'U1',
    channelId: 'C1',
    role,
    ...(linked ? { githubLogin: 'octo' } : {}),
  };
}

const atLeast = (have: Role, need: Role) => ROLES.indexOf(have) >= ROLES.indexOf(need);
const permits = (have: GitHubPermission, need: GitHubPermission) =>
  GITHUB_PERMISSIONS.indexOf(have) >= GITHUB_PERMISSIONS.indexOf(need);

describe('the default policy table', () => {
  for (const row of TABLE) {
    it(`${row.action}: ${row.role} and above${row.link ? ', linked' : ''}${row.connected ? ', connected repo' : ''}${row.permission ? `, ${row.permission} on GitHub` : ''}`, () => {
      let cases = 0;
      for (const role of ROLES)
        for (const linked of [false, true])
          for (const permission of GITHUB_PERMISSIONS)
            for (const connected of [false, true]) {
              // An unlinked person has no GitHub permission the policy could see.
              const seen = linked ? permission : 'none';
              const decision = decide(
                row.action,
                requester(role, linked),
                { repo: { name: 'org/app', connected, permission: seen } },
                RULES,
              );
              const missing = !atLeast(role, row.role)
                ? 'role'
                : row.link && !linked
                  ? 'link'
                  : row.connected && !connected
                    ? 'connection'
                    : row.permission && !permits(seen, row.permission)
                      ? 'permission'
                      : undefined;
              const label = `${role} linked=${linked} ${permission} connected=${connected}`;
              if (missing === undefined) expect(decision, label).toEqual({ allowed: true });
              else expect(decision, label).toMatchObject({ allowed: false, missing });
              cases++;
            }
      expect(cases).toBe(ROLES.length * 2 * GITHUB_PERMISSIONS.length * 2);
    });
  }
});

describe('refusals say what is missing and how to get it', () => {
  const repo = { name: 'org/app', connected: true, permission: 'write' as const };

  it('a guest is told the role and the command that grants it', () => {
    const decision = decide('run', requester('guest', false), {}, RULES);
    expect(decision).toEqual({
      allowed: false,
      missing: 'role',
      reason:
        'You need the member role in this workspace to run code (yours: guest); a workspace admin can grant it with `role @you member`.',
    });
  });

  it('an unlinked member is told to link GitHub', () => {
    const decision = decide('repo.write', requester('member', false), { repo }, RULES);
    expect(decision).toMatchObject({ reason: 'Link your GitHub account first: say `link github`.' });
  });

  it('an unconnected repository names the connect command', () => {
    const decision = decide(
      'repo.read',
      requester('member', true),
      { repo: { ...repo, connected: false } },
      RULES,
    );
    expect(decision).toMatchObject({
      reason:
        'org/app is not connected to this workspace; a workspace admin can connect it with `repos connect org/app`.',
    });
  });

  it('too little GitHub access says which is needed and which the person has', () => {
    const decision = decide(
      'repo.write',
      requester('owner', true),
      { repo: { ...repo, permission: 'read' } },
      RULES,
    );
    expect(decision).toMatchObject({
      reason: 'You need write access to org/app on GitHub for this (yours: read access).',
    });
  });

  it('on GitHub a role is the repository permission, and the refusal says so', () => {
    const github: Requester = {
      platform: 'github',
      workspaceId: '42',
      userId: 'reader',
      channelId: 'octo/app',
      role: 'guest',
      githubLogin: 'reader',
      githubPermission: 'read',
    };
    expect(decide('run', github, {}, RULES)).toMatchObject({
      reason: 'Sorry @reader, I only run code for people with write access to octo/app (yours: read).',
    });
  });
});

describe('digests', () => {
  it('every repository of a digest must be connected', () => {
    const member = requester('member', false);
    expect(decide('digest.add', member, { unconnectedRepos: [] }, RULES)).toEqual({ allowed: true });
    expect(decide('digest.add', member, { unconnectedRepos: ['b/private'] }, RULES)).toMatchObject({
      allowed: false,
      missing: 'connection',
    });
    expect(decide('digest.add', requester('guest', false), { unconnectedRepos: [] }, RULES)).toMatchObject({
      missing: 'role',
    });
  });
});

describe('cancel', () => {
  const own = { workspace: 'slack:T1', ownerId: 'U1' };
  const someoneElses = { workspace: 'slack:T1', ownerId: 'U2' };
  const otherWorkspace = { workspace: 'slack:T2', ownerId: 'U1' };

  it.each([
    ['guest', own, true],
    ['member', own, true],
    ['member', someoneElses, false],
    ['admin', someoneElses, true],
    ['owner', otherWorkspace, false],
    ['member', otherWorkspace, false],
  ] as const)('%s cancelling %o: allowed=%s', (role, task, allowed) => {
    expect(decide('cancel', requester(role, false), { task }, RULES).allowed).toBe(allowed);
  });

  it('on GitHub, a task of another repository of the same installation is out of reach', () => {
    const admin: Requester = {
      platform: 'github',
      workspaceId: '42',
      userId: 'boss',
      channelId: 'octo/a',
      role: 'admin',
      githubPermission: 'admin',
    };
    const task = { workspace: 'github:42', channelId: 'octo/b', ownerId: 'someone' };
    expect(decide('cancel', admin, { task }, RULES)).toMatchObject({ allowed: false, missing: 'workspace' });
  });
});

describe('role grants', () => {
  it.each([
    ['member', 'member', 'guest', false],
    ['admin', 'admin', 'member', true],
    ['admin', 'owner', 'member', false],
    ['admin', 'member', 'owner', false],
    ['owner', 'owner', 'guest', true],
  ] as const)('%s granting %s to a %s: allowed=%s', (role, grant, current, allowed) => {
    expect(
      decide('role.grant', requester(role, false), { grant: { role: grant, current } }, RULES).allowed,
    ).toBe(allowed);
  });
});

describe('MCP servers', () => {
  const server = { server: 'jira', roles: ['admin', 'owner'] as Role[], channels: [] };

  it('are for the roles on their allow-list', () => {
    expect(decide('mcp', requester('member', false), { mcp: server }, RULES)).toMatchObject({
      allowed: false,
      missing: 'role',
    });
    expect(decide('mcp', requester('admin', false), { mcp: server }, RULES)).toEqual({ allowed: true });
  });

  it('and only in their channels when they name some', () => {
    const narrowed = { ...server, channels: ['slack:C9'] };
    expect(decide('mcp', requester('admin', false), { mcp: narrowed }, RULES)).toMatchObject({
      missing: 'channel',
    });
  });
});

describe('approvals', () => {
  const rules: PolicyRules = { ...RULES, approvals: { run: 'admin', 'repo.write': 'owner' } };

  it('an allowed action that needs approval says by whom', () => {
    expect(decide('run', requester('member', false), {}, rules)).toEqual({
      allowed: true,
      approvalBy: 'admin',
    });
    const repo = { name: 'org/app', connected: true, permission: 'write' as const };
    expect(decide('repo.write', requester('member', true), { repo }, rules)).toEqual({
      allowed: true,
      approvalBy: 'owner',
    });
  });

  it('nobody approves their own request, and the approver needs the role', () => {
    const approval = { role: 'admin' as const, requesterId: 'U1' };
    expect(decide('approve', requester('owner', false), { approval }, rules)).toMatchObject({
      missing: 'self',
    });
    const other = { role: 'admin' as const, requesterId: 'U7' };
    expect(decide('approve', requester('member', false), { approval: other }, rules)).toMatchObject({
      missing: 'role',
    });
    expect(decide('approve', requester('admin', false), { approval: other }, rules)).toEqual({
      allowed: true,
    });
  });
});

describe('models.codeRun narrows the assistant’s code tool, not the `run` command', () => {
  const rules: PolicyRules = { ...RULES, codeRun: { channels: ['slack:C9'], users: [] } };

  it('refuses the tool outside the listed channels and leaves `run` to the role', () => {
    expect(decide('run', requester('member', false), { viaTool: true }, rules)).toMatchObject({
      missing: 'channel',
    });
    expect(decide('run', requester('member', false), {}, rules)).toEqual({ allowed: true });
  });
});
