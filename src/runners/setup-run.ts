/**
 * A dependency install (a GitHub change's setup step) as one call: open an egress proxy that allows
 * only the configured registries (egress.ts), take the cache volume for the repository and lockfile
 * (dependency-cache.ts), run the setup script in the sandbox on the checkout with that proxy as its
 * only way out, then close the proxy and keep the caches under their cap. Everything else about the
 * run is a sandbox run's: limits, read-only root, the checkout copied in and checked on the way out.
 */
import type Docker from 'dockerode';
import type { Config, Logger } from '../core/index.js';
import { DependencyCache, setupRunEgress } from './dependency-cache.js';
import { EgressProxy } from './egress.js';
import type { CodeRunner, RunResult } from './sandbox.js';

export interface DependencyInstallJob {
  /** `owner/repo`: with lockHash, which cache the install reuses. */
  repository: string;
  lockHash: string;
  /** The bash script (npm ci, pip install -r ...), run with the checkout as the working folder. */
  script: string;
  /** The host checkout: copied in, and what the install leaves there copied back (checked). */
  workspace: { dir: string; sealed?: string[] };
  taskId?: string;
  signal?: AbortSignal;
}

export interface DependencyInstaller {
  /** The hosts the proxy lets the install reach, for what the tracking comment says. */
  readonly allowed: readonly string[];
  install(job: DependencyInstallJob): Promise<RunResult>;
}

export interface DependencyInstallerOptions {
  runner: CodeRunner;
  docker: Docker;
  /** The sandbox image (it carries tinyproxy): tag or ID. */
  image: string;
  settings: Config['sandbox']['egress'];
  /** Separates caches sharing one engine (tests); 'default' when absent. */
  cacheScope?: string;
  logger?: Logger;
}

export function createDependencyInstaller(options: DependencyInstallerOptions): DependencyInstaller {
  const { runner, docker, image, settings, logger } = options;
  const cache = new DependencyCache({
    docker,
    image,
    capMb: settings.cacheMb,
    ...(options.cacheScope ? { scope: options.cacheScope } : {}),
    ...(logger ? { logger } : {}),
  });
  return {
    allowed: settings.allow,
    async install(job) {
      const proxy = await EgressProxy.open({
        docker,
        image,
        allow: settings.allow,
        outboundNetwork: settings.outboundNetwork,
        ...(logger ? { logger } : {}),
      });
      try {
        // A cap of 0 keeps no cache: every install downloads afresh.
        const lease = settings.cacheMb > 0 ? await cache.acquire(job.repository, job.lockHash) : undefined;
        const result = await runner.run({
          lang: 'bash',
          code: job.script,
          workspace: { dir: job.workspace.dir, collect: true, sealed: job.workspace.sealed ?? [] },
          egress: setupRunEgress(proxy.attachment, lease),
          timeoutSeconds: settings.setupTimeoutSeconds,
          ...(job.taskId ? { taskId: job.taskId } : {}),
          ...(job.signal ? { signal: job.signal } : {}),
        });
        if (lease) {
          // Keeping the caches under their cap never fails the change.
          await cache.release(lease).catch((error: unknown) => {
            logger?.warn({ err: error }, 'could not keep the dependency caches under their cap');
          });
        }
        return result;
      } finally {
        await proxy.close().catch((error: unknown) => {
          logger?.warn({ err: error, network: proxy.network }, 'could not remove an egress proxy');
        });
      }
    },
  };
}
