/**
 * The terminal adapter: lines typed at `deckhand chat` become normalized events; replies print.
 * It has no HTTP route and no connection of its own (`deckhand chat` reads stdin); digests aimed
 * at the terminal are written to the log.
 */
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import type {
  Logger,
  NormalizedEvent,
  PlatformAdapter,
  PostedReply,
  ReplySink,
  ReplyStatus,
} from '../../core/index.js';

export function terminalEvent(text: string, session: string): NormalizedEvent {
  return {
    platform: 'terminal',
    workspaceId: 'local',
    channelId: 'terminal',
    threadId: session,
    userId: userInfo().username || 'local',
    text,
    mentions: [],
    deliveryKey: randomUUID(),
    eventType: 'message',
    replyTo: {},
    receivedAt: new Date().toISOString(),
  };
}

/** Prints posts as they come; an update reprints the message (terminals cannot edit scrollback). */
export class TerminalSink implements ReplySink {
  private count = 0;
  constructor(private readonly out: NodeJS.WritableStream) {}
  async post(text: string): Promise<PostedReply> {
    this.out.write(`deckhand> ${text}\n`);
    return { id: String(this.count++) };
  }
  async update(_reply: PostedReply, text: string): Promise<void> {
    this.out.write(`deckhand> ${text}\n`);
  }
  async status(_status: ReplyStatus): Promise<void> {}
}

export function createTerminalAdapter(deps: {
  logger: Logger;
  out?: NodeJS.WritableStream;
}): PlatformAdapter {
  const { logger } = deps;
  const out = deps.out ?? process.stdout;
  return {
    platform: 'terminal',
    routes: [],
    sinkFor: () => new TerminalSink(out),
    showsReceipt: () => false,
    joinsThreads: false,
    digests: {
      async post(target, digest, key) {
        logger.info({ channel: target.channelId, text: digest.text }, 'digest (terminal)');
        return { messageId: `terminal:${key}` };
      },
      async notice(target, text) {
        logger.warn({ channel: target.channelId, text }, 'digest notice (terminal)');
      },
    },
  };
}
