/** Shared by the runner tests: the real engine (DOCKER_HOST from the global setup) and the real image. */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import type Docker from 'dockerode';
import { createLogger } from '../../src/core/index.js';
import {
  createDockerClient,
  createSandboxRunner,
  LABEL_MANAGED,
  LABEL_OWNER,
  ownerId,
  type SandboxLimits,
  type SandboxRunner,
  type SandboxRunnerOptions,
} from '../../src/runners/index.js';

export const SANDBOX_IMAGE = process.env.DECKHAND_SANDBOX_IMAGE || 'deckhand-sandbox:latest';

/** Builds the image on a fresh machine (about a minute, once); a no-op taking ~0.1 s afterwards. */
export function ensureSandboxImage(): string {
  const script = resolve(import.meta.dirname, '../../scripts/sandbox-image.sh');
  return execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

export function testDocker(): Docker {
  return createDockerClient();
}

export const TEST_LIMITS: SandboxLimits = {
  cpus: 1,
  memoryMb: 256,
  pids: 128,
  timeoutSeconds: 30,
  outputLimitBytes: 65_536,
  tmpfsMb: 32,
};

export function testRunner(docker: Docker, options: Partial<SandboxRunnerOptions> = {}): SandboxRunner {
  return createSandboxRunner({
    docker,
    image: SANDBOX_IMAGE,
    limits: TEST_LIMITS,
    warmPool: 1,
    logger: createLogger({ level: 'warn', pretty: false }),
    ...options,
  });
}

/** Sandbox containers this test process created that still exist, in any state. */
export async function leftovers(docker: Docker): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({
    all: true,
    filters: { label: [`${LABEL_MANAGED}=true`, `${LABEL_OWNER}=${ownerId()}`] },
  });
}
