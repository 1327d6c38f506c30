/**
 * Stand-ins for the npm registry and PyPI, for tests of a setup run that installs a repository's
 * dependencies: each is a container of the local sandbox image (node is in it) on a Docker network the
 * test creates, reachable there by a network alias (`registry.npm.test`, `pypi.test`), serving the
 * one package registry-packages.ts builds. No host folder is mounted and nothing is published to the
 * host: the files travel in the container's environment and the server is a `node -e` program. Each
 * request's path is logged, so a test can assert an install went through the stand-in.
 *
 * The network is created `Internal`, so nothing on it can reach any other address: an install that
 * is not pointed at a stand-in fails instead of reaching the real registry.
 */
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { npmRegistryFiles, pypiFiles, type ServedFile } from './registry-packages.js';

export const NPM_STAND_IN_HOST = 'registry.npm.test';
export const PYPI_STAND_IN_HOST = 'pypi.test';
/** Every container and network made here carries this label, for a sweep after a crashed run. */
export const STAND_IN_LABEL = 'deckhand.test.registry-stand-in';
const DEFAULT_IMAGE = process.env.DECKHAND_SANDBOX_IMAGE || 'deckhand-sandbox:latest';
const READY_LINE = 'STAND-IN READY';
const REQUEST_PREFIX = 'STAND-IN REQUEST ';

/**
 * The server: the files come base64-encoded in STAND_IN_FILES; each request is logged as one JSON
 * line; a path is looked up as given, then with or without its trailing slash.
 */
const SERVER = `
const http = require('node:http');
const files = JSON.parse(Buffer.from(process.env.STAND_IN_FILES, 'base64').toString('utf8'));
http.createServer((req, res) => {
  let path;
  try { path = decodeURIComponent(new URL(req.url, 'http://stand-in').pathname); } catch { path = req.url; }
  console.log(${JSON.stringify(REQUEST_PREFIX)} + JSON.stringify({ method: req.method, path }));
  const file = files[path] || files[path.endsWith('/') ? path.slice(0, -1) : path + '/'];
  if (!file || (req.method !== 'GET' && req.method !== 'HEAD')) {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\\n');
    return;
  }
  const body = Buffer.from(file.body, 'base64');
  res.writeHead(200, { 'content-type': file.type, 'content-length': body.length });
  res.end(req.method === 'HEAD' ? undefined : body);
}).listen(80, '0.0.0.0', () => console.log(${JSON.stringify(READY_LINE)}));
`;

export interface StandInRequest {
  method: string;
  path: string;
}

export interface RegistryStandIn {
  /** The network alias, as containers on the network resolve it. */
  host: string;
  /** Its base URL as seen from containers on the network (`http://registry.npm.test/`). */
  url: string;
  container: Docker.Container;
  /** Every request it has served so far, oldest first. */
  requests(): Promise<StandInRequest[]>;
}

export interface RegistryStandIns {
  network: string;
  npm: RegistryStandIn;
  pypi: RegistryStandIn;
  /** npm's `registry=` setting (for an .npmrc, `--registry`, or npm_config_registry). */
  npmRegistry: string;
  /** pip's `--index-url` (PIP_INDEX_URL) and `--trusted-host` (PIP_TRUSTED_HOST): plain http. */
  pipIndexUrl: string;
  pipTrustedHost: string;
  /** The same as environment entries (`NAME=value`) for a setup run's container. */
  env: string[];
  stop(): Promise<void>;
}

/** One stream (1 stdout, 2 stderr) of Docker's log without a TTY: frames of an 8-byte header and bytes. */
function demux(raw: Buffer, stream = 1): string {
  const out: Buffer[] = [];
  for (let at = 0; at + 8 <= raw.length; ) {
    const size = raw.readUInt32BE(at + 4);
    if (raw[at] === stream) out.push(raw.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  return Buffer.concat(out).toString('utf8');
}

async function stdoutOf(container: Docker.Container): Promise<string> {
  const raw = await container.logs({ stdout: true, stderr: false, follow: false });
  return demux(Buffer.isBuffer(raw) ? raw : Buffer.from(raw));
}

async function waitReady(container: Docker.Container, name: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if ((await stdoutOf(container)).includes(READY_LINE)) return;
    const state = (await container.inspect()).State;
    if (!state.Running) {
      const raw = await container.logs({ stdout: true, stderr: true, follow: false });
      throw new Error(
        `the ${name} stand-in exited (${state.ExitCode}): ${demux(Buffer.from(raw), 2).slice(-2000)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the ${name} stand-in was not ready within ${timeoutMs} ms`);
}

function encodeFiles(files: Record<string, ServedFile>): string {
  const plain = Object.fromEntries(
    Object.entries(files).map(([path, file]) => [
      path,
      { type: file.type, body: file.body.toString('base64') },
    ]),
  );
  return Buffer.from(JSON.stringify(plain)).toString('base64');
}

async function startStandIn(
  docker: Docker,
  options: { network: string; host: string; image: string; files: Record<string, ServedFile> },
): Promise<RegistryStandIn> {
  const container = await docker.createContainer({
    name: `deckhand-stand-in-${options.host.replaceAll('.', '-')}-${randomBytes(4).toString('hex')}`,
    Image: options.image,
    Cmd: ['node', '-e', SERVER],
    Env: [`STAND_IN_FILES=${encodeFiles(options.files)}`],
    WorkingDir: '/tmp',
    Labels: { [STAND_IN_LABEL]: 'true' },
    HostConfig: {
      NetworkMode: options.network,
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      // The image's non-root user may listen on port 80 (Docker's default too, said explicitly).
      Sysctls: { 'net.ipv4.ip_unprivileged_port_start': '0' },
      Memory: 128 * 1024 * 1024,
      PidsLimit: 64,
    },
    NetworkingConfig: { EndpointsConfig: { [options.network]: { Aliases: [options.host] } } },
  });
  try {
    await container.start();
    await waitReady(container, options.host);
  } catch (error) {
    await container.remove({ force: true }).catch(() => undefined);
    throw error;
  }
  return {
    host: options.host,
    url: `http://${options.host}/`,
    container,
    async requests() {
      return (await stdoutOf(container))
        .split('\n')
        .filter((line) => line.startsWith(REQUEST_PREFIX))
        .map((line) => JSON.parse(line.slice(REQUEST_PREFIX.length)) as StandInRequest);
    },
  };
}

/**
 * Starts both stand-ins on `network` (made by the test, e.g. with createTestNetwork). Stop them with
 * `stop()`, in an afterAll or finally: it removes both containers.
 */
export async function startRegistryStandIns(
  docker: Docker,
  options: { network: string; image?: string },
): Promise<RegistryStandIns> {
  const image = options.image ?? DEFAULT_IMAGE;
  const npmUrl = `http://${NPM_STAND_IN_HOST}/`;
  const started: RegistryStandIn[] = [];
  const stop = async () => {
    await Promise.all(started.map((s) => s.container.remove({ force: true }).catch(() => undefined)));
  };
  try {
    const base = { network: options.network, image };
    started.push(
      await startStandIn(docker, { ...base, host: NPM_STAND_IN_HOST, files: npmRegistryFiles(npmUrl) }),
    );
    started.push(await startStandIn(docker, { ...base, host: PYPI_STAND_IN_HOST, files: pypiFiles() }));
  } catch (error) {
    await stop();
    throw error;
  }
  const [npm, pypi] = started as [RegistryStandIn, RegistryStandIn];
  const pipIndexUrl = `${pypi.url}simple/`;
  return {
    network: options.network,
    npm,
    pypi,
    npmRegistry: npm.url,
    pipIndexUrl,
    pipTrustedHost: PYPI_STAND_IN_HOST,
    env: [
      `npm_config_registry=${npm.url}`,
      `PIP_INDEX_URL=${pipIndexUrl}`,
      `PIP_TRUSTED_HOST=${PYPI_STAND_IN_HOST}`,
    ],
    stop,
  };
}

/**
 * A fresh internal bridge network (no route out of it) with a random name; `remove()` removes it
 * after disconnecting anything still attached.
 */
export async function createTestNetwork(
  docker: Docker,
  prefix = 'deckhand-test-net',
): Promise<{ name: string; remove(): Promise<void> }> {
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  const network = await docker.createNetwork({
    Name: name,
    Driver: 'bridge',
    Internal: true,
    CheckDuplicate: true,
    Labels: { [STAND_IN_LABEL]: 'true' },
  });
  return {
    name,
    async remove() {
      const info = (await network.inspect().catch(() => undefined)) as
        | { Containers?: Record<string, unknown> }
        | undefined;
      for (const id of Object.keys(info?.Containers ?? {})) {
        await network.disconnect({ Container: id, Force: true }).catch(() => undefined);
      }
      await network.remove().catch(() => undefined);
    },
  };
}

export interface NetworkRun {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `script` with bash in a container of the sandbox image on `network`, fenced like a sandbox run
 * (read-only root, no capabilities, tmpfs /tmp and /work, the image's non-root user), and returns its
 * exit code and output; the container is removed afterwards whatever happened.
 */
export async function runOnNetwork(
  docker: Docker,
  options: { network: string; script: string; env?: string[]; image?: string; timeoutMs?: number },
): Promise<NetworkRun> {
  const tmpfs = (extra = '') => `rw,exec,nosuid,nodev,size=256m${extra}`;
  const container = await docker.createContainer({
    name: `deckhand-stand-in-client-${randomBytes(4).toString('hex')}`,
    Image: options.image ?? DEFAULT_IMAGE,
    Cmd: ['bash', '-c', options.script],
    Env: options.env ?? [],
    WorkingDir: '/work',
    Labels: { [STAND_IN_LABEL]: 'true' },
    HostConfig: {
      NetworkMode: options.network,
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Memory: 1024 * 1024 * 1024,
      PidsLimit: 256,
      Tmpfs: { '/tmp': tmpfs(), '/work': tmpfs(',uid=10001,gid=10001,mode=0755') },
    },
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await container.start();
    const timeoutMs = options.timeoutMs ?? 120_000;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const waited = await Promise.race([container.wait() as Promise<{ StatusCode: number }>, timedOut]);
    if (waited === 'timeout') await container.kill().catch(() => undefined);
    const raw = await container.logs({ stdout: true, stderr: true, follow: false });
    const buffer = Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
    return {
      exitCode: waited === 'timeout' ? null : waited.StatusCode,
      stdout: demux(buffer, 1),
      stderr: demux(buffer, 2) + (waited === 'timeout' ? `\n(killed after ${timeoutMs} ms)` : ''),
    };
  } finally {
    clearTimeout(timer);
    await container.remove({ force: true }).catch(() => undefined);
  }
}
