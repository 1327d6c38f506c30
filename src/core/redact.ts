/**
 * Secret scrubbing shared by the logger, replies and sandbox environments.
 * Two layers: values we know are secret (registered from config at start) are replaced wherever
 * they appear, and well-known token shapes are replaced even if nobody registered them.
 */
const knownSecrets = new Set<string>();

const TOKEN_PATTERNS: RegExp[] = [
  /xox[abposr]-[A-Za-z0-9-]{10,}/g, // Slack tokens
  /xapp-[A-Za-z0-9-]{10,}/g, // Slack app-level tokens
  /gh[pousr]_[A-Za-z0-9]{20,}/g, // GitHub tokens
  /github_pat_[A-Za-z0-9_]{20,}/g,
  /sk-ant-[A-Za-z0-9_-]{10,}/g, // Anthropic
  /sk-(?:proj-)?[A-Za-z0-9_-]{20,}/g, // OpenAI
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
  /(?<=[Bb]earer\s)[A-Za-z0-9._~+/=-]{8,}/g,
  /(?<=mongodb(?:\+srv)?:\/\/[^:/@\s]+:)[^@\s]+(?=@)/g, // password inside a connection string
  /(?<=redis(?:s)?:\/\/[^:/@\s]*:)[^@\s]+(?=@)/g,
];

export const REDACTED = '[redacted]';

/** Register a secret value so it is scrubbed everywhere. Short values are ignored to avoid mangling text. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 6) knownSecrets.add(value);
}

export function redactText(text: string): string {
  let out = text;
  for (const secret of knownSecrets) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  for (const pattern of TOKEN_PATTERNS) out = out.replace(pattern, REDACTED);
  return out;
}

const SECRET_KEY =
  /(token|secret|password|passwd|api[_-]?key|private[_-]?key|authorization|cookie|signature)/i;

/** Deep copy with secret-looking keys and secret values scrubbed. Cycles and depth are bounded. */
export function redactValue(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth > 8) return '[truncated]';
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (value instanceof Error) {
    return {
      type: value.name,
      message: redactText(value.message),
      stack: value.stack && redactText(value.stack),
    };
  }
  if (Array.isArray(value)) return value.map((item) => redactValue(item, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key] =
      SECRET_KEY.test(key) && inner !== undefined && inner !== null
        ? REDACTED
        : redactValue(inner, depth + 1, seen);
  }
  return out;
}
