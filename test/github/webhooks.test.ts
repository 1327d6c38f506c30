import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseGitHubWebhook, signGitHubPayload, verifyGitHubSignature } from '../../src/github/index.js';
import { eventOf, statusOf } from '../support/ingress.js';
import { refusalOf } from './refusal.js';

const secret = 'test-webhook-secret-5d1c';

interface Definition {
  name: string;
  examples: Record<string, unknown>[];
}

const examplesRoot = dirname(
  createRequire(import.meta.url).resolve('@octokit/webhooks-examples/package.json'),
);
const sets = readdirSync(examplesRoot)
  .filter((entry) => existsSync(join(examplesRoot, entry, 'index.json')))
  .map((entry) => ({
    source: entry,
    definitions: JSON.parse(readFileSync(join(examplesRoot, entry, 'index.json'), 'utf8')) as Definition[],
  }));
const cases = sets.flatMap(({ source, definitions }) =>
  definitions.map((definition) => ({ source, name: definition.name, examples: definition.examples })),
);

/** A copy of `payload` whose comment (or issue) body mentions @deckhand. */
function withMention(payload: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(payload);
  const holder = (copy.comment ?? copy.review ?? copy.issue) as { body?: string | null } | undefined;
  if (holder) holder.body = `@deckhand ${holder.body ?? ''}`;
  return copy;
}

describe('GitHub webhook verification and parsing over every @octokit/webhooks-examples payload', () => {
  it('found the example payloads', () => {
    expect(sets.map((set) => set.source)).toContain('api.github.com');
    expect(cases.reduce((sum, c) => sum + c.examples.length, 0)).toBeGreaterThan(300);
  });

  it.each(sets)('$source: signed payloads verify and parse; mis-signed ones get 401', async ({
    definitions,
  }) => {
    for (const { name, examples } of definitions) {
      for (const [index, payload] of examples.entries()) {
        const label = `${name} example ${index}`;
        for (const variant of [payload, withMention(payload)]) {
          const rawBody = Buffer.from(JSON.stringify(variant));
          const signature256 = signGitHubPayload(secret, rawBody);
          expect(
            await refusalOf(() => verifyGitHubSignature({ secret, rawBody, signature256 })),
            label,
          ).toBeUndefined();

          const outcome = parseGitHubWebhook({
            name,
            deliveryId: randomUUID(),
            payload: JSON.parse(rawBody.toString()),
          });
          expect(['event', 'ignore'], label).toContain(outcome.kind);

          const wrongSecret = signGitHubPayload('not-the-secret', rawBody);
          expect(
            await refusalOf(() => verifyGitHubSignature({ secret, rawBody, signature256: wrongSecret })),
            label,
          ).toBe(401);
          const tampered = Buffer.concat([rawBody, Buffer.from(' ')]);
          expect(
            await refusalOf(() => verifyGitHubSignature({ secret, rawBody: tampered, signature256 })),
            label,
          ).toBe(401);
        }
      }
    }
  });

  it('turns every created/opened example that mentions @deckhand into an event', () => {
    const wanted: Record<string, string> = {
      issue_comment: 'created',
      issues: 'opened',
      pull_request_review_comment: 'created',
      pull_request_review: 'submitted',
      discussion_comment: 'created',
    };
    let events = 0;
    for (const { name, examples } of cases) {
      for (const payload of examples) {
        if (!wanted[name] || wanted[name] !== payload.action) continue;
        const event = eventOf(parseGitHubWebhook({ name, deliveryId: 'd-1', payload: withMention(payload) }));
        expect(event.text).not.toMatch(/@deckhand/);
        expect(event.channelId).toMatch(/\//);
        events += 1;
      }
    }
    expect(events).toBeGreaterThan(10);
  });
});

describe('GitHub signatures', () => {
  const rawBody = Buffer.from('{"zen":"Keep it logically awesome."}');

  it('refuses a missing or malformed signature with 401 and a missing secret with 503', async () => {
    expect(await refusalOf(() => verifyGitHubSignature({ secret, rawBody, signature256: undefined }))).toBe(
      401,
    );
    expect(await refusalOf(() => verifyGitHubSignature({ secret, rawBody, signature256: 'sha1=abc' }))).toBe(
      401,
    );
    expect(await refusalOf(() => verifyGitHubSignature({ secret, rawBody, signature256: 'sha256=00' }))).toBe(
      401,
    );
    const signature256 = signGitHubPayload(secret, rawBody);
    expect(await refusalOf(() => verifyGitHubSignature({ secret: '', rawBody, signature256 }))).toBe(503);
  });

  it('accepts the signature in either hex case, with stray spaces around it', async () => {
    const signature256 = signGitHubPayload(secret, rawBody);
    const upper = `sha256=${signature256.slice(7).toUpperCase()}`;
    expect(await refusalOf(() => verifyGitHubSignature({ secret, rawBody, signature256: upper }))).toBe(
      undefined,
    );
    expect(
      await refusalOf(() => verifyGitHubSignature({ secret, rawBody, signature256: ` ${signature256} ` })),
    ).toBe(undefined);
  });

  it('refuses an empty or non-UTF-8 body with 400, and only once the signature has the right shape', async () => {
    const empty = Buffer.alloc(0);
    const notText = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
    for (const body of [empty, notText]) {
      const signature256 = signGitHubPayload(secret, body);
      expect(await refusalOf(() => verifyGitHubSignature({ secret, rawBody: body, signature256 }))).toBe(400);
      expect(
        await refusalOf(() => verifyGitHubSignature({ secret, rawBody: body, signature256: undefined })),
      ).toBe(401);
    }
  });
});

describe('GitHub mentions', () => {
  const comment = {
    action: 'created',
    issue: { number: 7, title: 'Flaky test', body: 'x' },
    comment: {
      id: 1001,
      node_id: 'IC_1',
      body: '@deckhand please retry the build, cc @octocat',
      user: { login: 'alice', type: 'User' },
    },
    repository: { full_name: 'acme/widgets' },
    sender: { login: 'alice', type: 'User' },
    installation: { id: 4242 },
  };

  it('parses an issue_comment mentioning @deckhand into an event', () => {
    const event = eventOf(
      parseGitHubWebhook({ name: 'issue_comment', deliveryId: 'guid-1', payload: comment }),
    );
    expect(event).toMatchObject({
      platform: 'github',
      workspaceId: '4242',
      channelId: 'acme/widgets',
      threadId: '7',
      userId: 'alice',
      text: 'please retry the build, cc @octocat',
      mentions: ['octocat'],
      // From the signed body (comment id and edit time), not from the unsigned X-GitHub-Delivery.
      deliveryKey: 'issue_comment.created:comment:1001:',
      eventType: 'issue_comment',
      replyTo: {
        commentId: '1001',
        issueNumber: '7',
        repo: 'acme/widgets',
        kind: 'issue',
        deliveryId: 'guid-1',
      },
    });
  });

  it('keys a comment by its signed body: the same body under another delivery id is the same work', () => {
    const keyOf = (payload: unknown, deliveryId: string) =>
      eventOf(parseGitHubWebhook({ name: 'issue_comment', deliveryId, payload })).deliveryKey;
    expect(keyOf(comment, 'guid-1')).toBe(keyOf(comment, 'guid-2'));
    const edited = { ...comment, comment: { ...comment.comment, id: 1002 } };
    expect(keyOf(edited, 'guid-1')).not.toBe(keyOf(comment, 'guid-1'));
  });

  it('marks the text of a labelled or assigned issue as context, never the requester’s words', () => {
    const labelled = {
      action: 'labeled',
      label: { name: 'deckhand' },
      issue: {
        id: 77,
        number: 3,
        title: 'Tidy',
        body: 'run this',
        user: { login: 'mallory' },
        updated_at: 't1',
      },
      repository: { full_name: 'acme/widgets' },
      sender: { login: 'alice', type: 'User' },
    };
    const event = eventOf(parseGitHubWebhook({ name: 'issues', deliveryId: 'g', payload: labelled }));
    expect(event.replyTo).toMatchObject({ textIs: 'context', textAuthor: 'mallory' });
    expect(event.deliveryKey).toBe('issues.labeled:issue:77:deckhand:t1');
  });

  it('ignores a comment that does not mention @deckhand (or only quotes or codes it)', () => {
    for (const body of [
      'please retry',
      'mail deckhand@example.com',
      '> @deckhand do it\n\nthanks',
      '`@deckhand`',
      '@deckhandy hi',
    ]) {
      const payload = { ...comment, comment: { ...comment.comment, body } };
      expect(parseGitHubWebhook({ name: 'issue_comment', deliveryId: 'g', payload }).kind, body).toBe(
        'ignore',
      );
    }
  });

  it('ignores comments by bots, including its own', () => {
    const byBot = { ...comment, sender: { login: 'dependabot[bot]', type: 'Bot' } };
    expect(parseGitHubWebhook({ name: 'issue_comment', deliveryId: 'g', payload: byBot })).toMatchObject({
      kind: 'ignore',
      reason: 'issue_comment by a bot',
    });
    const bySelf = { ...comment, sender: { login: 'deckhand', type: 'User' } };
    expect(parseGitHubWebhook({ name: 'issue_comment', deliveryId: 'g', payload: bySelf }).kind).toBe(
      'ignore',
    );
  });

  it('honours a custom bot login and uses "none" without an installation', () => {
    const { installation: _installation, ...rest } = comment;
    const payload = { ...rest, comment: { ...comment.comment, body: '@shipit-bot[bot]: go' } };
    const event = eventOf(
      parseGitHubWebhook({ name: 'issue_comment', deliveryId: 'g', payload, botLogin: 'shipit-bot[bot]' }),
    );
    expect(event).toMatchObject({ workspaceId: 'none', text: 'go' });
  });

  it('ignores other events and actions with a reason', () => {
    expect(parseGitHubWebhook({ name: 'push', deliveryId: 'g', payload: {} })).toEqual({
      kind: 'ignore',
      reason: 'GitHub event push is not handled',
    });
    for (const name of ['constructor', '__proto__', 'toString']) {
      expect(parseGitHubWebhook({ name, deliveryId: 'g', payload: comment })).toEqual({
        kind: 'ignore',
        reason: `GitHub event ${name} is not handled`,
      });
    }
    const edited = { ...comment, action: 'edited' };
    expect(parseGitHubWebhook({ name: 'issue_comment', deliveryId: 'g', payload: edited })).toEqual({
      kind: 'ignore',
      reason: 'GitHub event issue_comment.edited is not handled',
    });
  });

  it('refuses missing delivery headers and non-object payloads with 400', () => {
    expect(
      statusOf(() => parseGitHubWebhook({ name: 'issue_comment', deliveryId: '', payload: comment })),
    ).toBe(400);
    expect(statusOf(() => parseGitHubWebhook({ name: '', deliveryId: 'g', payload: comment }))).toBe(400);
    expect(statusOf(() => parseGitHubWebhook({ name: 'issue_comment', deliveryId: 'g', payload: 'x' }))).toBe(
      400,
    );
    expect(statusOf(() => parseGitHubWebhook({ name: 'issue_comment', deliveryId: 'g', payload: [1] }))).toBe(
      400,
    );
    const broken = { ...comment, comment: { body: '@deckhand hi' } };
    expect(
      statusOf(() => parseGitHubWebhook({ name: 'issue_comment', deliveryId: 'g', payload: broken })),
    ).toBe(400);
  });
});

describe('GitHub triggers beyond comments', () => {
  function example(name: string, action: string): Record<string, unknown> {
    const found = cases.find((c) => c.name === name)?.examples.find((p) => p.action === action);
    if (!found) throw new Error(`no ${name}.${action} example`);
    return structuredClone(found);
  }

  it('turns a submitted pull request review that mentions @deckhand into an event on the pull request', () => {
    const payload = example('pull_request_review', 'submitted') as { review: { body: string | null } };
    payload.review.body = '@deckhand review the error handling';
    const event = eventOf(parseGitHubWebhook({ name: 'pull_request_review', deliveryId: 'r-1', payload }));
    expect(event).toMatchObject({
      channelId: 'Codertocat/Hello-World',
      threadId: '2',
      text: 'review the error handling',
      eventType: 'pull_request_review',
      replyTo: { kind: 'pull_request', issueNumber: '2', title: 'Update the README with new information.' },
    });
    expect(event.replyTo.reviewId).toMatch(/^\d+$/);
    const silent = example('pull_request_review', 'submitted');
    expect(parseGitHubWebhook({ name: 'pull_request_review', deliveryId: 'r-2', payload: silent }).kind).toBe(
      'ignore',
    );
  });

  it('treats an issue assigned to the bot as a request, without a mention', () => {
    const payload = example('issues', 'assigned') as {
      assignee: { login: string };
      issue: { title: string; body: string | null };
    };
    payload.assignee.login = 'deckhand[bot]';
    payload.issue.body = 'The README says teh.';
    const event = eventOf(parseGitHubWebhook({ name: 'issues', deliveryId: 'a-1', payload }));
    expect(event).toMatchObject({
      eventType: 'issues.assigned',
      text: `${payload.issue.title}\n\nThe README says teh.`,
      replyTo: { kind: 'issue' },
    });
    payload.assignee.login = 'octocat';
    expect(parseGitHubWebhook({ name: 'issues', deliveryId: 'a-2', payload })).toEqual({
      kind: 'ignore',
      reason: 'issues.assigned to someone else',
    });
  });

  it('treats an issue labelled with the trigger label as a request, unless a bot labelled it', () => {
    const payload = example('issues', 'labeled') as {
      label: { name: string };
      sender: { login: string; type: string };
    };
    payload.label.name = 'Fix-It';
    const event = eventOf(
      parseGitHubWebhook({ name: 'issues', deliveryId: 'l-1', payload, triggerLabel: 'fix-it' }),
    );
    expect(event.eventType).toBe('issues.labeled');
    expect(parseGitHubWebhook({ name: 'issues', deliveryId: 'l-2', payload }).kind).toBe('ignore');
    payload.sender = { login: 'triage-bot[bot]', type: 'Bot' };
    expect(
      parseGitHubWebhook({ name: 'issues', deliveryId: 'l-3', payload, triggerLabel: 'fix-it' }),
    ).toEqual({ kind: 'ignore', reason: 'issues by a bot' });
  });
});
