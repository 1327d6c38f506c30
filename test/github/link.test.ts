/**
 * Linking a chat account to GitHub with the device flow, against the loopback GitHub stand-in: the
 * person who enters the code gets their login back, and the user token is used for GET /user only;
 * a declined or expired code ends in a one-line refusal; aborting stops the polling at once.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isDeckhandError } from '../../src/core/index.js';
import { awaitGithubLogin, type GithubLinkSettings, startGithubLink } from '../../src/github/index.js';
import {
  answerDeviceFlow,
  DEVICE_FLOW_TOKEN,
  type GitHubStandIn,
  githubStandIn,
} from '../support/platforms/github.js';

let standIn: GitHubStandIn;
let settings: GithubLinkSettings;
beforeAll(async () => {
  standIn = await githubStandIn();
  settings = { clientId: 'Iv1.standin', apiUrl: standIn.url };
});
afterEach(() => standIn.reset());
afterAll(() => standIn.close());

async function refusalOf(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (!isDeckhandError(error)) throw new Error(`expected a DeckhandError, got ${String(error)}`);
  return error;
}

describe('GitHub device flow', () => {
  it('gives the login back to a person who enters the code, using the token only on GET /user', async () => {
    const seen = answerDeviceFlow(standIn, { login: 'octo-ada', id: 4242, pendingPolls: 1 });
    const start = await startGithubLink(settings);
    expect(start).toMatchObject({ deviceCode: 'device-code-1', userCode: 'WDJB-MJHT', intervalSeconds: 1 });
    expect(start.expiresAt.getTime()).toBeGreaterThan(Date.now() + 800_000);

    const began = Date.now();
    const login = await awaitGithubLogin(settings, start, new AbortController().signal);
    expect(login).toEqual({ login: 'octo-ada', githubId: 4242 });
    // One pending poll, then the token: two waits of one interval each.
    expect(Date.now() - began).toBeGreaterThanOrEqual(1900);

    expect(seen.map((req) => `${req.method} ${req.path}`)).toEqual([
      'POST /login/device/code',
      'POST /login/oauth/access_token',
      'POST /login/oauth/access_token',
      'GET /user',
    ]);
    expect(seen[0]?.body).toMatchObject({ client_id: 'Iv1.standin' });
    expect(seen[1]?.body).toMatchObject({ client_id: 'Iv1.standin', device_code: 'device-code-1' });
    const withToken = seen.filter((req) => JSON.stringify(req.headers).includes(DEVICE_FLOW_TOKEN));
    expect(withToken.map((req) => req.path)).toEqual(['/user']);
    expect(standIn.unmatched).toEqual([]);
  });

  it('refuses in one line when the person declines', async () => {
    answerDeviceFlow(standIn, { login: 'x', id: 1, pendingPolls: 0, outcome: 'denied', interval: 0 });
    const start = await startGithubLink(settings);
    const error = await refusalOf(awaitGithubLogin(settings, start, new AbortController().signal));
    expect(error.code).toBe('FORBIDDEN');
    expect(error.userMessage).toBe('You declined the GitHub authorization; say `link github` to try again.');
  });

  it('refuses in one line when the code expired', async () => {
    answerDeviceFlow(standIn, { login: 'x', id: 1, pendingPolls: 2, outcome: 'expired', interval: 0 });
    const start = await startGithubLink(settings);
    const error = await refusalOf(awaitGithubLogin(settings, start, new AbortController().signal));
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.userMessage).toBe('The GitHub code expired; say `link github` for a new one.');

    // Past its expiry, no poll is made at all.
    const stale = { ...start, expiresAt: new Date(Date.now() - 1000) };
    const late = await refusalOf(awaitGithubLogin(settings, stale, new AbortController().signal));
    expect(late.userMessage).toBe('The GitHub code expired; say `link github` for a new one.');
  });

  it('says what to fix when the device flow is disabled for the app', async () => {
    standIn.route('POST', '/login/device/code', 200, {
      error: 'device_flow_disabled',
      error_description: 'Device Flow must be explicitly enabled for this App',
      error_uri: 'https://docs.github.com',
    });
    const error = await refusalOf(startGithubLink(settings));
    expect(error.code).toBe('NOT_CONFIGURED');
    expect(error.userMessage).toContain('enable Device Flow in the GitHub App settings');
  });

  it('stops polling promptly when aborted', async () => {
    const seen = answerDeviceFlow(standIn, { login: 'x', id: 1, pendingPolls: 1000, interval: 1 });
    const start = await startGithubLink(settings);
    const controller = new AbortController();
    const waiting = awaitGithubLogin(settings, start, controller.signal);
    const outcome = waiting.then(
      () => 'resolved',
      (error: unknown) => error,
    );
    while (seen.length < 2) await new Promise((resolve) => setTimeout(resolve, 20));
    const abortedAt = Date.now();
    controller.abort();
    const error = await outcome;
    expect(Date.now() - abortedAt).toBeLessThan(300);
    expect(error).toMatchObject({ name: 'AbortError' });
    const polls = seen.length;
    await new Promise((resolve) => setTimeout(resolve, 1300));
    expect(seen.length).toBe(polls);
  });
});
