/**
 * Who may do what, through the real command router and store: one row per action of the policy
 * table as a person sees it in chat (the reply, and whether anything changed), and the cross-tenant
 * guarantees: workspace A cannot add a digest for a repository only workspace B connected, cannot
 * cancel B's tasks, and cannot read B's audit entries. GitHub's API (collaborator permissions, the
 * device flow) is the loopback stand-in; GitHub access is a personal token pointed at it.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createEventHandler } from '../../src/bots/index.js';
import {
  accessSettingsOf,
  type Config,
  createAccess,
  loadConfig,
  MemorySink,
  type NormalizedEvent,
} from '../../src/core/index.js';
import { createGitHubToolPort, githubAccessFromConfig, githubLinker } from '../../src/github/index.js';
import { accessPortsOf, type Store } from '../../src/store/index.js';
import { answerDeviceFlow, type GitHubStandIn, githubStandIn } from '../support/platforms/index.js';
import { dropTestStore, openTestStore } from '../support/store.js';

let store: Store;
let api: GitHubStandIn;
let config: Config;
let handle: ReturnType<typeof createEventHandler>;

beforeAll(async () => {
  store = await openTestStore();
  api = await githubStandIn();
  const extra = `${process.env.TMPDIR ?? '/tmp'}/deckhand-access-${randomBytes(4).toString('hex')}.yaml`;
  const { writeFileSync } = await import('node:fs');
  writeFileSync(
    extra,
    [
      'access:',
      '  roles:',
      "    'slack:TA:boss': owner",
      "    'slack:TB:bossb': owner",
      "    'slack:TA:visitor': guest",
    ].join('\n'),
  );
  config = loadConfig({
    GITHUB_TOKEN: 'ghp_test_token_for_the_stand_in',
    GITHUB_API_URL: api.url,
    GITHUB_CLIENT_ID: 'Iv1.testclient',
    DECKHAND_CONFIG: extra,
  });
  const github = githubAccessFromConfig(config);
  if (!github) throw new Error('GitHub access expected');
  const tools = createGitHubToolPort({ access: github, settings: config.github });
  const settings = { clientId: 'Iv1.testclient', apiUrl: api.url };
  handle = createEventHandler({
    store,
    sinkFor: () => sink,
    access: createAccess(
      { ...accessPortsOf(store), permissionOf: (repo, login, at) => tools.permissionOf(repo, login, at) },
      accessSettingsOf(config),
    ),
    linker: githubLinker(settings),
  });
}, 60_000);

afterAll(async () => {
  await api?.close();
  await dropTestStore(store);
});

let sink: MemorySink;
beforeEach(() => {
  sink = new MemorySink();
});

function event(workspaceId: string, userId: string, text: string, channelId = 'C1'): NormalizedEvent {
  return {
    platform: 'slack',
    workspaceId,
    channelId,
    threadId: `t-${randomBytes(3).toString('hex')}`,
    userId,
    text,
    mentions: [...text.matchAll(/<@(\w+)>/g)].map((m) => m[1]!),
    deliveryKey: `access-${randomBytes(4).toString('hex')}`,
    eventType: 'app_mention',
    replyTo: {},
    receivedAt: new Date().toISOString(),
  };
}

/** Sends one message through the router as its own task; the last reply. */
async function say(workspaceId: string, userId: string, text: string): Promise<string> {
  const e = event(workspaceId, userId, text);
  const task = await store.enqueueTask({
    kind: 'event',
    source: {
      platform: 'slack',
      workspaceId,
      channelId: e.channelId,
      threadId: e.threadId,
      userId,
      eventId: e.deliveryKey,
    },
    payload: e,
  });
  await handle(task, { signal: AbortSignal.timeout(30_000), workerId: 'test' });
  return sink.messages.at(-1) ?? '';
}

/** The stand-in answers `login`'s permission on `repo` (once per call). */
function githubPermission(repo: string, login: string, permission: string) {
  api.route('GET', `/repos/${repo}/collaborators/${login}/permission`, 200, {
    permission,
    role_name: permission,
    user: { login },
  });
}

/** A queued task of `userId` in workspace `workspaceId`, for cancel to find. */
async function queuedTask(workspaceId: string, userId: string) {
  return store.enqueueTask({
    kind: 'event',
    source: { platform: 'slack', workspaceId, channelId: 'C1', threadId: 't', userId, eventId: 'x' },
    payload: event(workspaceId, userId, 'hello'),
  });
}

describe('identity', () => {
  it('`link github` proves the login through the device flow; whoami shows it; unlink removes it', async () => {
    answerDeviceFlow(api, { login: 'ada', id: 7, pendingPolls: 1 });
    expect(await say('TA', 'ada-slack', 'link github')).toBe(
      'Linked: you are @ada on GitHub. Repository tools now act with your GitHub access.',
    );
    expect(sink.messages[0]).toMatch(/open http:\/\/127\.0\.0\.1:\d+\/login\/device and enter the code `/);
    expect(await say('TA', 'ada-slack', 'whoami')).toBe(
      'You are ada-slack on slack (workspace TA). Role: member. GitHub: @ada (linked; `unlink github` removes it).',
    );
    expect(await say('TA', 'ada-slack', 'unlink github')).toBe(
      'Unlinked: I no longer act with your GitHub access.',
    );
    expect(await say('TA', 'ada-slack', 'whoami')).toContain('GitHub: not linked (say `link github`).');
    const trail = await store.listAudit({ actor: 'slack:ada-slack', action: 'identity.' });
    expect(trail.map((e) => e.action).sort()).toEqual(['identity.link', 'identity.unlink']);
  }, 30_000);

  it('a declined authorization links nothing', async () => {
    api.reset();
    answerDeviceFlow(api, { login: 'eve', id: 9, outcome: 'denied' });
    expect(await say('TA', 'eve-slack', 'link github')).toBe(
      'You declined the GitHub authorization; say `link github` to try again.',
    );
    expect(
      await store.githubLinkOf({ platform: 'slack', workspaceId: 'TA', userId: 'eve-slack' }),
    ).toBeUndefined();
  }, 30_000);
});

describe('roles', () => {
  it('a member cannot grant roles; the owner can; an admin cannot make an owner', async () => {
    expect(await say('TA', 'mia', 'role <@ben> admin')).toContain(
      'You need the admin role in this workspace to grant roles',
    );
    expect(await say('TA', 'boss', 'role <@ben> admin')).toBe('ben is now admin in this workspace.');
    expect(await say('TA', 'ben', 'whoami')).toContain('Role: admin.');
    expect(await say('TA', 'ben', 'role <@mia> owner')).toBe(
      'Only an owner can grant or change the owner role.',
    );
    await store.setRole({ platform: 'slack', workspaceId: 'TA' }, 'olga', 'owner', 'test');
    expect(await say('TA', 'ben', 'role <@olga> guest')).toBe(
      'Only an owner can grant or change the owner role.',
    );
    expect(await say('TA', 'ben', 'role <@boss> guest')).toBe(
      "boss's role (owner) is set in Deckhand's config; an operator changes it there.",
    );
  });

  it('a guest may ask but not run code', async () => {
    expect(await say('TA', 'visitor', 'what is a monad?')).toContain('No model is configured');
    expect(await say('TA', 'visitor', 'run python\n```\nprint(1)\n```')).toBe(
      'You need the member role in this workspace to run code (yours: guest); a workspace admin can grant it with `role @you member`.',
    );
  });
});

describe('repository connections', () => {
  it('need an admin whose linked GitHub login can read the repository', async () => {
    expect(await say('TA', 'mia', 'repos connect org/app')).toContain('You need the admin role');
    expect(await say('TA', 'boss', 'repos connect org/app')).toBe(
      'Link your GitHub account first: say `link github`.',
    );
    await store.linkGithub(
      { platform: 'slack', workspaceId: 'TA', userId: 'boss' },
      { login: 'boss-gh', githubId: 1 },
    );
    githubPermission('org/secret', 'boss-gh', 'none');
    expect(await say('TA', 'boss', 'repos connect org/secret')).toBe(
      'You need read access to org/secret on GitHub for this (yours: no access).',
    );
    githubPermission('org/app', 'boss-gh', 'read');
    expect(await say('TA', 'boss', 'repos connect org/app')).toBe('Connected org/app to this workspace.');
    expect(await say('TA', 'mia', 'repos')).toBe('Connected repositories: org/app.');
    expect(await say('TA', 'mia', 'repos disconnect org/app')).toContain('You need the admin role');
  });
});

describe('digests', () => {
  it('a digest may only read repositories connected to the asking workspace', async () => {
    await store.linkGithub(
      { platform: 'slack', workspaceId: 'TB', userId: 'bossb' },
      { login: 'bossb-gh', githubId: 2 },
    );
    githubPermission('b-org/private', 'bossb-gh', 'admin');
    expect(await say('TB', 'bossb', 'repos connect b-org/private')).toBe(
      'Connected b-org/private to this workspace.',
    );

    expect(await say('TA', 'mia', 'digest add daily 09:00 UTC repos=b-org/private name=leak')).toBe(
      'b-org/private is not connected to this workspace; a workspace admin can connect it with `repos connect b-org/private`.',
    );
    expect(await store.findScheduleByName('slack', 'TA', 'leak')).toBeFalsy();
    expect(
      await say('TB', 'someone-b', 'digest add daily 09:00 UTC repos=b-org/private name=ours'),
    ).toContain('Digest "ours" added');
  });

  it('a guest may list digests but not change them', async () => {
    expect(await say('TA', 'visitor', 'digest list')).toMatch(/^No digests yet|^\*\*Digests\*\*/);
    expect(await say('TA', 'visitor', 'digest pause leak')).toContain(
      'You need the member role in this workspace to manage digests',
    );
  });
});

describe('cancel', () => {
  it("a member cancels their own task, not someone else's; an admin cancels anyone's in the workspace", async () => {
    const mine = await queuedTask('TA', 'mia');
    const bens = await queuedTask('TA', 'zoe');
    expect(await say('TA', 'mia', `cancel ${bens.id}`)).toContain(
      "You need the admin role in this workspace to cancel other people's tasks",
    );
    expect((await store.getTask(bens.id))?.status).toBe('queued');
    expect(await say('TA', 'mia', `cancel ${mine.id}`)).toBe(`Cancelled task ${mine.id}.`);
    expect(await say('TA', 'boss', `cancel ${bens.id}`)).toBe(`Cancelled task ${bens.id}.`);
  });

  it("workspace A cannot cancel workspace B's tasks, even as its owner", async () => {
    const theirs = await queuedTask('TB', 'someone-b');
    expect(await say('TA', 'boss', `cancel ${theirs.id}`)).toBe('That task is not in this workspace.');
    expect((await store.getTask(theirs.id))?.status).toBe('queued');
  });
});

describe('the audit log in chat', () => {
  it('is for admins, and shows only the asking workspace’s entries', async () => {
    expect(await say('TA', 'mia', 'audit')).toContain(
      'You need the admin role in this workspace to read the audit log',
    );
    const a = await say('TA', 'boss', 'audit 50');
    expect(a).toContain('**Audit log**');
    expect(a).toContain('slack:boss');
    expect(a).not.toMatch(/bossb|someone-b/);
    const b = await say('TB', 'bossb', 'audit 50');
    expect(b).toContain('b-org/private');
    expect(b).not.toMatch(/slack:mia|slack:boss /);
  });
});
