/**
 * Slack's side of the stand-ins: @slack/web-api sends every Web API call as a form, so a stand-in
 * reads chat.postMessage's `blocks` and flags back into the shape the JSON body would have had.
 */

/** Slack form fields that carry JSON, and flags. */
const JSON_FIELDS = new Set(['blocks', 'attachments']);
const FLAG_FIELDS = new Set([
  'mrkdwn',
  'unfurl_links',
  'unfurl_media',
  'replace_original',
  'delete_original',
]);

function formField(key: string, value: string): unknown {
  if (JSON_FIELDS.has(key)) {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return value;
    }
  }
  return FLAG_FIELDS.has(key) && (value === 'true' || value === 'false') ? value === 'true' : value;
}

/**
 * A form-encoded Slack Web API body as the JSON body would have carried it: `blocks` as a list,
 * flags as booleans, everything else as the string it is. Stand-ins for chat.postMessage use it.
 */
export function parseSlackForm(text: string): Record<string, unknown> {
  return Object.fromEntries(
    [...new URLSearchParams(text)].map(([key, value]) => [key, formField(key, value)]),
  );
}

/** Whether `method` (the path after the Web API base, e.g. `chat.postMessage?x=1`) posts a message. */
export function isSlackPost(method: string): boolean {
  return method === 'chat.postMessage' || method.startsWith('chat.postMessage?');
}
