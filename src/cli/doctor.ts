/**
 * `deckhand doctor`: one line per part (store, Redis, Docker, Slack, Discord, GitHub, models) saying
 * ok / not configured / broken, and the exact variable or command that fixes it. Exit code 1 only
 * when a part that is configured is broken; an empty environment is a valid (embedded) setup.
 */
import { createPrivateKey } from 'node:crypto';
import { Redis } from 'ioredis';
import { probeMcpServers } from '../agents/index.js';
import { messageContentIntent } from '../bots/index.js';
import type { Config, SecretVariable } from '../core/index.js';
import { createDockerClient, dockerConfigured, dockerVersion, imageExists } from '../runners/index.js';
import { describeMongoUri, openStore } from '../store/index.js';

export type CheckState = 'ok' | 'not configured' | 'broken';
export interface CheckResult {
  part: string;
  state: CheckState;
  detail: string;
  fix?: string;
}

function missing(config: Config, names: SecretVariable[]): SecretVariable[] {
  return names.filter((name) => !config.secrets[name]);
}

function secretGroup(
  config: Config,
  part: string,
  required: SecretVariable[],
  validate: () => string | undefined,
  purpose: string,
): CheckResult {
  const absent = missing(config, required);
  if (absent.length === required.length) {
    return {
      part,
      state: 'not configured',
      detail: `${purpose} is off: ${absent.join(', ')} not set`,
      fix: `export ${absent.map((n) => `${n}=...`).join(' ')}  (or NAME_FILE=/path for each)`,
    };
  }
  if (absent.length > 0) {
    return {
      part,
      state: 'broken',
      detail: `partly configured: ${absent.join(', ')} missing`,
      fix: `export ${absent.map((n) => `${n}=...`).join(' ')}`,
    };
  }
  const problem = validate();
  return problem
    ? { part, state: 'broken', detail: problem.split(' | ')[0] ?? problem, fix: problem.split(' | ')[1] }
    : { part, state: 'ok', detail: `${purpose} configured` };
}

// A race, not AbortSignal.timeout: ioredis, dockerVersion and messageContentIntent take no signal.
async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function checkStore(config: Config): Promise<CheckResult> {
  const uri = config.store.uri;
  if (!uri) {
    return {
      part: 'store',
      state: 'not configured',
      detail: 'MONGODB_URI not set: Deckhand starts the embedded FerretDB (scripts/services.sh up mongo)',
      fix: 'export MONGODB_URI=mongodb://host:27017/deckhand  for MongoDB 6+, Atlas or FerretDB',
    };
  }
  try {
    const store = await openStore({ uri, retries: 0, serverSelectionTimeoutMs: 3000, ensureIndexes: false });
    const { server } = await store.ping();
    await store.close();
    return { part: 'store', state: 'ok', detail: `${server} at ${describeMongoUri(uri)}` };
  } catch (_error) {
    return {
      part: 'store',
      state: 'broken',
      detail: `cannot reach ${describeMongoUri(uri)}`,
      fix: 'check MONGODB_URI, or unset it and run scripts/services.sh up',
    };
  }
}

async function checkRedis(config: Config): Promise<CheckResult> {
  const url = config.redis.url;
  if (!url) {
    return {
      part: 'redis',
      state: 'not configured',
      detail: 'REDIS_URL not set: locks and rate limits are in memory (one process only)',
      fix: 'export REDIS_URL=redis://host:6379  to run more than one replica',
    };
  }
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await withTimeout(redis.connect(), 3000, 'Redis');
    const pong = await withTimeout(redis.ping(), 2000, 'Redis');
    return { part: 'redis', state: 'ok', detail: `${pong} from ${new URL(url).host}` };
  } catch (error) {
    return {
      part: 'redis',
      state: 'broken',
      detail: `cannot reach ${safeHost(url)}: ${(error as Error).message}`,
      fix: 'check REDIS_URL',
    };
  } finally {
    redis.disconnect();
  }
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(unparseable URL)';
  }
}

async function checkDocker(config: Config): Promise<CheckResult> {
  if (!dockerConfigured()) {
    return {
      part: 'docker',
      state: 'not configured',
      detail: 'no Docker engine: code execution is off',
      fix: 'apt-get install -y docker.io && dockerd &  (or export DOCKER_HOST=unix:///path/docker.sock)',
    };
  }
  try {
    const docker = createDockerClient();
    const version = await withTimeout(dockerVersion(docker), 3000, 'Docker');
    const hasImage = await imageExists(docker, config.sandbox.image);
    if (!hasImage) {
      return {
        part: 'docker',
        // The engine works; code execution just has not been set up yet (a step, not a fault).
        state: 'not configured',
        detail: `engine ${version} is up but the sandbox image ${config.sandbox.image} is not built: code execution is off`,
        fix: 'deckhand sandbox build',
      };
    }
    return {
      part: 'docker',
      state: 'ok',
      detail: `engine ${version}, image ${config.sandbox.image}${plainTcpNote()}`,
    };
  } catch (error) {
    return {
      part: 'docker',
      state: 'broken',
      detail: `engine does not answer: ${(error as Error).message}`,
      fix: process.env.DOCKER_HOST
        ? 'check DOCKER_HOST (tcp:// with TLS: DOCKER_TLS_VERIFY=1, ca.pem, cert.pem and key.pem in DOCKER_CERT_PATH)'
        : 'start it: dockerd &',
    };
  }
}

/** An engine on plain tcp:// is an unauthenticated root shell on its host for anyone who can reach it. */
function plainTcpNote(env: NodeJS.ProcessEnv = process.env): string {
  const host = env.DOCKER_HOST ?? '';
  if (!host || host.startsWith('unix://') || env.DOCKER_TLS_VERIFY || env.DOCKER_TLS) return '';
  return ' (plain TCP without TLS: set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH)';
}

/**
 * The gateway asks for the privileged Message Content intent (unless discord.messageContent is false);
 * Discord closes the connection (4014 "Disallowed intents") when the Developer Portal switch is off.
 */
async function checkDiscordGateway(config: Config): Promise<CheckResult> {
  const part = 'discord gateway';
  if (!config.discord.gateway) {
    return {
      part,
      state: 'not configured',
      detail: 'gateway off (discord.gateway: false): interactions over HTTP only',
    };
  }
  if (!config.discord.messageContent) {
    return {
      part,
      state: 'ok',
      detail:
        'Message Content intent not requested: mentions and DMs work, plain thread replies arrive without text',
    };
  }
  try {
    const intent = await withTimeout(
      messageContentIntent(config.secrets.DISCORD_BOT_TOKEN ?? '', { apiUrl: process.env.DISCORD_API_URL }),
      5000,
      'Discord',
    );
    if (intent === 'enabled') return { part, state: 'ok', detail: 'Message Content intent enabled' };
    return {
      part,
      state: 'broken',
      detail: 'the Message Content intent (privileged) is off, so the gateway would be refused',
      fix: 'Developer Portal > your application > Bot > Privileged Gateway Intents: turn on Message Content Intent (or set discord.messageContent: false)',
    };
  } catch (error) {
    return {
      part,
      state: 'broken',
      detail: `could not read the application: ${(error as Error).message}`,
      fix: 'check DISCORD_BOT_TOKEN (Developer Portal > Bot > Reset Token)',
    };
  }
}

export async function runDoctor(config: Config): Promise<CheckResult[]> {
  const s = config.secrets;
  const [store, redis, docker] = await Promise.all([
    checkStore(config),
    checkRedis(config),
    checkDocker(config),
  ]);
  // Socket Mode (SLACK_APP_TOKEN) needs no signing secret; multi-workspace installs need no bot token.
  const slackRequired: SecretVariable[] = [
    s.SLACK_APP_TOKEN && config.slack.socketMode ? 'SLACK_APP_TOKEN' : 'SLACK_SIGNING_SECRET',
    ...(s.SLACK_CLIENT_ID
      ? (['SLACK_CLIENT_ID', 'SLACK_CLIENT_SECRET', 'SLACK_STATE_SECRET'] as const)
      : (['SLACK_BOT_TOKEN'] as const)),
  ];
  const slack = secretGroup(
    config,
    'slack',
    slackRequired,
    () => {
      if (s.SLACK_BOT_TOKEN && !s.SLACK_BOT_TOKEN.startsWith('xoxb-')) {
        return 'SLACK_BOT_TOKEN is not a bot token (it must start with xoxb-) | copy the Bot User OAuth Token from your Slack app';
      }
      if (s.SLACK_APP_TOKEN && !s.SLACK_APP_TOKEN.startsWith('xapp-')) {
        return 'SLACK_APP_TOKEN is not an app-level token (it must start with xapp-) | Basic Information > App-Level Tokens, scope connections:write';
      }
      return undefined;
    },
    'Slack',
  );
  const discord = secretGroup(
    config,
    'discord',
    ['DISCORD_APPLICATION_ID', 'DISCORD_PUBLIC_KEY', 'DISCORD_BOT_TOKEN'],
    () =>
      /^[0-9a-f]{64}$/i.test(s.DISCORD_PUBLIC_KEY ?? '')
        ? undefined
        : 'DISCORD_PUBLIC_KEY must be 64 hex characters | copy Public Key from the Discord developer portal',
    'Discord',
  );
  // A GitHub App (id + private key), or a personal token (GITHUB_TOKEN) as the simple alternative.
  const githubByToken = Boolean(s.GITHUB_TOKEN) && !s.GITHUB_APP_ID && !s.GITHUB_PRIVATE_KEY;
  const github = secretGroup(
    config,
    'github',
    githubByToken
      ? ['GITHUB_TOKEN', 'GITHUB_WEBHOOK_SECRET']
      : ['GITHUB_APP_ID', 'GITHUB_PRIVATE_KEY', 'GITHUB_WEBHOOK_SECRET'],
    () => {
      if (githubByToken) return undefined;
      try {
        createPrivateKey(s.GITHUB_PRIVATE_KEY ?? '');
        return undefined;
      } catch {
        return 'GITHUB_PRIVATE_KEY is not a PEM private key | point GITHUB_PRIVATE_KEY_FILE at the .pem the App settings page gave you';
      }
    },
    githubByToken ? 'GitHub (personal token)' : 'GitHub App',
  );
  const gateway = discord.state === 'ok' ? [await checkDiscordGateway(config)] : [];
  return [
    store,
    redis,
    docker,
    slack,
    discord,
    ...gateway,
    github,
    checkModels(config),
    ...(await checkMcp(config)),
  ];
}

/** One line per MCP server in models.mcpServers: started and listed its tools, or why not. */
async function checkMcp(config: Config): Promise<CheckResult[]> {
  if (Object.keys(config.models.mcpServers).length === 0) return [];
  const statuses = await probeMcpServers(config);
  return statuses.map((s) =>
    s.state === 'ok'
      ? { part: `mcp:${s.server}`, state: 'ok', detail: `${s.detail}: ${s.tools.join(', ')}` }
      : {
          part: `mcp:${s.server}`,
          state: 'broken',
          detail: `did not start: ${s.detail}; its tools are off, the others still work`,
          fix: `check models.mcpServers.${s.server} (command/args or url)`,
        },
  );
}

function checkModels(config: Config): CheckResult {
  const s = config.secrets;
  const provider = config.models.default.split(':')[0];
  const anyKey = s.ANTHROPIC_API_KEY || s.OPENAI_API_KEY || s.OPENAI_BASE_URL;
  if (!anyKey) {
    return {
      part: 'models',
      state: 'not configured',
      detail:
        'no model provider: ANTHROPIC_API_KEY, OPENAI_API_KEY, OPENAI_BASE_URL not set (commands still work)',
      fix: 'export ANTHROPIC_API_KEY=...  or OPENAI_API_KEY=...  or OPENAI_BASE_URL=http://host/v1 for a compatible endpoint',
    };
  }
  const needs = provider === 'anthropic' ? 'ANTHROPIC_API_KEY' : 'OPENAI_API_KEY or OPENAI_BASE_URL';
  const ok =
    provider === 'anthropic' ? Boolean(s.ANTHROPIC_API_KEY) : Boolean(s.OPENAI_API_KEY || s.OPENAI_BASE_URL);
  return ok
    ? { part: 'models', state: 'ok', detail: `default model ${config.models.default}` }
    : {
        part: 'models',
        state: 'broken',
        detail: `default model ${config.models.default} needs ${needs}`,
        fix: `export ${needs.split(' ')[0]}=...  or DECKHAND_DEFAULT_MODEL=<provider:model> for a provider you have`,
      };
}

export function formatDoctor(results: CheckResult[]): string {
  const lines = results.map((r) => {
    const head = `${r.part.padEnd(8)} ${r.state.padEnd(15)} ${r.detail}`;
    return r.fix && r.state !== 'ok' ? `${head}\n${' '.repeat(25)}fix: ${r.fix}` : head;
  });
  return `${lines.join('\n')}\n`;
}

export function doctorExitCode(results: CheckResult[]): number {
  return results.some((r) => r.state === 'broken') ? 1 : 0;
}
