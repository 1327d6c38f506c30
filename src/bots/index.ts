/**
 * The runtime's door: the server, pipeline, worker and router, the list of platform adapters, and
 * the Slack, Discord and terminal adapters themselves.
 */

export type { GithubLinker } from './access-commands.js';
export * from './adapters.js';
export { type AdminOptions, createAdminRouter } from './admin/index.js';
export type { AdmissionPolicy } from './admission.js';
export * from './connections.js';
export * from './discord/index.js';
export { IngestJournal, type JournalOptions, journaledIngest, type ReplayResult } from './journal.js';
export * from './metrics.js';
export * from './pipeline.js';
export * from './router.js';
export * from './server.js';
export * from './sinks.js';
export * from './slack/index.js';
export * from './terminal/index.js';
export * from './worker.js';
