/**
 * A guarded way out for a dependency-install step (npm ci, pip install, go mod download). A setup run
 * joins a fresh Docker network that is `internal` (no route out) and whose host bridge has no IPv4
 * address (`inhibit_ipv4`, so the sandbox cannot reach services on the Docker host through the
 * gateway either). The only other member is a proxy container: Debian's tinyproxy from the sandbox
 * image, also attached to an outbound network. tinyproxy forwards only URLs of the allow-listed
 * registry hosts (FilterDefaultDeny, anchored regexes on the whole URL, so the port is part of the
 * match) and answers everything else itself with its 403 page before connecting anywhere: a host not
 * on the list, any IP literal (private ranges, 169.254.169.254), a CONNECT to a port not allowed.
 * We configure a well-kept proxy; we never write one.
 */
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { z } from 'zod';
import { DeckhandError, type Logger } from '../core/index.js';
import { LABEL_DEPCACHE } from './dependency-cache.js';
import {
  type AllowEntry,
  EGRESS_CONFIG_DIR,
  EGRESS_PROXY_PORT,
  filterRules,
  parseAllowEntry,
  proxyEnv,
  tinyproxyConfig,
} from './egress-config.js';
import { type EgressShape, SANDBOX_PATH, SANDBOX_UID } from './limits.js';
import { LABEL_DEADLINE, LABEL_OWNER, ownerId, reapReason, sandboxLabels } from './reaper.js';

/** Label on the session's network and proxy container (value '1'). */
export const LABEL_EGRESS = 'deckhand.egress';
/** The warm-pool label value of proxy containers (so the sandbox reaper also removes orphans). */
export const EGRESS_POOL = 'egress';
/** The proxy's name on the session's internal network (each session has its own network). */
export const EGRESS_PROXY_ALIAS = 'deckhand-egress-proxy';
export const DEFAULT_EGRESS_ALLOW: readonly string[] = [
  'registry.npmjs.org',
  'pypi.org',
  'files.pythonhosted.org',
  'proxy.golang.org',
  'sum.golang.org',
];

const CONFIG_DIR = EGRESS_CONFIG_DIR;
const MIB = 1024 * 1024;
/**
 * After this the reapers may remove what is left of a session (its owner should have closed it):
 * above the longest setup run (sandbox.timeoutSeconds is at most an hour).
 */
const DEFAULT_LIFETIME_MS = 2 * 60 * 60_000;
const READY_TIMEOUT_MS = 15_000;

export const egressOptionsSchema = z
  .object({
    /** Host names (or `*.suffix`), optionally with `:port`. */
    allow: z.array(z.string().min(1)).min(1).max(100),
    /** The network the proxy reaches the registries through (Docker's default bridge unless set). */
    outboundNetwork: z.string().min(1).default('bridge'),
    /** After this, the reapers may remove the session's proxy and network (the owner died). */
    lifetimeMs: z.number().int().positive().default(DEFAULT_LIFETIME_MS),
  })
  .strict();
export type EgressOptions = z.input<typeof egressOptionsSchema> & {
  docker: Docker;
  /** The sandbox image (with tinyproxy): tag or pinned ID. */
  image: string;
  logger?: Logger;
};

/** What a sandbox run needs to join a session (SandboxRunOptions.egress). */
export interface EgressAttachment {
  network: string;
  env: Record<string, string>;
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

async function ignoreGone(promise: Promise<unknown>): Promise<void> {
  try {
    await promise;
  } catch (error) {
    if (statusOf(error) !== 404) throw error;
  }
}

function egressFailed(detail: string, cause?: unknown): DeckhandError {
  return new DeckhandError(
    'SANDBOX_FAILED',
    'The network proxy for installing dependencies could not be started. Try again in a minute.',
    { cause, retryable: true, detail },
  );
}

// Writes the config and filter from the environment onto the /tmp tmpfs, then runs tinyproxy.
const PROXY_SCRIPT = `umask 077 && mkdir -p ${CONFIG_DIR} \
&& printf '%s\\n' "$DECKHAND_PROXY_CONF" >${CONFIG_DIR}/tinyproxy.conf \
&& printf '%s\\n' "$DECKHAND_PROXY_FILTER" >${CONFIG_DIR}/filter \
&& unset DECKHAND_PROXY_CONF DECKHAND_PROXY_FILTER \
&& exec tinyproxy -d -c ${CONFIG_DIR}/tinyproxy.conf`;

// Waits for the port, then asks for a host that is not on the list (the proxy container's own
// loopback, so nothing leaves even if filtering were off) and prints the status line: a proxy
// whose filter did not load would otherwise run wide open.
const PROBE_SCRIPT = `import socket, sys, time
for _ in range(200):
    try:
        s = socket.create_connection(("127.0.0.1", ${EGRESS_PROXY_PORT}), timeout=2)
        break
    except OSError:
        time.sleep(0.05)
else:
    sys.exit(3)
s.sendall(b"GET http://127.0.0.1:9/ HTTP/1.0\\r\\n\\r\\n")
s.settimeout(5)
print(s.recv(256).split(b"\\r\\n")[0].decode("latin-1"))`;

/** One setup run's proxy and internal network. open() starts both; close() removes both. */
export class EgressProxy {
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly docker: Docker,
    /** The internal network a setup run joins. */
    readonly network: string,
    /** The proxy container's ID. */
    readonly containerId: string,
    /** The proxy as seen from a sandbox on `network`. */
    readonly proxyUrl: string,
    readonly allow: readonly AllowEntry[],
  ) {}

  /** HTTP(S)_PROXY and friends for the setup program (see proxyEnv). */
  get env(): Record<string, string> {
    return proxyEnv(this.proxyUrl);
  }

  /** For SandboxRunOptions.egress. */
  get attachment(): EgressAttachment {
    return { network: this.network, env: this.env };
  }

  /** Creates the network and the proxy, waits until it refuses an unlisted host; cleans up on failure. */
  static async open(options: EgressOptions): Promise<EgressProxy> {
    const { docker, image, logger } = options;
    const checked = egressOptionsSchema.safeParse({
      allow: options.allow,
      outboundNetwork: options.outboundNetwork,
      lifetimeMs: options.lifetimeMs,
    });
    if (!checked.success) {
      const problems = checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      throw new DeckhandError('CONFIG_INVALID', `sandbox.egress is invalid: ${problems}`);
    }
    const parsed = checked.data;
    const allow = parsed.allow.map(parseAllowEntry);
    const name = `deckhand-egress-${randomBytes(6).toString('hex')}`;
    const deadline = Date.now() + parsed.lifetimeMs;
    let containerId: string | undefined;
    try {
      const network = await docker.createNetwork({
        Name: name,
        Driver: 'bridge',
        Internal: true,
        CheckDuplicate: true,
        Options: { 'com.docker.network.bridge.inhibit_ipv4': 'true' },
        Labels: {
          [LABEL_EGRESS]: '1',
          [LABEL_OWNER]: ownerId(),
          [LABEL_DEADLINE]: String(deadline),
        },
      });
      const info = await network.inspect();
      const subnets = ((info.IPAM?.Config ?? []) as { Subnet?: string }[]).flatMap((c) =>
        c.Subnet ? [c.Subnet] : [],
      );
      if (subnets.length === 0) throw egressFailed(`network ${name} has no subnet`);
      const container = await createProxyContainer(docker, {
        name,
        image,
        deadline,
        config: tinyproxyConfig(allow, subnets),
        filter: filterRules(allow).join('\n'),
      });
      containerId = container.id;
      await docker.getNetwork(parsed.outboundNetwork).connect({ Container: container.id });
      await container.start();
      await waitUntilFiltering(docker, container);
      logger?.debug(
        { network: name, allow: parsed.allow, outbound: parsed.outboundNetwork },
        'egress proxy ready',
      );
      const url = `http://${EGRESS_PROXY_ALIAS}:${EGRESS_PROXY_PORT}`;
      return new EgressProxy(docker, name, container.id, url, allow);
    } catch (error) {
      await removeSession(docker, name, containerId).catch((cleanup: unknown) =>
        logger?.warn({ err: cleanup, network: name }, 'egress cleanup after a failed start failed'),
      );
      if (error instanceof DeckhandError) throw error;
      throw egressFailed(error instanceof Error ? error.message : String(error), error);
    }
  }

  /** The proxy's log (one line a request; refusals say `Proxying refused on filtered url`). */
  async log(): Promise<string> {
    const raw = await this.docker.getContainer(this.containerId).logs({ stdout: true, stderr: true });
    return demuxText(Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw)));
  }

  /** Removes the proxy and the network; idempotent, safe after a failed run, retried if it failed. */
  close(): Promise<void> {
    this.closing ??= removeSession(this.docker, this.network, this.containerId).catch((error: unknown) => {
      this.closing = undefined;
      throw error;
    });
    return this.closing;
  }
}

async function createProxyContainer(
  docker: Docker,
  input: { name: string; image: string; deadline: number; config: string; filter: string },
): Promise<Docker.Container> {
  return docker.createContainer({
    name: input.name,
    Image: input.image,
    Entrypoint: ['/bin/sh', '-c'],
    Cmd: [PROXY_SCRIPT],
    User: `${SANDBOX_UID}:${SANDBOX_UID}`,
    WorkingDir: '/tmp',
    Env: [
      `PATH=${SANDBOX_PATH}`,
      `DECKHAND_PROXY_CONF=${input.config}`,
      `DECKHAND_PROXY_FILTER=${input.filter}`,
    ],
    Labels: { ...sandboxLabels(EGRESS_POOL, input.deadline), [LABEL_EGRESS]: '1' },
    NetworkingConfig: { EndpointsConfig: { [input.name]: { Aliases: [EGRESS_PROXY_ALIAS] } } },
    HostConfig: {
      NetworkMode: input.name,
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      PidsLimit: 64,
      Memory: 64 * MIB,
      MemorySwap: 64 * MIB,
      NanoCpus: 500_000_000,
      Tmpfs: { '/tmp': 'rw,noexec,nosuid,nodev,size=1m' },
      // Small and bounded: the log is one line a request, for `log()` and for an operator.
      LogConfig: { Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '1' } },
      Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 1024 }],
      IpcMode: 'private',
      AutoRemove: false,
    },
  });
}

/** Docker's multiplexed exec/log stream as text (both streams, in order). */
function demuxText(raw: Buffer): string {
  let text = '';
  let offset = 0;
  while (offset + 8 <= raw.length) {
    const size = raw.readUInt32BE(offset + 4);
    text += raw.subarray(offset + 8, offset + 8 + size).toString('utf8');
    offset += 8 + size;
  }
  return text;
}

async function waitUntilFiltering(docker: Docker, container: Docker.Container): Promise<void> {
  const exec = await container.exec({
    Cmd: ['python3', '-c', PROBE_SCRIPT],
    AttachStdout: true,
    AttachStderr: true,
    User: `${SANDBOX_UID}:${SANDBOX_UID}`,
  });
  const stream = await exec.start({ hijack: true, stdin: false });
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  docker.modem.demuxStream(stream, stdout, stderr);
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
  });
  stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString('utf8');
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      stream.destroy();
      reject(new Error(`the proxy did not answer within ${READY_TIMEOUT_MS} ms`));
    }, READY_TIMEOUT_MS);
    stream.once('end', () => {
      clearTimeout(timer);
      resolve();
    });
    stream.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
  if (!/^HTTP\/1\.[01] 403 Filtered/.test(out.trim())) {
    const state = await container.inspect().catch(() => undefined);
    const logs = await container
      .logs({ stdout: true, stderr: true, tail: 20 })
      .then((raw) => demuxText(Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw))))
      .catch(() => '');
    const missing = /tinyproxy: not found/.test(logs)
      ? ' (the sandbox image has no tinyproxy: rebuild it with scripts/sandbox-image.sh)'
      : '';
    throw egressFailed(
      `probe answered ${JSON.stringify(out.trim() || err.trim())}, proxy ${state?.State.Running ? 'running' : 'stopped'}${missing}: ${logs.slice(-500)}`,
    );
  }
}

async function removeSession(
  docker: Docker,
  network: string,
  containerId: string | undefined,
): Promise<void> {
  if (containerId) await ignoreGone(docker.getContainer(containerId).remove({ force: true }));
  await removeNetwork(docker, network);
}

/** Removes a network; a sandbox container still attached (being removed right now) is waited for. */
async function removeNetwork(docker: Docker, name: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await ignoreGone(docker.getNetwork(name).remove());
      return;
    } catch (error) {
      // 403: "has active endpoints" (a run's container is still being removed).
      if (statusOf(error) !== 403 || attempt >= 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/** The container shape of a setup run that joins a session (sandbox.ts). */
export function egressShapeOf(input: { network: string; cacheVolume?: string | undefined }): EgressShape {
  return { network: input.network, ...(input.cacheVolume ? { cacheVolume: input.cacheVolume } : {}) };
}

/**
 * Refuses a setup run whose network is not an egress session's (it must be internal and ours, so a
 * caller's mistake, say `bridge`, can never hand a setup program the open network), or whose cache
 * volume is not a dependency cache (Docker would otherwise make any name, or mount someone else's).
 */
export async function assertEgressTarget(
  docker: Docker,
  target: { network: string; cacheVolume?: string | undefined },
): Promise<void> {
  const network = (await docker.getNetwork(target.network).inspect().catch(notFoundAsUndefined)) as
    | Docker.NetworkInspectInfo
    | undefined;
  if (!network?.Internal || network.Labels?.[LABEL_EGRESS] !== '1') {
    throw new DeckhandError(
      'BAD_REQUEST',
      `Network ${target.network} is not an egress proxy's internal network; a setup run joins only those.`,
    );
  }
  if (target.cacheVolume === undefined) return;
  const volume = (await docker.getVolume(target.cacheVolume).inspect().catch(notFoundAsUndefined)) as
    | Docker.VolumeInspectInfo
    | undefined;
  if (!volume?.Labels?.[LABEL_DEPCACHE]) {
    throw new DeckhandError(
      'BAD_REQUEST',
      `Volume ${target.cacheVolume} is not a dependency cache; a setup run mounts only those.`,
    );
  }
}

function notFoundAsUndefined(error: unknown): undefined {
  if (statusOf(error) === 404) return undefined;
  throw error;
}

/**
 * Removes egress networks whose owner process is gone or whose deadline passed (their proxies are
 * sandbox-labelled, so reapOrphans removes those). Call it next to reapOrphans; returns how many.
 */
export async function reapEgressNetworks(docker: Docker, logger?: Logger, now = Date.now()): Promise<number> {
  const networks = await docker.listNetworks({ filters: { label: [`${LABEL_EGRESS}=1`] } });
  let removed = 0;
  for (const info of networks) {
    const reason = reapReason(info.Labels ?? {}, now);
    if (!reason) continue;
    try {
      const attached = await docker.listContainers({ all: true, filters: { network: [info.Name] } });
      await Promise.all(attached.map((c) => ignoreGone(docker.getContainer(c.Id).remove({ force: true }))));
      await removeNetwork(docker, info.Name);
      removed++;
      logger?.info({ network: info.Name, reason }, 'removed orphaned egress network');
    } catch (error) {
      logger?.warn({ err: error, network: info.Name }, 'could not remove egress network');
    }
  }
  return removed;
}
