/**
 * Who may see /admin: a caller presenting DECKHAND_ADMIN_TOKEN as `Authorization: Bearer` (scripts,
 * curl), or a browser holding the session cookie the sign-in form sets. The cookie holds a random
 * session id; the session lives in the store with an expiry, is checked on every request and is
 * deleted on sign-out, so a copied cookie stops working when it expires, when its owner signs out,
 * or when the token rotates (each session is bound to an HMAC tag of the token it was opened with).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import type { Store } from '../../store/index.js';

export const SESSION_COOKIE = 'deckhand_admin';
/** How long a browser sign-in lasts unless configured otherwise: 12 hours. */
export const DEFAULT_SESSION_MS = 12 * 60 * 60 * 1000;

/** The sessions, and the audit trail every sign-in (right or wrong) is written to. */
export type SessionStore = Pick<
  Store,
  'openAdminSession' | 'findAdminSession' | 'closeAdminSession' | 'purgeAdminSessions' | 'recordAudit'
>;

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Constant-time comparison of two secrets of any length. */
export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * A session's short form for the audit trail: the first 12 hex digits of the hash the store keys the
 * session by, so an operator can find it there, while the cookie value itself is never written down.
 */
export function sessionShortId(id: string): string {
  return createHash('sha256').update(id).digest('hex').slice(0, 12);
}

/** Names the token a session was opened with, without being usable as it. */
export function tokenTag(token: string): string {
  return createHmac('sha256', token).update('deckhand-admin-session-v2').digest('base64url');
}

export function cookieOf(req: Request, name: string = SESSION_COOKIE): string | undefined {
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=') || undefined;
  }
  return undefined;
}

/** The Bearer token of the request: undefined without an Authorization header, '' when malformed. */
export function bearerOf(req: Request): string | undefined {
  const header = req.get('authorization');
  if (header === undefined) return undefined;
  return /^Bearer\s+(.+)$/i.exec(header.trim())?.[1] ?? '';
}

/** Whether the cookie names a live session opened with the current token. */
export async function validSession(
  sessions: SessionStore,
  id: string,
  token: string,
  now: Date,
): Promise<boolean> {
  const session = await sessions.findAdminSession(id, now);
  return session !== null && sameSecret(session.tokenTag, tokenTag(token));
}

export function sessionCookie(id: string, maxAgeSeconds: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${id}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=${Math.max(1, Math.floor(maxAgeSeconds))}${secure ? '; Secure' : ''}`;
}

export function clearedCookie(): string {
  return `${SESSION_COOKIE}=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0`;
}
