/**
 * Third-party APIs (Slack, Discord, GitHub) cannot be reached here: a test file that calls this
 * gets nock for them, with real network off except loopback, cleaned after each test.
 */
import nock from 'nock';
import { afterAll, afterEach, beforeAll } from 'vitest';

export function useNockForThirdPartyApis(): void {
  beforeAll(() => {
    nock.disableNetConnect();
    nock.enableNetConnect('127.0.0.1');
  });
  afterEach(() => {
    nock.cleanAll();
  });
  afterAll(() => {
    nock.enableNetConnect();
    nock.restore();
  });
}
