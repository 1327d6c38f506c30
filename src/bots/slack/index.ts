/**
 * The Slack adapter's door: how a Slack request is verified and parsed (HTTP and Socket Mode), how
 * a reply goes out, and the install routes. The rest of Deckhand imports Slack only from here; see
 * README.md beside this file for what Slack promises and what this adapter keeps to.
 */
export { createSlackAdapter, type SlackAdapterDeps, slackAck } from './adapter.js';
export { createSlackClients, type SlackClientOptions, type SlackClients } from './api.js';
export {
  authorizeSlackWorkspace,
  createSlackAuthorize,
  createSlackTokenSource,
  type SlackAuthorizeDeps,
  type SlackTokenSource,
  type SlackTokenSourceDeps,
  slackTokenSourceFromConfig,
} from './authorize.js';
export { createSlackDigestChannel, type SlackDigestOptions } from './digest.js';
export {
  escapeSlackText,
  MARKDOWN_TREE_MAX,
  markdownToMrkdwn,
  neutralizeSlackBroadcasts,
  SLACK_MESSAGE_MAX,
  SLACK_SECTION_MAX,
} from './format.js';
export {
  createSlackBodyParser,
  createSlackRoute,
  keepKnownThreads,
  type SlackIngressDeps,
  slackPolicy,
} from './ingress.js';
export { createSlackPages, type SlackPagesDeps } from './mount.js';
export { SLACK_BOT_SCOPES } from './oauth.js';
export { forgetSlackInstallation, forgetUninstalledSlackWorkspace } from './oauth-store.js';
export * from './parse.js';
export * from './sink.js';
export { handleSocketEnvelope, type SocketEnvelope, startSlackSocketMode } from './socket.js';
export * from './verify.js';
