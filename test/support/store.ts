/** Each test file gets its own database on the real server, dropped afterwards. */
import { randomBytes } from 'node:crypto';
import { openStore, type Store, type StoreOptions } from '../../src/store/index.js';

export function testDatabaseUri(prefix = 't'): string {
  const uri = process.env.MONGODB_URI;
  if (!uri)
    throw new Error('MONGODB_URI is not set: run the suite with `npm test` (it starts the services).');
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const url = new URL(uri);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function openTestStore(options: Partial<StoreOptions> = {}): Promise<Store> {
  return openStore({ uri: testDatabaseUri(), retries: 2, retryBaseMs: 10, ...options });
}

export async function dropTestStore(store: Store | undefined): Promise<void> {
  if (!store) return;
  await store.dropDatabase().catch(() => undefined);
  await store.close();
}
