/**
 * The Discord adapter's door: interactions over HTTP (signed with the application's Ed25519 key),
 * the gateway for mentions, DMs and threads, replies through @discordjs/rest, and slash command
 * registration. The rest of Deckhand imports Discord only from here.
 */
export { createDiscordAdapter, type DiscordAdapterDeps } from './adapter.js';
export * from './application.js';
export { createDiscordDigestChannel, discordNonce } from './digest.js';
export { type GatewayDeps, gatewayIntents, handleGatewayDispatch, startDiscordGateway } from './gateway.js';
export { DISCORD_THREAD_REPLY, type DiscordGatewayContext, parseDiscordMessage } from './gateway-parse.js';
export { createDiscordGatewayParser, createDiscordRoute, discordPolicy } from './ingress.js';
export * from './parse.js';
export * from './sink.js';
export * from './verify.js';
