/**
 * The guarded network of a setup run, against the real engine and image: a registry stand-in on a
 * network the test makes, reachable only through the egress proxy and only by its allow-listed
 * name; every other host and every IP literal refused by tinyproxy's own 403 before it connects.
 * 10.1.2.3 and 169.254.169.254 are only ever named inside requests to the proxy, which refuses them.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDeckhandError } from '../../src/core/index.js';
import {
  EgressProxy,
  filterRules,
  hostConfigFor,
  LABEL_EGRESS,
  LABEL_OWNER,
  ownerId,
  parseAllowEntry,
  reapEgressNetworks,
  type SandboxRunner,
  sandboxLabels,
  tinyproxyConfig,
} from '../../src/runners/index.js';
import {
  ensureSandboxImage,
  leftovers,
  SANDBOX_IMAGE,
  TEST_LIMITS,
  testDocker,
  testRunner,
} from './helpers.js';

const REGISTRY = 'registry.deckhand.test';
const REGISTRY_PORT = 8080;
const SERVER = `require('http').createServer((req, res) => {
  res.end('registry says hello ' + req.url + ' via=' + (req.headers.via || '-'));
}).listen(${REGISTRY_PORT});`;

/** Runs inside the setup sandbox: requests through HTTP_PROXY, raw CONNECTs, one direct attempt. */
const CLIENT = `const http = require('http');
const net = require('net');
const proxy = new URL(process.env.HTTP_PROXY);
const at = { host: proxy.hostname, port: Number(proxy.port) };
function get(url) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const req = http.request({ ...at, method: 'GET', path: url, headers: { host: new URL(url).host } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ url, status: res.statusCode, message: res.statusMessage,
        server: res.headers.server || null, body, ms: Date.now() - t0 }));
    });
    req.on('error', (e) => resolve({ url, error: e.code }));
    req.end();
  });
}
function connect(target) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const req = http.request({ ...at, method: 'CONNECT', path: target });
    // Node reports every answer to a CONNECT, refusals too, as 'connect'.
    req.on('connect', (res, socket) => {
      socket.destroy();
      resolve({ target, status: res.statusCode, message: res.statusMessage,
        server: res.headers.server || null, ms: Date.now() - t0 });
    });
    req.on('error', (e) => resolve({ target, error: e.code }));
    req.end();
  });
}
function direct(host, port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => { socket.destroy(); resolve('timeout'); }, 2000);
    socket.on('connect', () => { clearTimeout(timer); socket.destroy(); resolve('connected'); });
    socket.on('error', (e) => { clearTimeout(timer); resolve(e.code); });
  });
}
(async () => {
  const out = {
    env: Object.keys(process.env).sort(),
    allowed: await get('http://${REGISTRY}:${REGISTRY_PORT}/pkg'),
    otherHost: await get('http://other.deckhand.test:${REGISTRY_PORT}/'),
    otherPort: await get('http://${REGISTRY}/'),
    privateIp: await get('http://10.1.2.3/'),
    metadata: await get('http://169.254.169.254/latest/meta-data/'),
    userinfo: await get('http://${REGISTRY}:${REGISTRY_PORT}@10.1.2.3/'),
    connectPrivate: await connect('10.1.2.3:443'),
    connectMetadata: await connect('169.254.169.254:443'),
    connectPort: await connect('${REGISTRY}:22'),
    direct: await direct(process.argv[2], ${REGISTRY_PORT}),
    interfaces: require('fs').readdirSync('/sys/class/net').sort(),
  };
  console.log(JSON.stringify(out));
})();`;

interface Answer {
  status?: number;
  message?: string;
  server?: string | null;
  body?: string;
  ms?: number;
  error?: string;
}

let docker: Docker;
let runner: SandboxRunner;
let outbound: string;
let server: Docker.Container | undefined;
let serverIp: string;
let session: EgressProxy | undefined;

beforeAll(async () => {
  ensureSandboxImage();
  docker = testDocker();
  runner = testRunner(docker, { warmPool: 1 });
  await runner.start();
  outbound = `deckhand-test-out-${randomBytes(4).toString('hex')}`;
  await docker.createNetwork({ Name: outbound, Labels: { 'deckhand.test': '1' } });
  server = await docker.createContainer({
    Image: SANDBOX_IMAGE,
    Cmd: ['node', '-e', SERVER],
    User: '10001:10001',
    Labels: sandboxLabels('egress-test', Date.now() + 10 * 60_000),
    NetworkingConfig: { EndpointsConfig: { [outbound]: { Aliases: [REGISTRY] } } },
    HostConfig: { NetworkMode: outbound, ReadonlyRootfs: true, CapDrop: ['ALL'] },
  });
  await server.start();
  const info = await server.inspect();
  serverIp = info.NetworkSettings.Networks[outbound]?.IPAddress ?? '';
  session = await EgressProxy.open({
    docker,
    image: SANDBOX_IMAGE,
    allow: [`${REGISTRY}:${REGISTRY_PORT}`],
    outboundNetwork: outbound,
  });
});

afterAll(async () => {
  await session?.close();
  await runner?.close();
  await server?.remove({ force: true });
  if (outbound) await docker.getNetwork(outbound).remove();
  expect(await leftovers(docker)).toEqual([]);
});

function expectRefused(answer: Answer | undefined, message = 'Filtered'): void {
  expect(answer).toMatchObject({ status: 403, message });
  expect(answer?.server).toMatch(/^tinyproxy\/1\.11/);
  // Answered by the proxy itself, at once: it did not try to connect anywhere first.
  expect(answer?.ms).toBeLessThan(1000);
}

describe('egress proxy', () => {
  it('reaches an allow-listed host through the proxy and refuses everything else itself', async () => {
    if (!session) throw new Error('no session');
    const result = await runner.run({
      lang: 'node',
      code: CLIENT.replace('process.argv[2]', JSON.stringify(serverIp)),
      egress: session.attachment,
    });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const out = JSON.parse(result.stdout) as Record<string, Answer> & { env: string[]; direct: string };
    // (a) the allowed host answers, and the proxy adds no Via header.
    expect(out.allowed).toMatchObject({ status: 200, body: 'registry says hello /pkg via=-' });
    // (b) another host, the allowed host on another port; (c) a private address; (d) the metadata
    // address; also an allowed name used as userinfo in front of an IP.
    for (const key of ['otherHost', 'otherPort', 'privateIp', 'metadata', 'userinfo']) {
      expectRefused(out[key]);
      expect(out[key]?.body).toContain('The request you made has been filtered');
      expect(out[key]?.body).toContain('Generated by tinyproxy');
    }
    expectRefused(out.connectPrivate);
    expectRefused(out.connectMetadata);
    expectRefused(out.connectPort, 'Access violation');
    // No way around the proxy: the registry's own address is unreachable from the internal network.
    expect(out.direct).not.toBe('connected');
    expect(out.interfaces).toEqual(['eth0', 'lo']);
    // The program got the proxy variables and the usual three, nothing from Deckhand's environment.
    expect(out.env).toEqual(
      [
        'HOME',
        'HTTPS_PROXY',
        'HTTP_PROXY',
        'LANG',
        'NO_PROXY',
        'PATH',
        'PIP_PROXY',
        'http_proxy',
        'https_proxy',
        'no_proxy',
        'npm_config_https_proxy',
        'npm_config_proxy',
      ].sort(),
    );
    // The proxy's log: each refusal logged as filtered, and no connection to a refused address.
    const log = await session.log();
    expect(log).toContain('Proxying refused on filtered url "http://10.1.2.3/"');
    expect(log).toContain('Proxying refused on filtered url "169.254.169.254:443"');
    expect(log).toContain(`Established connection to host "${REGISTRY}"`);
    expect(log).not.toMatch(/Established connection to host "(10\.1\.2\.3|169\.254\.169\.254|other)/);
  });

  it('installs into a checkout through the proxy: what the setup run fetched comes back', async () => {
    if (!session) throw new Error('no session');
    const dir = mkdtempSync(join(tmpdir(), 'deckhand-egress-'));
    try {
      writeFileSync(join(dir, 'package.json'), '{"name":"x"}\n');
      const fetch = [
        'set -e',
        'mkdir -p node_modules/pkg',
        // python's urllib honours http_proxy, as pip does.
        `python3 -c 'import urllib.request; print(urllib.request.urlopen("http://${REGISTRY}:${REGISTRY_PORT}/pkg.tgz").read().decode())' >node_modules/pkg/index.txt`,
      ].join('\n');
      const result = await runner.run({
        lang: 'bash',
        code: fetch,
        workspace: { dir, collect: true },
        egress: session.attachment,
      });
      expect(result).toMatchObject({ exitCode: 0, stderr: '', workspace: 'saved' });
      expect(readFileSync(join(dir, 'node_modules/pkg/index.txt'), 'utf8')).toBe(
        'registry says hello /pkg.tgz via=-\n',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is used by npm, pip and go from the proxy variables alone', async () => {
    if (!session) throw new Error('no session');
    const registry = `http://${REGISTRY}:${REGISTRY_PORT}`;
    // Each tool asks the stand-in (which answers nonsense, so each then fails): only the requests
    // in the proxy's log matter.
    const code = [
      `npm view --registry ${registry}/npm/ left-pad >/dev/null 2>&1`,
      `python3 -m pip download --no-deps -d /tmp/d --trusted-host ${REGISTRY}:${REGISTRY_PORT} --index-url ${registry}/simple/ left-pad >/dev/null 2>&1`,
      'cd /tmp && printf "module m\\n" >go.mod',
      `GOPROXY=${registry}/go GOSUMDB=off go mod download example.org/x@v1.0.0 >/dev/null 2>&1`,
      'echo done',
    ].join('\n');
    const result = await runner.run({ lang: 'bash', code, egress: session.attachment });
    expect(result.stdout).toBe('done\n');
    const log = await session.log();
    expect(log).toContain(`GET ${registry}/npm/left-pad`);
    expect(log).toContain(`GET ${registry}/simple/left-pad/`);
    expect(log).toContain(`GET ${registry}/go/example.org/x/@v/v1.0.0.`);
  });

  it('gives a run without the option the same container settings as before', () => {
    const plain = hostConfigFor(TEST_LIMITS, { network: 'none' });
    expect(plain.NetworkMode).toBe('none');
    expect(plain).not.toHaveProperty('Mounts');
    const setup = hostConfigFor(TEST_LIMITS, {
      network: 'none',
      egress: { network: 'deckhand-egress-x', cacheVolume: 'deckhand-depcache-y' },
    });
    expect(setup.NetworkMode).toBe('deckhand-egress-x');
    expect(setup.Mounts).toEqual([
      { Type: 'volume', Source: 'deckhand-depcache-y', Target: '/cache', ReadOnly: false },
    ]);
    const { NetworkMode: _a, Mounts: _b, ...rest } = setup;
    const { NetworkMode: _c, ...plainRest } = plain;
    expect(rest).toEqual(plainRest);
  });

  it('puts the session on an internal network whose host bridge has no address', async () => {
    if (!session) throw new Error('no session');
    const info = (await docker.getNetwork(session.network).inspect()) as Docker.NetworkInspectInfo;
    expect(info.Internal).toBe(true);
    expect(info.Options?.['com.docker.network.bridge.inhibit_ipv4']).toBe('true');
    expect(info.Labels?.[LABEL_EGRESS]).toBe('1');
    expect(session.proxyUrl).toBe('http://deckhand-egress-proxy:8888');
  });

  it('leaves a run without the option on no network but loopback, from the warm pool', async () => {
    const result = await runner.run({
      lang: 'bash',
      code: 'ls /sys/class/net; env | cut -d= -f1 | sort | tr "\\n" " "',
    });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe('lo\nHOME LANG PATH PWD SHLVL _ ');
  });

  it('refuses a setup run on a network that is not an egress session, or with a volume not a cache', async () => {
    const refused = await runner
      .run({ lang: 'bash', code: 'true', egress: { network: 'bridge', env: {} } })
      .catch((error: unknown) => error);
    expect(isDeckhandError(refused, 'BAD_REQUEST')).toBe(true);
    if (!session) throw new Error('no session');
    const noCache = await runner
      .run({ lang: 'bash', code: 'true', egress: { ...session.attachment, cacheVolume: 'not-a-cache' } })
      .catch((error: unknown) => error);
    expect(isDeckhandError(noCache, 'BAD_REQUEST')).toBe(true);
    expect(String(noCache)).toContain('not a dependency cache');
  });

  it('reaps the network of a session whose owner process is gone, and keeps live ones', async () => {
    if (!session) throw new Error('no session');
    // A pid that names no process here (the kernel's largest is below it).
    const orphan = `deckhand-egress-test-${randomBytes(4).toString('hex')}`;
    await docker.createNetwork({
      Name: orphan,
      Internal: true,
      Labels: { [LABEL_EGRESS]: '1', [LABEL_OWNER]: `${hostname()}/2147483646` },
    });
    // (Another process's reaper may take it first: what counts is that it is gone.)
    await reapEgressNetworks(docker);
    expect(await docker.listNetworks({ filters: { name: [orphan] } })).toEqual([]);
    const live = await docker.listNetworks({ filters: { name: [session.network] } });
    expect(live.map((n) => n.Name)).toEqual([session.network]);
  });

  it('cleans up after itself when it cannot start, and says why', async () => {
    if (!session) throw new Error('no session');
    const failed = await EgressProxy.open({
      docker,
      image: SANDBOX_IMAGE,
      allow: ['registry.npmjs.org'],
      outboundNetwork: `deckhand-no-such-network-${randomBytes(4).toString('hex')}`,
    }).catch((error: unknown) => error);
    expect(isDeckhandError(failed, 'SANDBOX_FAILED')).toBe(true);
    const mine = [`${LABEL_EGRESS}=1`, `${LABEL_OWNER}=${ownerId()}`];
    const networks = await docker.listNetworks({ filters: { label: mine } });
    const containers = await docker.listContainers({ all: true, filters: { label: mine } });
    expect(networks.map((n) => n.Name)).toEqual([session.network]);
    expect(containers.map((c) => c.Id)).toEqual([session.containerId]);
    const invalid = await EgressProxy.open({ docker, image: SANDBOX_IMAGE, allow: ['10.1.2.3'] }).catch(
      (error: unknown) => error,
    );
    expect(isDeckhandError(invalid, 'CONFIG_INVALID')).toBe(true);
  });

  it('removes its proxy and network on close, twice without complaint', async () => {
    const extra = await EgressProxy.open({
      docker,
      image: SANDBOX_IMAGE,
      allow: ['registry.npmjs.org'],
      outboundNetwork: outbound,
    });
    await extra.close();
    await extra.close();
    const containers = await docker.listContainers({
      all: true,
      filters: { label: [`${LABEL_EGRESS}=1`], name: [extra.network] },
    });
    const networks = await docker.listNetworks({ filters: { name: [extra.network] } });
    expect(containers).toEqual([]);
    expect(networks).toEqual([]);
  });
});

describe('egress allow-list', () => {
  it('accepts host names, wildcards and ports, and refuses IP literals', () => {
    expect(parseAllowEntry('Registry.NPMjs.org')).toEqual({ host: 'registry.npmjs.org', wildcard: false });
    expect(parseAllowEntry('*.example.org')).toEqual({ host: 'example.org', wildcard: true });
    expect(parseAllowEntry('registry.test:4873')).toEqual({
      host: 'registry.test',
      wildcard: false,
      port: 4873,
    });
    for (const bad of [
      '10.1.2.3',
      '169.254.169.254',
      '0x7f000001',
      '2130706433',
      '[::1]',
      'http://x.org',
      'a b',
      'x.org:0',
      '*',
      'x.org/',
    ]) {
      expect(() => parseAllowEntry(bad), bad).toThrow(/not a host name/);
    }
  });

  it('anchors each rule on the whole host and port', () => {
    const rules = filterRules([parseAllowEntry('registry.npmjs.org'), parseAllowEntry('*.example.org:4873')]);
    const matches = (url: string) => rules.some((rule) => new RegExp(rule, 'i').test(url));
    expect(matches('http://registry.npmjs.org/pkg')).toBe(true);
    expect(matches('registry.npmjs.org:443')).toBe(true);
    expect(matches('a.b.example.org:4873')).toBe(true);
    expect(matches('registry.npmjs.org:22')).toBe(false);
    expect(matches('http://registry.npmjs.org.evil.test/')).toBe(false);
    expect(matches('http://registry.npmjs.org@10.1.2.3/')).toBe(false);
    expect(matches('http://evil.test/registry.npmjs.org/')).toBe(false);
    expect(matches('example.org:4873')).toBe(false);
    expect(tinyproxyConfig([parseAllowEntry('*.example.org:4873')], ['172.30.0.0/16'])).toContain(
      'ConnectPort 443\nConnectPort 4873',
    );
  });
});
