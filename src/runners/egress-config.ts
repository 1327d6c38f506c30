/**
 * tinyproxy's settings for an egress session (egress.ts), as text: the allow-list parsed and checked
 * (host names only, never an IP literal), the filter (anchored regexes over the whole URL, so a port
 * is part of the match), the config file, and the environment a setup program needs to use it. Kept
 * apart from the Docker side so each rule can be read, and tested, on its own.
 */
import { DeckhandError } from '../core/index.js';

/** Port tinyproxy listens on inside its container: above 1024, so it needs no capability. */
export const EGRESS_PROXY_PORT = 8888;
/** Where the proxy container writes its config and filter (its /tmp tmpfs). */
export const EGRESS_CONFIG_DIR = '/tmp/tinyproxy';

/** One allow-list entry: an exact host name or `*.suffix`, optionally `:port`. */
export interface AllowEntry {
  host: string;
  wildcard: boolean;
  port?: number;
}

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const ENTRY = new RegExp(`^(\\*\\.)?(${LABEL}(?:\\.${LABEL})*)(?::(\\d{1,5}))?$`);

/** Parses an allow-list entry; IP literals and anything not a plain host name are refused. */
export function parseAllowEntry(raw: string): AllowEntry {
  const entry = raw.trim().toLowerCase();
  const match = ENTRY.exec(entry);
  const host = match?.[2];
  const port = match?.[3] === undefined ? undefined : Number(match[3]);
  // A last label starting with a digit is no top-level domain, and may be read as an IPv4 address
  // (10.1.2.3, or 0x7f000001 by the resolver's inet_aton): refused.
  const numeric = host !== undefined && /(^|\.)\d[^.]*$/.test(host);
  if (!match || !host || numeric || (port !== undefined && (port < 1 || port > 65_535))) {
    throw new DeckhandError(
      'CONFIG_INVALID',
      `sandbox.egress.allow: "${raw}" is not a host name (like registry.npmjs.org, *.example.org or registry.test:4873); IP addresses cannot be allowed.`,
    );
  }
  return { host, wildcard: match[1] !== undefined, ...(port === undefined ? {} : { port }) };
}

function hostPattern(entry: AllowEntry): string {
  const escaped = entry.host.replaceAll('.', '\\.');
  return entry.wildcard ? `([a-z0-9-]+\\.)+${escaped}` : escaped;
}

/**
 * tinyproxy's filter (FilterType ere, FilterURLs On: matched against the request's URL, which is
 * `http://host[:port]/path` for plain HTTP and `host:port` for CONNECT). Each line is anchored, and
 * the host must be followed by its port and then `/` or the end, so `http://allowed@10.1.2.3/` or
 * `http://allowed.evil/` match nothing. An entry without a port allows http on 80 and CONNECT to 443.
 */
export function filterRules(entries: readonly AllowEntry[]): string[] {
  return entries.flatMap((entry) => {
    const host = hostPattern(entry);
    if (entry.port === undefined) return [`^http://${host}(:80)?(/|$)`, `^${host}:443$`];
    return [`^http://${host}:${entry.port}(/|$)`, `^${host}:${entry.port}$`];
  });
}

/** tinyproxy.conf for one session: clients only from `clients` (CIDRs), no Via header, logs to stdout. */
export function tinyproxyConfig(entries: readonly AllowEntry[], clients: readonly string[]): string {
  const ports = [...new Set([443, ...entries.flatMap((entry) => (entry.port ? [entry.port] : []))])];
  return [
    `Port ${EGRESS_PROXY_PORT}`,
    'Timeout 300',
    'MaxClients 64',
    'LogLevel Connect',
    'DisableViaHeader Yes',
    ...clients.map((cidr) => `Allow ${cidr}`),
    // The readiness probe, from inside the proxy's own container.
    'Allow 127.0.0.1',
    ...ports.map((port) => `ConnectPort ${port}`),
    `Filter "${EGRESS_CONFIG_DIR}/filter"`,
    'FilterType ere',
    'FilterURLs On',
    'FilterDefaultDeny Yes',
    '',
  ].join('\n');
}

/** The environment a setup program needs to use the proxy: npm, pip, go, git, curl and python. */
export function proxyEnv(proxyUrl: string): Record<string, string> {
  return {
    HTTP_PROXY: proxyUrl,
    HTTPS_PROXY: proxyUrl,
    http_proxy: proxyUrl,
    https_proxy: proxyUrl,
    NO_PROXY: '',
    no_proxy: '',
    npm_config_proxy: proxyUrl,
    npm_config_https_proxy: proxyUrl,
    PIP_PROXY: proxyUrl,
  };
}
