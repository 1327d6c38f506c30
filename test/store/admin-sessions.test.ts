/**
 * Admin sessions in the store: the raw id goes to the browser once and only its hash is stored; a
 * session is found until its expiry and not after (expiry is checked in code, since a TTL index is
 * lazy and FerretDB has none); sign-out and the purge remove them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.js';
import { dropTestStore, openTestStore } from '../support/store.js';

let store: Store;
const opened = new Date('2025-03-01T09:00:00Z');
const at = (minutes: number) => new Date(opened.getTime() + minutes * 60_000);

beforeAll(async () => {
  store = await openTestStore();
});
afterAll(() => dropTestStore(store));

describe('admin sessions', () => {
  it('stores only a hash of the session id and finds the session by the id until it expires', async () => {
    const { id, expiresAt } = await store.openAdminSession({
      tokenTag: 'tag-1',
      lifetimeMs: 30 * 60_000,
      now: opened,
    });
    expect(expiresAt).toEqual(at(30));
    expect(id.length).toBeGreaterThanOrEqual(40);
    const stored = await store.models.AdminSession.find({}).lean();
    expect(JSON.stringify(stored)).not.toContain(id);

    expect(await store.findAdminSession(id, at(29))).toMatchObject({ tokenTag: 'tag-1', expiresAt: at(30) });
    expect(await store.findAdminSession('not-a-session', at(1))).toBeNull();
    expect(await store.findAdminSession(id, at(30))).toBeNull();
    // An expired session found on a request is deleted then and there.
    expect(await store.models.AdminSession.countDocuments({})).toBe(0);
  });

  it('forgets a session on sign-out', async () => {
    const { id } = await store.openAdminSession({ tokenTag: 'tag-2', lifetimeMs: 60_000, now: opened });
    await store.closeAdminSession(id);
    expect(await store.findAdminSession(id, opened)).toBeNull();
    await store.closeAdminSession(id); // twice is fine
  });

  it('purges expired sessions and keeps live ones', async () => {
    const short = await store.openAdminSession({ tokenTag: 't', lifetimeMs: 60_000, now: opened });
    const long = await store.openAdminSession({ tokenTag: 't', lifetimeMs: 3_600_000, now: opened });
    expect(await store.purgeAdminSessions(at(5))).toBe(1);
    expect(await store.findAdminSession(short.id, opened)).toBeNull();
    expect(await store.findAdminSession(long.id, at(5))).not.toBeNull();
  });
});
