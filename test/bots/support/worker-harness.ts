/**
 * The real store, pipeline, worker, command router and reply sinks around a stand-in orchestrator,
 * with slack.com and discord.com as the loopback stand-in (test/support/platforms/recording.ts): for the tests that
 * check what a user is sent when the work itself is a given, without Docker or a model.
 */
import {
  createEventHandler,
  createPipeline,
  createSinkFactory,
  createWorker,
  type FailureNotifier,
  type Pipeline,
  type SinkFactory,
} from '../../../src/bots/index.js';
import { type Config, createLogger, loadConfig, type Orchestrator } from '../../../src/core/index.js';
import type { Store } from '../../../src/store/index.js';
import { type ApiReply, type FakeApi, startFakeApi } from '../../support/platforms/index.js';
import { dropTestStore, openTestStore } from '../../support/store.js';

export interface OrchestratorWorkerOptions {
  /** The environment the config is loaded from: the bot tokens. */
  env: Record<string, string>;
  /** What the Slack and Discord stand-in answers. */
  reply: ApiReply;
  /** Changes to the loaded config, before the sinks are made. */
  configure?: (config: Config) => void;
  /** The work behind any message that is not a command. */
  orchestrator: Orchestrator;
  /** The worker's `onGiveUp`, made with the reply sinks. */
  onGiveUp?: (sinkFor: SinkFactory) => FailureNotifier;
}

export interface OrchestratorWorker {
  store: Store;
  pipeline: Pipeline;
  /** The stand-in for https://slack.com/api (paths /api/<method>) and https://discord.com/api/v10. */
  api: FakeApi;
  close(): Promise<void>;
}

export async function startOrchestratorWorker(
  options: OrchestratorWorkerOptions,
): Promise<OrchestratorWorker> {
  const store = await openTestStore();
  const api = await startFakeApi(options.reply);
  const logger = createLogger({ level: 'silent', pretty: false });
  const config = loadConfig(options.env);
  options.configure?.(config);
  const sinkFor = createSinkFactory({
    config,
    logger,
    env: { SLACK_API_URL: `${api.url}/api`, DISCORD_API_URL: `${api.url}/api/v10` },
  });
  const pipeline = createPipeline(store);
  const worker = createWorker({
    store,
    pipeline,
    logger,
    pollMs: 50,
    handler: createEventHandler({ store, sinkFor, orchestrator: options.orchestrator }),
    onGiveUp: options.onGiveUp?.(sinkFor),
  });
  worker.start();
  return {
    store,
    pipeline,
    api,
    async close() {
      await worker.stop(5000);
      await api.close();
      await dropTestStore(store);
    },
  };
}
