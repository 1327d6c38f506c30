/** The Slack app manifest in deploy/ asks for what the code needs, and points at the routes we serve. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { SLACK_BOT_SCOPES } from '../../../src/bots/slack/index.js';

const manifest = z
  .object({
    features: z.object({ slash_commands: z.array(z.object({ command: z.string(), url: z.string() })) }),
    oauth_config: z.object({
      redirect_urls: z.array(z.string()),
      scopes: z.object({ bot: z.array(z.string()) }),
    }),
    settings: z.object({
      event_subscriptions: z.object({ request_url: z.string(), bot_events: z.array(z.string()) }),
      interactivity: z.object({ is_enabled: z.boolean(), request_url: z.string() }),
      socket_mode_enabled: z.boolean(),
    }),
  })
  .parse(
    parse(readFileSync(resolve(import.meta.dirname, '../../../deploy/slack-app-manifest.yaml'), 'utf8')),
  );

describe('deploy/slack-app-manifest.yaml', () => {
  it('asks for exactly the bot scopes the install flow asks for', () => {
    expect([...manifest.oauth_config.scopes.bot].sort()).toEqual([...SLACK_BOT_SCOPES].sort());
  });

  it('subscribes to mentions, DMs and thread messages, and sends everything to /slack/events', () => {
    expect(manifest.settings.event_subscriptions.bot_events).toEqual(
      expect.arrayContaining(['app_mention', 'message.im', 'message.channels', 'message.groups']),
    );
    expect(manifest.settings.event_subscriptions.request_url).toMatch(/\/slack\/events$/);
    expect(manifest.settings.interactivity).toMatchObject({ is_enabled: true });
    expect(manifest.settings.interactivity.request_url).toMatch(/\/slack\/events$/);
    expect(manifest.features.slash_commands).toEqual([expect.objectContaining({ command: '/deckhand' })]);
    expect(manifest.oauth_config.redirect_urls[0]).toMatch(/\/slack\/oauth_redirect$/);
  });
});
