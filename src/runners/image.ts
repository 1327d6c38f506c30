/**
 * Image pinning: a configured tag (deckhand-sandbox:latest) is resolved once, at start, to the image
 * ID, and every container is created from that ID. A rebuild or retag while Deckhand runs therefore
 * never mixes two images in one process, and the Run record names exactly what ran.
 */
import type Docker from 'dockerode';
import { DeckhandError } from '../core/index.js';

export const BUILD_HINT = 'Build it with `deckhand sandbox build` (scripts/sandbox-image.sh)';

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** A DeckhandError saying Docker cannot be reached, naming the fix. */
export function dockerUnreachable(cause: unknown): DeckhandError {
  return new DeckhandError(
    'NOT_CONFIGURED',
    'Docker is not reachable, so sandboxes cannot run. Start it with `eval "$(scripts/services.sh up docker)"` or set DOCKER_HOST to a running engine.',
    { cause, retryable: true, detail: cause instanceof Error ? cause.message : String(cause) },
  );
}

export async function pinImage(docker: Docker, reference: string): Promise<string> {
  try {
    const info = await docker.getImage(reference).inspect();
    return info.Id;
  } catch (error) {
    if (statusOf(error) === 404) {
      throw new DeckhandError(
        'NOT_CONFIGURED',
        `The sandbox image ${reference} is missing. ${BUILD_HINT}, or set sandbox.image / DECKHAND_SANDBOX_IMAGE to an image that exists.`,
        { cause: error },
      );
    }
    throw dockerUnreachable(error);
  }
}
