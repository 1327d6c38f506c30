/**
 * Who may see /admin: a caller presenting DECKHAND_ADMIN_TOKEN, either as `Authorization: Bearer`
 * (scripts, curl) or as the session cookie the sign-in form sets (browsers). The cookie holds an HMAC
 * of the token, never the token itself, so it is useless elsewhere and dies when the token rotates.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';

export const SESSION_COOKIE = 'deckhand_admin';

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Constant-time comparison of two secrets of any length. */
export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

export function sessionValue(token: string): string {
  return createHmac('sha256', token).update('deckhand-admin-session-v1').digest('base64url');
}

function cookieOf(req: Request, name: string): string | undefined {
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
}

export type Credential = 'none' | 'valid' | 'invalid';

/** What the request presents: nothing, the right token (or session), or something wrong. */
export function credentialOf(req: Request, token: string): Credential {
  const header = req.get('authorization');
  if (header) {
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    return match?.[1] && sameSecret(match[1], token) ? 'valid' : 'invalid';
  }
  const cookie = cookieOf(req, SESSION_COOKIE);
  if (cookie) return sameSecret(cookie, sessionValue(token)) ? 'valid' : 'invalid';
  return 'none';
}

export function sessionCookie(token: string, secure: boolean): string {
  return `${SESSION_COOKIE}=${sessionValue(token)}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=43200${secure ? '; Secure' : ''}`;
}

export function clearedCookie(): string {
  return `${SESSION_COOKIE}=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0`;
}
