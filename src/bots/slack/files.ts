/**
 * Long output as a file snippet in the thread, with Slack's external upload flow (files.upload is
 * retired): files.getUploadURLExternal -> POST the bytes to the returned URL ->
 * files.completeUploadExternal shares it in the channel / thread.
 * https://api.slack.com/messaging/files#uploading_files
 */
import { DeckhandError, type RetryOptions, withRetries } from '../../core/index.js';
import type { SlackApi } from './api.js';

export interface SnippetUpload {
  channel: string;
  threadTs?: string | undefined;
  filename: string;
  title: string;
  content: string;
}

export async function uploadSlackSnippet(api: SlackApi, upload: SnippetUpload, retry: RetryOptions = {}) {
  const bytes = Buffer.from(upload.content, 'utf8');
  const target = await api(
    'files.getUploadURLExternal',
    { filename: upload.filename, length: String(bytes.length), snippet_type: 'text' },
    { form: true },
  );
  if (!target.upload_url || !target.file_id) {
    throw new DeckhandError(
      'UPSTREAM_FAILED',
      'Slack files.getUploadURLExternal answered without an upload URL.',
    );
  }
  const uploadUrl = target.upload_url;
  // The upload URL is itself the credential (no Authorization header); it is never logged.
  await withRetries(
    'Slack file upload',
    async () => {
      const response = await fetch(uploadUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: bytes,
        signal: AbortSignal.timeout(retry.timeoutMs ?? 30_000),
      });
      await response.text();
      if (response.ok) return { ok: true as const, value: undefined };
      return {
        ok: false as const,
        retry: response.status >= 500 || response.status === 429,
        reason: `HTTP ${response.status}`,
      };
    },
    retry,
  );
  await api(
    'files.completeUploadExternal',
    {
      files: [{ id: target.file_id, title: upload.title }],
      channel_id: upload.channel,
      ...(upload.threadTs ? { thread_ts: upload.threadTs } : {}),
    },
    { form: true },
  );
  return target.file_id;
}
