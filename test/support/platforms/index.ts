/**
 * The one place for the loopback stand-ins of third-party platform APIs (Slack, Discord, GitHub, and
 * the model providers the fault suite needs): tests, the fault suite and bench/ import from here.
 *   recording.ts  startFakeApi: records every Slack/Discord call, answers what the test scripts
 *   digests.ts    startDigestStandIns: Slack/Discord posts plus GitHub activity, for digests
 *   faults.ts     startFaultStandIns: Slack Web API plus model providers, for the fault suite
 *   github.ts     githubStandIn: GitHub's REST API as a nock-like route table
 *   server.ts     body reading and parsing, JSON answers, the 127.0.0.1 server they all run on
 */
export * from './digests.js';
export * from './discord.js';
export * from './faults.js';
export * from './github.js';
export * from './models.js';
export * from './recording.js';
export * from './server.js';
export * from './slack.js';
