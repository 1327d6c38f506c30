/** The Docker engine client. DOCKER_HOST (unix:// or tcp://) wins; otherwise the default socket. */
import { existsSync } from 'node:fs';
import Docker from 'dockerode';

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

export function dockerConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.DOCKER_HOST) || existsSync(DEFAULT_DOCKER_SOCKET);
}

export function createDockerClient(host = process.env.DOCKER_HOST): Docker {
  if (!host) return new Docker({ socketPath: DEFAULT_DOCKER_SOCKET });
  if (host.startsWith('unix://')) return new Docker({ socketPath: host.slice('unix://'.length) });
  const url = new URL(host.replace(/^tcp:/, 'http:'));
  return new Docker({ host: url.hostname, port: Number(url.port || 2375), protocol: 'http' });
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
