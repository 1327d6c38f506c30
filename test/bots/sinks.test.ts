import { generateKeyPairSync } from 'node:crypto';
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { createSinkFactory } from '../../src/bots/index.js';
import type { NormalizedEvent } from '../../src/core/index.js';
import { type Config, loadConfig, type Secrets } from '../../src/core/index.js';
import type { GitHubClient } from '../../src/github/index.js';
import { captureLogs } from '../support/logs.js';
import { useNockForThirdPartyApis } from '../support/nock.js';

const SLACK_TOKEN = 'xoxb-9999-8888-factory-test-token';

function event(platform: NormalizedEvent['platform'], replyTo: Record<string, string>): NormalizedEvent {
  return {
    platform,
    workspaceId: '4242',
    channelId: platform === 'github' ? 'acme/widgets' : 'C0GENERAL',
    threadId: platform === 'github' ? '7' : '1736942400.000100',
    userId: 'U0ALICE',
    text: 'hi',
    mentions: [],
    deliveryKey: `delivery-${platform}`,
    eventType: 'test',
    replyTo,
    receivedAt: '2025-01-15T12:00:00.000Z',
  };
}

function configWith(secrets: Secrets): Config {
  return { ...loadConfig({}), secrets };
}

const slackEvent = event('slack', { channel: 'C0GENERAL', threadTs: '1736942400.000100' });
const githubEvent = event('github', { repo: 'acme/widgets', issueNumber: '7', kind: 'issue' });
const env = {
  SLACK_API_URL: 'http://slack.test/api',
  DISCORD_API_URL: 'http://discord.test/api/v10',
  GITHUB_API_URL: 'http://github.test',
};

useNockForThirdPartyApis();

describe('reply sink factory', () => {
  it('logs replies naming SLACK_BOT_TOKEN when Slack is not configured', async () => {
    const { lines, logger } = captureLogs();
    const sink = createSinkFactory({ config: configWith({}), logger, env })(slackEvent);
    const reply = await sink.post('the answer');
    await sink.update(reply, 'the better answer');
    await sink.status('done');
    const warnings = lines.filter((line) => line.level === 40);
    expect(warnings.map((line) => line.text)).toEqual(['the answer', 'the better answer']);
    expect(String(warnings[0]?.msg)).toContain('SLACK_BOT_TOKEN');
  });

  it('posts to Slack through the SLACK_API_URL override when the token is set', async () => {
    const scope = nock('http://slack.test', { reqheaders: { authorization: `Bearer ${SLACK_TOKEN}` } })
      .post('/api/chat.postMessage')
      .reply(200, { ok: true, ts: '1.1' });
    const { logger } = captureLogs();
    const sinkFor = createSinkFactory({ config: configWith({ SLACK_BOT_TOKEN: SLACK_TOKEN }), logger, env });
    expect(await sinkFor(slackEvent).post('hello')).toEqual({ id: '1.1' });
    expect(scope.isDone()).toBe(true);
  });

  it('names DISCORD_BOT_TOKEN for a gateway message and uses the interaction without it', async () => {
    const { lines, logger } = captureLogs();
    const sinkFor = createSinkFactory({ config: configWith({}), logger, env });
    await sinkFor(event('discord', { channel: 'C1', messageId: 'M1' })).post('logged');
    expect(String(lines.find((line) => line.level === 40)?.msg)).toContain('DISCORD_BOT_TOKEN');

    const scope = nock('http://discord.test')
      .patch('/api/v10/webhooks/55/tok-abc/messages/@original')
      .reply(200, { id: '66' });
    const interaction = event('discord', { interactionToken: 'tok-abc', applicationId: '55', channel: 'C1' });
    expect(await sinkFor(interaction).post('sent')).toEqual({ id: '66' });
    expect(scope.isDone()).toBe(true);
  });

  it('names GITHUB_APP_ID and GITHUB_PRIVATE_KEY when GitHub is not configured', async () => {
    const { lines, logger } = captureLogs();
    await createSinkFactory({ config: configWith({}), logger, env })(githubEvent).post('logged');
    const message = String(lines.find((line) => line.level === 40)?.msg);
    expect(message).toContain('GITHUB_APP_ID');
    expect(message).toContain('GITHUB_PRIVATE_KEY');
  });

  it('builds an installation client from GITHUB_APP_ID and GITHUB_PRIVATE_KEY', async () => {
    const { privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const scope = nock('http://github.test')
      .post('/app/installations/4242/access_tokens')
      .reply(201, { token: 'ghs_factoryTokenForTests000000000', expires_at: '2999-01-01T00:00:00Z' })
      .post('/repos/acme/widgets/issues/7/comments')
      .matchHeader('authorization', 'token ghs_factoryTokenForTests000000000')
      .reply(201, { id: 31 });
    const { logger } = captureLogs();
    const config = configWith({ GITHUB_APP_ID: '123', GITHUB_PRIVATE_KEY: privateKey });
    expect(await createSinkFactory({ config, logger, env })(githubEvent).post('hello')).toEqual({
      id: '31#0',
    });
    expect(scope.isDone()).toBe(true);
  });

  it('uses the injected GitHub client for the tracking comment', async () => {
    const routes: string[] = [];
    const client: GitHubClient = {
      async request(route) {
        routes.push(route);
        return { data: { id: 12 } };
      },
    };
    const { logger } = captureLogs();
    const sinkFor = createSinkFactory({ config: configWith({}), logger, githubClientFor: () => client });
    const sink = sinkFor(githubEvent);
    await sink.post('one');
    await sink.post('two');
    expect(routes).toEqual([
      'POST /repos/{owner}/{repo}/issues/{issue_number}/comments',
      'PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}',
    ]);
  });

  it('falls back to logging when the event cannot be addressed', async () => {
    const { lines, logger } = captureLogs();
    const client: GitHubClient = { request: async () => ({ data: {} }) };
    const broken = { ...githubEvent, channelId: 'not-a-repo', replyTo: {} };
    await createSinkFactory({ config: configWith({}), logger, githubClientFor: () => client })(broken).post(
      'x',
    );
    expect(String(lines.find((line) => line.level === 40)?.msg)).toContain('Cannot reply on GitHub');
  });
});
