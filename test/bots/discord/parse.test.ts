/** Discord interactions under the policy, and buttons that carry their command. */
import { describe, expect, it } from 'vitest';
import { parseDiscordInteraction } from '../../../src/bots/discord/index.js';
import { eventOf } from '../../support/ingress.js';

const base = {
  id: '1300000000000000001',
  application_id: '1200000000000000000',
  token: 'interaction-token',
  version: 1,
  guild_id: '1100000000000000000',
  channel_id: '1000000000000000000',
  channel: { id: '1000000000000000000', type: 0 },
  member: { user: { id: '900000000000000000', username: 'alice' } },
};
const open = { allowBots: false, allowedChannels: [], allowedUsers: [] };
const body = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('Discord interactions', () => {
  it('turns a Deckhand button press into the command it carries', () => {
    const press = {
      ...base,
      type: 3,
      message: { id: '1400000000000000001' },
      data: { custom_id: 'dh:cancel', component_type: 2 },
    };
    expect(eventOf(parseDiscordInteraction(body(press)))).toMatchObject({
      command: { name: 'dh:cancel', args: 'cancel' },
      text: 'cancel',
      threadId: '1400000000000000001',
      eventType: 'message_component',
    });
  });

  it('answers a refused channel or user ephemerally instead of leaving "interaction failed"', () => {
    const command = {
      ...base,
      type: 2,
      data: { name: 'deckhand', type: 1, options: [{ name: 'text', type: 3, value: 'help' }] },
    };
    const refusal = {
      kind: 'respond',
      status: 200,
      body: { type: 4, data: { content: 'Deckhand does not answer here.', flags: 64 } },
    };
    expect(parseDiscordInteraction(body(command), { policy: { ...open, allowedChannels: ['5'] } })).toEqual(
      refusal,
    );
    expect(parseDiscordInteraction(body(command), { policy: { ...open, allowedUsers: ['5'] } })).toEqual(
      refusal,
    );
    // A thread of an allowed channel is allowed.
    const inThread = { ...command, channel_id: '7', channel: { id: '7', type: 11, parent_id: '5' } };
    expect(
      parseDiscordInteraction(body(inThread), { policy: { ...open, allowedChannels: ['5'] } }).kind,
    ).toBe('event');
  });
});
