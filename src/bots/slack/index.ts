/**
 * The Slack adapter's door: how a Slack request is verified and parsed (HTTP and Socket Mode), how
 * a reply goes out, and the install routes. The rest of Deckhand imports Slack only from here; see
 * README.md beside this file for what Slack promises and what this adapter keeps to.
 */
export { authorizeSlackWorkspace, type SlackAuthorizeDeps } from './authorize.js';
export {
  escapeSlackText,
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
export { mountSlack, type SlackMountDeps } from './mount.js';
export { SLACK_BOT_SCOPES } from './oauth.js';
export * from './parse.js';
export * from './sink.js';
export { handleSocketEnvelope, type SocketEnvelope, startSlackSocketMode } from './socket.js';
export * from './verify.js';
