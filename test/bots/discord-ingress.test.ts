import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseDiscordInteraction, verifyDiscordSignature } from '../../src/bots/index.js';
import { eventOf, statusOf } from '../support/ingress.js';

const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const publicKeyHex = publicKey.export({ format: 'der', type: 'spki' }).subarray(12).toString('hex');
const timestamp = '1736942400';

function signedRequest(body: unknown) {
  const rawBody = Buffer.from(JSON.stringify(body));
  const signature = sign(null, Buffer.concat([Buffer.from(timestamp), rawBody]), privateKey).toString('hex');
  return { publicKeyHex, rawBody, signature, timestamp };
}

const base = {
  id: '1300000000000000001',
  application_id: '1200000000000000000',
  token: 'interaction-token-abc',
  version: 1,
  guild_id: '1100000000000000000',
  channel_id: '1000000000000000000',
  channel: { id: '1000000000000000000', type: 0 },
  member: { user: { id: '900000000000000000', username: 'alice', global_name: 'Alice' }, roles: [] },
};

describe('Discord interaction signatures', () => {
  it('accepts a request signed with the application key (raw 32-byte hex key)', () => {
    expect(publicKeyHex).toHaveLength(64);
    expect(() => verifyDiscordSignature(signedRequest({ type: 1 }))).not.toThrow();
  });

  it('refuses a wrong signature with 401', () => {
    const request = signedRequest({ type: 1 });
    const other = generateKeyPairSync('ed25519').privateKey;
    const forged = sign(null, Buffer.concat([Buffer.from(timestamp), request.rawBody]), other).toString(
      'hex',
    );
    expect(statusOf(() => verifyDiscordSignature({ ...request, signature: forged }))).toBe(401);
    expect(statusOf(() => verifyDiscordSignature({ ...request, timestamp: '1736942401' }))).toBe(401);
    expect(statusOf(() => verifyDiscordSignature({ ...request, rawBody: Buffer.from('{"type":2}') }))).toBe(
      401,
    );
    expect(statusOf(() => verifyDiscordSignature({ ...request, signature: 'zz' }))).toBe(401);
  });

  it('refuses missing headers with 401 and a bad configured key with 503', () => {
    const request = signedRequest({ type: 1 });
    expect(statusOf(() => verifyDiscordSignature({ ...request, signature: undefined }))).toBe(401);
    expect(statusOf(() => verifyDiscordSignature({ ...request, timestamp: undefined }))).toBe(401);
    expect(statusOf(() => verifyDiscordSignature({ ...request, publicKeyHex: 'not-hex' }))).toBe(503);
    expect(statusOf(() => verifyDiscordSignature({ ...request, publicKeyHex: '' }))).toBe(503);
  });
});

describe('Discord interaction parsing', () => {
  it('answers PING with PONG', () => {
    expect(parseDiscordInteraction(signedRequest({ type: 1, id: '1', application_id: '2' }).rawBody)).toEqual(
      {
        kind: 'respond',
        status: 200,
        body: { type: 1 },
      },
    );
  });

  it('turns /deckhand text:… into a command event', () => {
    const body = {
      ...base,
      type: 2,
      data: {
        id: '1',
        name: 'deckhand',
        type: 1,
        options: [
          { name: 'text', type: 3, value: 'summarize <@1200000000000000000> and <@800000000000000000>' },
        ],
      },
    };
    const event = eventOf(parseDiscordInteraction(Buffer.from(JSON.stringify(body))));
    expect(event).toMatchObject({
      platform: 'discord',
      workspaceId: base.guild_id,
      channelId: base.channel_id,
      threadId: '',
      userId: '900000000000000000',
      userName: 'Alice',
      text: 'summarize and <@800000000000000000>',
      mentions: ['800000000000000000'],
      command: { name: 'deckhand', args: 'summarize and <@800000000000000000>' },
      deliveryKey: base.id,
      eventType: 'application_command',
      replyTo: { interactionToken: base.token, applicationId: base.application_id, interactionId: base.id },
    });
  });

  it('renders sub-commands and named options as args, and uses user.id and "dm" outside a guild', () => {
    const { guild_id: _guild, member: _member, ...dmBase } = base;
    const body = {
      ...dmBase,
      channel: { id: base.channel_id, type: 11 },
      user: { id: '700000000000000000', username: 'bob' },
      type: 2,
      data: {
        name: 'deckhand',
        options: [
          {
            name: 'schedule',
            type: 1,
            options: [
              { name: 'cron', type: 3, value: '0 9 * * 1' },
              { name: 'days', type: 4, value: 5 },
            ],
          },
        ],
      },
    };
    const event = eventOf(parseDiscordInteraction(Buffer.from(JSON.stringify(body))));
    expect(event.command).toEqual({ name: 'deckhand', args: 'schedule cron="0 9 * * 1" days=5' });
    expect(event).toMatchObject({
      workspaceId: 'dm',
      userId: '700000000000000000',
      threadId: base.channel_id,
    });
  });

  it('turns a button press into an event keyed by the interaction id', () => {
    const body = {
      ...base,
      id: '1300000000000000002',
      type: 3,
      message: { id: '1300000000000000000' },
      data: { custom_id: 'deckhand:cancel:42', component_type: 2 },
    };
    const event = eventOf(parseDiscordInteraction(Buffer.from(JSON.stringify(body))));
    expect(event).toMatchObject({
      deliveryKey: '1300000000000000002',
      command: { name: 'deckhand:cancel:42', args: '' },
      threadId: '1300000000000000000',
      eventType: 'message_component',
    });
  });

  it('ignores unknown interaction types and refuses malformed bodies with 400', () => {
    expect(parseDiscordInteraction(Buffer.from(JSON.stringify({ ...base, type: 4, data: {} }))).kind).toBe(
      'ignore',
    );
    expect(statusOf(() => parseDiscordInteraction(Buffer.from('{nope')))).toBe(400);
    expect(statusOf(() => parseDiscordInteraction(Buffer.from('{"type":"2"}')))).toBe(400);
    expect(statusOf(() => parseDiscordInteraction(Buffer.from(JSON.stringify({ ...base, type: 2 }))))).toBe(
      400,
    );
    const { member: _member, ...noUser } = base;
    const noUserBody = { ...noUser, type: 2, data: { name: 'deckhand' } };
    expect(statusOf(() => parseDiscordInteraction(Buffer.from(JSON.stringify(noUserBody))))).toBe(400);
  });
});
