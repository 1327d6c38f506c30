/** Benchmarks run against the same real services as the tests (scripts/services.sh). */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

export function ensureServices(...services: ('mongo' | 'redis' | 'docker')[]): void {
  const script = resolve(import.meta.dirname, '../scripts/services.sh');
  const out = execFileSync('bash', [script, 'up', ...services], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  for (const line of out.split('\n')) {
    const match = /^export ([A-Z_]+)='(.*)'$/.exec(line.trim());
    if (match?.[1] && match[2] !== undefined) process.env[match[1]] = match[2];
  }
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
