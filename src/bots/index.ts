export * from './discord/parse.js';
export * from './discord/sink.js';
export * from './discord/verify.js';
export * from './events.js';
export * from './http.js';
export * from './metrics.js';
export { MemorySink, type PostedReply, type ReplySink, type ReplyStatus, streamReply } from './reply.js';
export type { CodeRunner, Orchestrator } from './router.js';
export {
  type Attempt,
  isRetryableStatus,
  parseRetryAfter,
  type RetryOptions,
  sendJson,
  withRetries,
} from './sink-http.js';
export * from './sinks.js';
export * from './slack/parse.js';
export * from './slack/sink.js';
export * from './slack/verify.js';
export type { TaskContext } from './worker.js';
