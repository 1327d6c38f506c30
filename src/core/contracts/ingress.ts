/**
 * Shared pieces of the ingress layer: the typed error every verify/parse function throws (it
 * carries the HTTP status the server should answer with), body limits, and small helpers the
 * platform parsers share. Nothing here touches the network.
 */
import type { z } from 'zod';
import { DeckhandError, type ErrorCode } from '../errors.js';
import { type NormalizedEvent, normalizedEventSchema, type ParseOutcome } from './event.js';

/** Largest request body any ingress route accepts (Slack, Discord and GitHub all stay well below). */
export const MAX_BODY_BYTES = 1_000_000;

export type IngressStatus = 400 | 401 | 413 | 503;

const CODE_BY_STATUS = {
  400: 'BAD_REQUEST',
  401: 'BAD_SIGNATURE',
  413: 'PAYLOAD_TOO_LARGE',
  503: 'NOT_CONFIGURED',
} as const satisfies Record<IngressStatus, ErrorCode>;

/** A refused request. `message` is safe to send back to the caller: it never holds secrets or digests. */
export class IngressError extends DeckhandError {
  readonly httpStatus: IngressStatus;

  constructor(status: IngressStatus, message: string, options: { cause?: unknown } = {}) {
    super(CODE_BY_STATUS[status], message, options);
    this.name = 'IngressError';
    this.httpStatus = status;
  }
}

export function ingressError(
  status: IngressStatus,
  message: string,
  options?: { cause?: unknown },
): IngressError {
  return new IngressError(status, message, options);
}

/** 503 for a route whose secret is not set, naming the variable and both ways to set it. */
export function notConfigured(what: string, variable: string): IngressError {
  return new IngressError(
    503,
    `${what} is not configured: set ${variable} (export ${variable}=... or ${variable}_FILE=/path).`,
  );
}

export function isIngressError(error: unknown): error is IngressError {
  return error instanceof IngressError;
}

/** The HTTP answer for an error thrown while verifying or parsing: its status, or 500 with no detail. */
export function ingressErrorResponse(error: unknown): {
  status: number;
  body: { error: string; message: string };
} {
  if (error instanceof IngressError) {
    return { status: error.httpStatus, body: { error: error.code, message: error.userMessage } };
  }
  return { status: 500, body: { error: 'INTERNAL', message: 'Internal error.' } };
}

/** Throws 413 when a body is over the limit. */
export function assertBodySize(rawBody: Buffer, limit = MAX_BODY_BYTES): void {
  if (rawBody.length > limit) {
    throw ingressError(413, `Request body is ${rawBody.length} bytes; the limit is ${limit}.`);
  }
}

/** Case-insensitive header lookup over a plain record. */
export function headerOf(headers: Record<string, string | undefined>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}

/** `application/json; charset=utf-8` -> `application/json`. */
export function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** JSON.parse with a 400 instead of a SyntaxError. */
export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw ingressError(400, `${what} is not valid JSON.`, { cause });
  }
}

/** One line naming each schema problem, for a 400 message. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}

/** Validates with `schema` or throws 400 naming what did not match. */
export function parseWith<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw ingressError(400, `${what} does not have the expected shape: ${describeIssues(result.error)}`);
  }
  return result.data;
}

export type EventFields = Omit<NormalizedEvent, 'receivedAt' | 'mentions' | 'replyTo'> & {
  mentions?: string[];
  replyTo?: Record<string, string | undefined>;
};

/** Builds and validates a normalized event; optional replyTo entries that are undefined are dropped. */
export function eventOutcome(fields: EventFields, now: Date = new Date()): ParseOutcome {
  const replyTo: Record<string, string> = {};
  for (const [key, value] of Object.entries(fields.replyTo ?? {})) {
    if (value !== undefined && value !== '') replyTo[key] = value;
  }
  const event = parseWith(
    normalizedEventSchema,
    { ...fields, mentions: fields.mentions ?? [], replyTo, receivedAt: now.toISOString() },
    'The event',
  );
  return { kind: 'event', event };
}

export function ignore(reason: string): ParseOutcome {
  return { kind: 'ignore', reason };
}

export function respond(status: number, body: unknown): ParseOutcome {
  return { kind: 'respond', status, body };
}
