/**
 * What the deploy files promise the running process: the runtime image carries git (the change flow
 * runs it in-process, over https) with CA roots, installed as root before the image drops to `node`;
 * and a Docker engine suggested over TCP comes with the TLS settings, never plain TCP.
 * Text checks only: there is no registry here to build from the remote base image.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const deploy = resolve(import.meta.dirname, '../../deploy');

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Dockerfile stages with their instructions; continuation lines joined, comments dropped. */
function stagesOf(text: string): Stage[] {
  const logical = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const stages: Stage[] = [];
  for (const line of logical) {
    const [keyword = '', ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (keyword.toUpperCase() === 'FROM') {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?/i.exec(args);
      stages.push({ from: match?.[1] ?? '', name: match?.[2], instructions: [] });
    } else {
      stages.at(-1)?.instructions.push({ keyword: keyword.toUpperCase(), args });
    }
  }
  return stages;
}

/** Packages named by `apt-get install` in a RUN line (options dropped). */
function aptInstalls(run: string): string[] {
  const out: string[] = [];
  for (const command of run.split(/&&|;/)) {
    const words = command.trim().split(/\s+/);
    const at = words.indexOf('install');
    if (words[0] !== 'apt-get' || at < 0) continue;
    out.push(...words.slice(at + 1).filter((w) => !w.startsWith('-')));
  }
  return out;
}

describe('deploy/Dockerfile', () => {
  const stages = stagesOf(readFileSync(resolve(deploy, 'Dockerfile'), 'utf8'));
  const runtime = stages.at(-1) as Stage;

  it('ends in the runtime stage, which runs as the non-root node user', () => {
    expect(runtime.name).toBe('runtime');
    expect(runtime.instructions.filter((i) => i.keyword === 'USER').map((i) => i.args)).toEqual(['node']);
  });

  it('installs git and ca-certificates in the runtime stage, as root, before USER node', () => {
    const userAt = runtime.instructions.findIndex((i) => i.keyword === 'USER');
    const installs = runtime.instructions
      .slice(0, userAt)
      .filter((i) => i.keyword === 'RUN')
      .flatMap((i) => aptInstalls(i.args));
    expect(installs).toEqual(expect.arrayContaining(['git', 'ca-certificates']));
  });

  it('keeps no apt lists in the runtime layer that installs them', () => {
    for (const run of runtime.instructions.filter((i) => i.keyword === 'RUN' && aptInstalls(i.args).length)) {
      expect(run.args).toMatch(/apt-get update/);
      expect(run.args).toMatch(/rm -rf \/var\/lib\/apt\/lists/);
      expect(run.args).toMatch(/--no-install-recommends/);
    }
  });
});

describe('a Docker engine suggested over TCP', () => {
  it('comes with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH in the worker manifest, on the TLS port', () => {
    const worker = readFileSync(resolve(deploy, 'kubernetes/worker.yaml'), 'utf8');
    const tcp = [...worker.matchAll(/tcp:\/\/[\w.-]+:(\d+)/g)];
    expect(tcp.length).toBeGreaterThan(0);
    for (const match of tcp) expect(match[1]).toBe('2376');
    expect(worker).toMatch(/DOCKER_TLS_VERIFY, value: "1"/);
    expect(worker).toMatch(/DOCKER_CERT_PATH/);
  });
});
