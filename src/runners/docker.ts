/**
 * The Docker engine client. DOCKER_HOST (unix:// or tcp://) wins; otherwise the default socket. Over
 * tcp:// the docker CLI's TLS settings apply: DOCKER_TLS_VERIFY (any non-empty value) means https,
 * the server verified against ca.pem and the client certificate cert.pem/key.pem presented, all from
 * DOCKER_CERT_PATH (default: DOCKER_CONFIG, else ~/.docker). An engine on tcp:// controls the host,
 * so plain HTTP is only spoken when no TLS setting is present.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { DeckhandError } from '../core/index.js';

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

export function dockerConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.DOCKER_HOST) || existsSync(DEFAULT_DOCKER_SOCKET);
}

/** The docker CLI's defaults: 2375 for plain TCP, 2376 with TLS. */
const PLAIN_PORT = 2375;
const TLS_PORT = 2376;

export interface DockerTlsFiles {
  /** Absent only with DOCKER_TLS and no ca.pem: the system's roots verify the server. */
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

function certDirOf(env: NodeJS.ProcessEnv): string {
  return env.DOCKER_CERT_PATH || env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker');
}

function readCertFile(dir: string, name: string, required: boolean): Buffer | undefined {
  const path = join(dir, name);
  if (!required && !existsSync(path)) return undefined;
  try {
    return readFileSync(path);
  } catch (cause) {
    throw new DeckhandError(
      'CONFIG_INVALID',
      `Docker over TLS (DOCKER_TLS_VERIFY) needs ${path}, which cannot be read. Put ca.pem, cert.pem and key.pem in DOCKER_CERT_PATH (default ~/.docker).`,
      { cause },
    );
  }
}

/**
 * The TLS material for a tcp:// engine, or undefined for plain TCP. DOCKER_TLS (the CLI's `--tls`)
 * also turns TLS on; unlike the CLI, the server is then still verified (against ca.pem when present,
 * else the system's roots): Deckhand never talks to an unverified engine over TLS.
 */
export function dockerTlsFromEnv(env: NodeJS.ProcessEnv = process.env): DockerTlsFiles | undefined {
  const verify = Boolean(env.DOCKER_TLS_VERIFY);
  if (!verify && !env.DOCKER_TLS) return undefined;
  const dir = certDirOf(env);
  const ca = readCertFile(dir, 'ca.pem', verify);
  const cert = readCertFile(dir, 'cert.pem', false);
  const key = readCertFile(dir, 'key.pem', false);
  if (Boolean(cert) !== Boolean(key)) {
    throw new DeckhandError(
      'CONFIG_INVALID',
      `${dir} holds only one of cert.pem and key.pem; the client certificate needs both.`,
    );
  }
  return { ...(ca ? { ca } : {}), ...(cert && key ? { cert, key } : {}) };
}

function tcpAddress(host: string): URL {
  const withScheme = host.includes('://') ? host : `tcp://${host}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch (cause) {
    throw new DeckhandError('CONFIG_INVALID', `DOCKER_HOST=${host} is not a unix:// or tcp:// address.`, {
      cause,
    });
  }
  if (url.protocol !== 'tcp:') {
    throw new DeckhandError('CONFIG_INVALID', `DOCKER_HOST=${host}: only unix:// and tcp:// are supported.`);
  }
  return url;
}

/** Reads DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_TLS and DOCKER_CERT_PATH from `env`, as the docker CLI does. */
export function createDockerClient(env: NodeJS.ProcessEnv = process.env): Docker {
  const host = env.DOCKER_HOST;
  // `host: undefined` keeps docker-modem from taking a tcp:// host out of process.env instead.
  if (!host) return new Docker({ socketPath: DEFAULT_DOCKER_SOCKET, host: undefined });
  if (host.startsWith('unix://'))
    return new Docker({ socketPath: host.slice('unix://'.length) || DEFAULT_DOCKER_SOCKET, host: undefined });
  const url = tcpAddress(host);
  const tls = dockerTlsFromEnv(env);
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!tls) {
    // Explicit undefineds: docker-modem would otherwise read certificates from process.env on its own.
    const port = Number(url.port || PLAIN_PORT);
    return new Docker({
      host: hostname,
      port,
      protocol: 'http',
      ca: undefined,
      cert: undefined,
      key: undefined,
    });
  }
  return new Docker({
    host: hostname,
    port: Number(url.port || TLS_PORT),
    protocol: 'https',
    ca: tls.ca,
    cert: tls.cert,
    key: tls.key,
  });
}

export async function dockerVersion(docker: Docker): Promise<string> {
  const version = await docker.version();
  return version.Version;
}

export async function imageExists(docker: Docker, image: string): Promise<boolean> {
  try {
    await docker.getImage(image).inspect();
    return true;
  } catch {
    return false;
  }
}
