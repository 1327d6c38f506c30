/**
 * One shape for every platform. Slack, Discord, GitHub and the terminal each implement
 * PlatformAdapter in their own folder; the server, worker, chat connections and the digest runner
 * loop over adapters and never ask which platform they hold. Only the composition root (src/cli)
 * decides which adapters exist, from the operator's config.
 */
import type { Router } from 'express';
import type { EventPlatform, NormalizedEvent, ParseOutcome } from './event.js';
import type { ReplySink } from './reply.js';

export type RequestHeaders = Record<string, string | undefined>;

/** How a signed request is answered once its task is durable (or found to be a duplicate). */
export interface IngressAck {
  status: number;
  /** JSON body; none means an empty answer. */
  body?: unknown;
}

/** One signed POST route on the shared HTTP port (`/slack/events`, `/github/webhooks`, ...). */
export interface IngressRoute {
  path: string;
  /**
   * Verifies the signature over the raw body, then parses it with the platform's policy. Throws an
   * IngressError (401, 400, 503) for a request that must change nothing.
   */
  accept(rawBody: Buffer, headers: RequestHeaders): ParseOutcome | Promise<ParseOutcome>;
  /** The platform's expected answer once the event is recorded. */
  ack(recorded: { taskId: string; duplicate: boolean; headers: RequestHeaders }): IngressAck;
  /** The status for a request that is valid but not for Deckhand (default 200). */
  ignoredStatus?: number;
  /**
   * The platform never sends the request again (Discord interactions): when the store is slow or
   * down the event is kept in the local ingest journal and acked, instead of answered 503.
   */
  journaled?: boolean;
}

/** A long-lived connection (Slack Socket Mode, the Discord gateway) feeding the same pipeline. */
export interface ChatConnection {
  stop(): Promise<void>;
}

export type Ingest = (event: NormalizedEvent) => Promise<{ taskId: string; duplicate: boolean }>;

/** Where a digest goes. */
export interface ChannelTarget {
  platform: EventPlatform;
  workspaceId: string;
  channelId: string;
}

/** A digest ready to post: plain text plus each chat platform's rich rendering. */
export interface ComposedDigest {
  title: string;
  /** Plain text: Slack's notification fallback, logs, the terminal. */
  text: string;
  slack: { text: string; blocks: object[] };
  discord: { embeds: object[] };
}

/** Posts digests (and the short failure notice) into one platform's channels. */
export interface DigestChannel {
  /**
   * Posts the digest; `key` names the (schedule, due time) for idempotency where the platform has a
   * key for it. `timeoutMs` bounds each request (the runner keeps it inside its lease).
   */
  post(
    target: ChannelTarget,
    digest: ComposedDigest,
    key: string,
    limits?: { timeoutMs?: number },
  ): Promise<{ messageId: string }>;
  notice(target: ChannelTarget, text: string): Promise<void>;
}

export interface PlatformAdapter {
  readonly platform: EventPlatform;
  /** Signed POST routes on the HTTP port; none for the terminal. */
  readonly routes: readonly IngressRoute[];
  /** Other HTTP routes (Slack's OAuth install pages), mounted at the root when present. */
  readonly pages?: Router;
  /** Opens the platform's long-lived connection when configured; undefined when there is none. */
  connect?(ingest: Ingest): Promise<ChatConnection | undefined>;
  /** Where replies to this platform's events go; a logging sink naming the missing setting if unset. */
  sinkFor(event: NormalizedEvent): ReplySink;
  /** True for a chat message that should show "working" (a 👀) the moment its task is durable. */
  showsReceipt(event: NormalizedEvent): boolean;
  /** True when replying in a thread makes Deckhand a member of it (later plain replies continue). */
  readonly joinsThreads: boolean;
  /**
   * Each post is a message of its own that can be edited later (Slack, Discord): a task's posts are
   * keyed and recorded, so a retried task edits what an earlier attempt posted (src/bots/reply-keys.ts).
   * GitHub keeps one tracking comment per task with its own anchor; the terminal has no retries.
   */
  readonly keysReplies?: boolean;
  /** Present when digests can be posted to this platform's channels. */
  readonly digests?: DigestChannel;
}
