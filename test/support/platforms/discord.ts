/**
 * Discord's side of the stand-ins: a bot posts with POST /channels/{id}/messages (JSON), and the
 * stand-in answers with the created message's id.
 */

/** The channel id of a create-message path (after the API base), or undefined for any other path. */
export function discordChannelOf(path: string): string | undefined {
  const match = /^\/?channels\/([^/?]+)\/messages(?:\?.*)?$/.exec(path);
  return match ? decodeURIComponent(match[1]!) : undefined;
}
