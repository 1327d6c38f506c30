/**
 * Cleanup of containers nobody will read. Every sandbox container carries labels saying it is ours,
 * which process owns it and when it must be gone at the latest. The reaper removes a labelled container
 * only when its owner process is gone (same host: the pid no longer exists) or its deadline has passed,
 * so several Deckhand processes (replicas, test workers) sharing one engine never remove each other's
 * live sandboxes.
 */
import { hostname } from 'node:os';
import type Docker from 'dockerode';
import type { Logger } from '../core/index.js';

export const LABEL_MANAGED = 'deckhand.managed';
export const LABEL_POOL = 'deckhand.pool';
export const LABEL_OWNER = 'deckhand.owner';
export const LABEL_DEADLINE = 'deckhand.deadline';

/** `<hostname>/<pid>` of this process. */
export function ownerId(): string {
  return `${hostname()}/${process.pid}`;
}

export function sandboxLabels(pool: string, deadline: number, owner = ownerId()): Record<string, string> {
  return {
    [LABEL_MANAGED]: 'true',
    [LABEL_POOL]: pool,
    [LABEL_OWNER]: owner,
    [LABEL_DEADLINE]: String(deadline),
  };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Why a container should go, or undefined to keep it. */
export function reapReason(
  labels: Record<string, string>,
  now: number,
  host = hostname(),
): string | undefined {
  const deadline = Number(labels[LABEL_DEADLINE]);
  if (Number.isFinite(deadline) && deadline > 0 && deadline < now) return 'past its deadline';
  const owner = labels[LABEL_OWNER] ?? '';
  const slash = owner.lastIndexOf('/');
  const ownerHost = owner.slice(0, slash);
  const pid = Number(owner.slice(slash + 1));
  // Another host's pids mean nothing here; its containers go by deadline only.
  if (slash > 0 && ownerHost === host && Number.isInteger(pid) && pid > 0 && !pidAlive(pid)) {
    return `owner process ${pid} is gone`;
  }
  return undefined;
}

/** Removes orphaned sandbox containers; returns how many were removed. */
export async function reapOrphans(docker: Docker, logger?: Logger, now = Date.now()): Promise<number> {
  const containers = await docker.listContainers({
    all: true,
    filters: { label: [`${LABEL_MANAGED}=true`] },
  });
  let removed = 0;
  await Promise.all(
    containers.map(async (info) => {
      const reason = reapReason(info.Labels ?? {}, now);
      if (!reason) return;
      try {
        await docker.getContainer(info.Id).remove({ force: true });
        removed++;
        logger?.info({ container: info.Id.slice(0, 12), reason }, 'removed orphaned sandbox container');
      } catch (error) {
        // 404/409: already gone or being removed by its owner right now.
        const status = (error as { statusCode?: number }).statusCode;
        if (status !== 404 && status !== 409) {
          logger?.warn({ err: error, container: info.Id.slice(0, 12) }, 'could not remove sandbox container');
        }
      }
    }),
  );
  return removed;
}
