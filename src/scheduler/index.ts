export {
  DIGEST_USAGE,
  type DigestCommandContext,
  describeSchedule,
  handleDigestCommand,
  queueDigestNow,
} from './chat.js';
export {
  type ComposedDigest,
  composeDigest,
  composeWithSummary,
  type DigestFacts,
  type Summarise,
} from './compose.js';
export { type ConfiguredDigest, syncConfigSchedules } from './config-schedules.js';
export { type Cadence, formatLocal, latestDue, nextDue, parseWhen, validCron } from './cron.js';
export { cadenceOf } from './due.js';
export { type SchedulerFromConfigOptions, schedulerFromConfig } from './from-config.js';
export { assertMinInterval, DEFAULT_MIN_INTERVAL_MINUTES } from './interval.js';
export { digestSummariser, githubOctokitFor } from './ports.js';
export {
  createDigestPoster,
  type DigestChannels,
  type DigestPoster,
  type DigestTarget,
} from './post.js';
export {
  createDigestRunner,
  type DigestRunner,
  type DigestRunnerOptions,
  type SweepResult,
} from './runner.js';
export {
  agendashRouter,
  createScheduler,
  JOBS_COLLECTION,
  jobsDashboardRouter,
  type Scheduler,
  type SchedulerOptions,
} from './scheduler.js';
export { type ScheduleSummaryView, schedulerToolPort } from './tool-port.js';
