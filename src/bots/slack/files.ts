/**
 * Long output as a file snippet in the thread, through WebClient's filesUploadV2 (Slack's external
 * upload flow: files.getUploadURLExternal -> the bytes to the returned URL ->
 * files.completeUploadExternal shares it in the channel / thread; files.upload is retired), and the
 * removal of a snippet a newer one replaced.
 * https://docs.slack.dev/messaging/working-with-files#uploading_files
 */
import type { WebClient } from '@slack/web-api';
import { z } from 'zod';
import { DeckhandError, type RetryOptions } from '../../core/index.js';
import { callSlack, slackRequest } from './api.js';

export interface SnippetUpload {
  channel: string;
  threadTs?: string | undefined;
  filename: string;
  title: string;
  content: string;
}

/** filesUploadV2's answer: one files.completeUploadExternal result per destination. */
const uploadedSchema = z.object({
  files: z
    .array(z.object({ files: z.array(z.object({ id: z.string().min(1) }).passthrough()).min(1) }))
    .min(1),
});

/** Uploads the snippet into the channel (and thread); resolves to the new file's id. */
export async function uploadSlackSnippet(
  client: WebClient,
  upload: SnippetUpload,
  retry: RetryOptions = {},
): Promise<string> {
  const file = {
    content: upload.content,
    filename: upload.filename,
    title: upload.title,
    snippet_type: 'text',
  };
  const { threadTs } = upload;
  const answer = await slackRequest(
    'Slack file upload',
    () =>
      client.filesUploadV2(
        threadTs
          ? { ...file, channel_id: upload.channel, thread_ts: threadTs }
          : { ...file, channel_id: upload.channel },
      ),
    retry,
  );
  const parsed = uploadedSchema.safeParse(answer);
  const id = parsed.data?.files[0]?.files[0]?.id;
  if (!id) {
    throw new DeckhandError(
      'UPSTREAM_FAILED',
      'Slack files.completeUploadExternal answered without the uploaded file.',
    );
  }
  return id;
}

/** Removes a snippet; one already gone is fine. */
export async function deleteSlackFile(
  client: WebClient,
  id: string,
  retry: RetryOptions = {},
): Promise<void> {
  await callSlack(
    client,
    'files.delete',
    { file: id },
    { retry, accept: ['file_not_found', 'file_deleted'] },
  );
}
