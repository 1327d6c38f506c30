/**
 * DOCKER_HOST=tcp://... honours DOCKER_TLS_VERIFY and DOCKER_CERT_PATH as the docker CLI does: the
 * engine is spoken to over https, verified against ca.pem, with the client certificate presented.
 * A throwaway CA, server and client certificate (openssl CLI) and a loopback https server standing in
 * for the engine; no traffic leaves 127.0.0.1.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDeckhandError } from '../../src/core/index.js';
import { createDockerClient } from '../../src/runners/index.js';

const dir = mkdtempSync(join(tmpdir(), 'deckhand-docker-tls-'));
/** What the stand-in engine saw: the client certificate's CN of each request it answered. */
const seen: { path: string; clientCn: string | undefined; encrypted: boolean }[] = [];
let server: Server;
let dockerHost: string;

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A fresh P-256 key, unencrypted. */
const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A CA named `name`: name-ca.pem and name-ca-key.pem. */
function makeCaFiles(name: string): void {
  const files = ['-keyout', `${name}-ca-key.pem`, '-out', `${name}-ca.pem`];
  openssl('req', '-x509', ...NEW_KEY, '-days', '1', '-subj', `/CN=${name} test CA`, ...files);
}

/** A certificate signed by the `ca` CA: name-cert.pem and name-key.pem. */
function makeCert(ca: string, name: string, extensions: string): void {
  writeFileSync(join(dir, `${name}.ext`), extensions);
  const request = ['-keyout', `${name}-key.pem`, '-out', `${name}.csr`];
  openssl('req', '-new', ...NEW_KEY, '-subj', `/CN=${name}`, ...request);
  const signer = ['-CA', `${ca}-ca.pem`, '-CAkey', `${ca}-ca-key.pem`, '-CAcreateserial', '-days', '1'];
  openssl(
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    ...signer,
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}-cert.pem`,
  );
}

/** A DOCKER_CERT_PATH folder holding ca.pem (from `ca`) and, unless left out, the client's cert and key. */
function certPath(name: string, ca: string, withClientCert = true): string {
  const path = join(dir, name);
  mkdirSync(path, { recursive: true });
  copyFileSync(join(dir, `${ca}-ca.pem`), join(path, 'ca.pem'));
  if (withClientCert) {
    copyFileSync(join(dir, 'client-cert.pem'), join(path, 'cert.pem'));
    copyFileSync(join(dir, 'client-key.pem'), join(path, 'key.pem'));
  }
  return path;
}

beforeAll(async () => {
  makeCaFiles('good');
  makeCaFiles('other');
  makeCert('good', 'server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  makeCert('good', 'client', 'extendedKeyUsage=clientAuth\n');
  server = createServer(
    {
      key: readFileSync(join(dir, 'server-key.pem')),
      cert: readFileSync(join(dir, 'server-cert.pem')),
      ca: readFileSync(join(dir, 'good-ca.pem')),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      const socket = req.socket as TLSSocket;
      const peer = socket.getPeerCertificate();
      const cn = peer?.subject?.CN;
      seen.push({ path: req.url ?? '', clientCn: String(cn), encrypted: socket.encrypted === true });
      if (req.url?.endsWith('/_ping')) {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
      } else if (req.url?.endsWith('/version')) {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ Version: '99.0-tls-test', ApiVersion: '1.45' }));
      } else {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"not here"}');
      }
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  dockerHost = `tcp://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe('a Docker engine on tcp:// with TLS', () => {
  it('is called over https with the client certificate when DOCKER_TLS_VERIFY and DOCKER_CERT_PATH are set', async () => {
    seen.length = 0;
    const docker = createDockerClient({
      DOCKER_HOST: dockerHost,
      DOCKER_TLS_VERIFY: '1',
      DOCKER_CERT_PATH: certPath('verified', 'good'),
    });
    const version = await docker.version();
    expect(version.Version).toBe('99.0-tls-test');
    expect(await docker.ping()).toBeTruthy();
    expect(seen.map((s) => s.path)).toEqual([
      expect.stringMatching(/\/version$/),
      expect.stringMatching(/\/_ping$/),
    ]);
    expect(seen.every((s) => s.encrypted && s.clientCn === 'client')).toBe(true);
  });

  it('takes the certificates from ~/.docker when DOCKER_CERT_PATH is unset', async () => {
    const home = join(dir, 'home');
    const dotDocker = certPath(join('home', '.docker'), 'good');
    expect(dotDocker).toBe(join(home, '.docker'));
    const docker = createDockerClient({ DOCKER_HOST: dockerHost, DOCKER_TLS_VERIFY: '1', HOME: home });
    expect((await docker.version()).Version).toBe('99.0-tls-test');
  });

  it('fails against a TLS engine when no TLS setting is given (plain HTTP is not upgraded)', async () => {
    seen.length = 0;
    const docker = createDockerClient({ DOCKER_HOST: dockerHost });
    await expect(docker.version()).rejects.toThrow();
    expect(seen).toEqual([]);
  });

  it('refuses an engine whose certificate is not signed by ca.pem', async () => {
    seen.length = 0;
    const docker = createDockerClient({
      DOCKER_HOST: dockerHost,
      DOCKER_TLS_VERIFY: '1',
      DOCKER_CERT_PATH: certPath('wrong-ca', 'other'),
    });
    await expect(docker.version()).rejects.toThrow(/certificate|self[- ]signed|verify/i);
    expect(seen).toEqual([]);
  });

  it('is refused by an engine that requires a client certificate when none is in DOCKER_CERT_PATH', async () => {
    seen.length = 0;
    const docker = createDockerClient({
      DOCKER_HOST: dockerHost,
      DOCKER_TLS_VERIFY: '1',
      DOCKER_CERT_PATH: certPath('no-client-cert', 'good', false),
    });
    await expect(docker.version()).rejects.toThrow();
    expect(seen).toEqual([]);
  });

  it('names the missing ca.pem instead of falling back to plain HTTP', () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty, { recursive: true });
    let caught: unknown;
    try {
      createDockerClient({ DOCKER_HOST: dockerHost, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: empty });
    } catch (error) {
      caught = error;
    }
    expect(isDeckhandError(caught, 'CONFIG_INVALID')).toBe(true);
    expect((caught as Error).message).toContain(join(empty, 'ca.pem'));
  });
});
