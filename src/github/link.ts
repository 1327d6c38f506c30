/**
 * Proving which GitHub account a chat user owns, with GitHub's device flow: Deckhand shows a short
 * code, the person enters it at github.com/login/device, and Deckhand, polling meanwhile, receives a
 * user token it uses once to read GET /user. The login (and numeric id) is all that is kept: the
 * token is dropped as soon as the login is read, so no user credential is ever stored.
 *
 * Needs only the GitHub App's client id (no secret), with "Enable Device Flow" on in its settings.
 * The OAuth host is derived from the API base by @octokit/oauth-methods (api.github.com -> github.com,
 * GHES `…/api/v3` -> its host, a loopback test server stays itself).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createDeviceCode, exchangeDeviceCode } from '@octokit/oauth-methods';
import { request as octokitRequest } from '@octokit/request';
import { z } from 'zod';
import { DeckhandError } from '../core/index.js';

export interface GithubLinkSettings {
  clientId: string;
  /** The API base (GITHUB_API_URL); '' means https://api.github.com. */
  apiUrl: string;
}

export interface DeviceLinkStart {
  deviceCode: string;
  /** What the person types at `verificationUri`. */
  userCode: string;
  verificationUri: string;
  expiresAt: Date;
  intervalSeconds: number;
}

type Request = typeof octokitRequest;

const deviceCodeAnswer = z.object({
  device_code: z.string().min(1),
  user_code: z.string().min(1),
  verification_uri: z.string().min(1),
  expires_in: z.number().positive(),
  interval: z.number().nonnegative().default(5),
});
const oauthError = z.object({
  error: z.string(),
  error_description: z.string().optional(),
  interval: z.number().positive().optional(),
});
const userAnswer = z.object({ login: z.string().min(1), id: z.number().int().positive() });

/** GitHub asks for at least this much more between polls after a `slow_down`. */
const SLOW_DOWN_SECONDS = 5;

const DECLINED = 'You declined the GitHub authorization; say `link github` to try again.';
const EXPIRED = 'The GitHub code expired; say `link github` for a new one.';

function requestFor(settings: GithubLinkSettings, signal?: AbortSignal): Request {
  return octokitRequest.defaults({
    baseUrl: settings.apiUrl.trim().replace(/\/+$/, '') || 'https://api.github.com',
    headers: { 'user-agent': 'deckhand' },
    ...(signal ? { request: { signal } } : {}),
  });
}

function notConfigured(fix: string, detail: string): DeckhandError {
  return new DeckhandError('NOT_CONFIGURED', `Linking GitHub accounts is not set up here: ${fix}.`, {
    detail,
  });
}

/** The OAuth error GitHub answered (`{error: …}`), if the failure was one. */
function oauthErrorOf(error: unknown): z.infer<typeof oauthError> | undefined {
  if (typeof error !== 'object' || error === null || !('response' in error)) return undefined;
  const data = (error as { response?: { data?: unknown } }).response?.data;
  const parsed = oauthError.safeParse(data);
  return parsed.success ? parsed.data : undefined;
}

function statusOf(error: unknown): number | undefined {
  const status =
    typeof error === 'object' && error !== null ? (error as { status?: unknown }).status : undefined;
  return typeof status === 'number' ? status : undefined;
}

/** A failure of GitHub's OAuth endpoints as a DeckhandError with a one-line message. */
function toLinkError(error: unknown): DeckhandError {
  if (error instanceof DeckhandError) return error;
  const code = oauthErrorOf(error)?.error;
  if (code === 'access_denied') return new DeckhandError('FORBIDDEN', DECLINED);
  if (code === 'expired_token' || code === 'incorrect_device_code') {
    return new DeckhandError('BAD_REQUEST', EXPIRED, { detail: code });
  }
  if (code === 'device_flow_disabled' || code === 'unauthorized_client') {
    return notConfigured('enable Device Flow in the GitHub App settings', code);
  }
  if (code === 'incorrect_client_credentials' || statusOf(error) === 404) {
    return notConfigured('check GITHUB_CLIENT_ID (the GitHub App’s client id)', code ?? 'not found');
  }
  const status = statusOf(error);
  if (code === undefined && status !== undefined && status >= 400 && status < 500) {
    return new DeckhandError('UPSTREAM_FAILED', 'GitHub refused the account-link request; try again later.', {
      detail: `HTTP ${status}`,
    });
  }
  return new DeckhandError(
    'UPSTREAM_FAILED',
    'GitHub could not be reached to link your account; try again in a minute.',
    {
      retryable: true,
      detail: code ?? (status !== undefined ? `HTTP ${status}` : String((error as Error)?.message ?? error)),
    },
  );
}

/** Asks GitHub for a device code and the code the person enters. */
export async function startGithubLink(settings: GithubLinkSettings): Promise<DeviceLinkStart> {
  if (!settings.clientId.trim()) {
    throw notConfigured('set GITHUB_CLIENT_ID to the GitHub App’s client id', 'no client id');
  }
  let data: unknown;
  try {
    const response = await createDeviceCode({
      clientType: 'github-app',
      clientId: settings.clientId,
      request: requestFor(settings),
    });
    data = response.data;
  } catch (error) {
    throw toLinkError(error);
  }
  const parsed = deviceCodeAnswer.safeParse(data);
  if (!parsed.success) {
    throw new DeckhandError(
      'UPSTREAM_FAILED',
      'GitHub answered the account-link request oddly; try again later.',
      {
        detail: parsed.error.message,
      },
    );
  }
  const answer = parsed.data;
  return {
    deviceCode: answer.device_code,
    userCode: answer.user_code,
    verificationUri: answer.verification_uri,
    expiresAt: new Date(Date.now() + answer.expires_in * 1000),
    intervalSeconds: answer.interval,
  };
}

/** One poll: the user token, or how long to wait before the next poll (seconds). */
async function pollOnce(
  settings: GithubLinkSettings,
  start: DeviceLinkStart,
  signal: AbortSignal,
  interval: number,
): Promise<{ token: string } | { wait: number }> {
  try {
    const response = await exchangeDeviceCode({
      clientType: 'github-app',
      clientId: settings.clientId,
      code: start.deviceCode,
      request: requestFor(settings, signal),
    });
    return { token: response.authentication.token };
  } catch (error) {
    signal.throwIfAborted();
    const answer = oauthErrorOf(error);
    if (answer?.error === 'authorization_pending') return { wait: interval };
    if (answer?.error === 'slow_down') {
      return { wait: Math.max(answer.interval ?? 0, interval + SLOW_DOWN_SECONDS) };
    }
    throw toLinkError(error);
  }
}

/** GET /user with the user token: the login it proves. The token goes no further. */
async function readLogin(
  settings: GithubLinkSettings,
  token: string,
  signal: AbortSignal,
): Promise<{ login: string; githubId: number }> {
  let data: unknown;
  try {
    const response = await requestFor(settings, signal)('GET /user', {
      headers: { authorization: `bearer ${token}` },
    });
    data = response.data;
  } catch (error) {
    signal.throwIfAborted();
    // No `cause`: the error carries the request, and so (redacted or not) the token's header.
    throw new DeckhandError(
      'UPSTREAM_FAILED',
      'GitHub did not say which account you are; say `link github` to try again.',
      {
        retryable: true,
        detail: `GET /user: ${statusOf(error) ?? 'no answer'}`,
      },
    );
  }
  const user = userAnswer.safeParse(data);
  if (!user.success) {
    throw new DeckhandError(
      'UPSTREAM_FAILED',
      'GitHub did not say which account you are; say `link github` to try again.',
      {
        detail: user.error.message,
      },
    );
  }
  return { login: user.data.login, githubId: user.data.id };
}

/**
 * Polls until the person enters the code (honouring `interval` and `slow_down` (+5 s)), then reads
 * GET /user with the user token and returns the proven login; the token is dropped. Rejects with the
 * signal's reason (an AbortError unless the caller gave one) as soon as `signal` aborts, a wait
 * between polls or a request in flight included.
 */
export async function awaitGithubLogin(
  settings: GithubLinkSettings,
  start: DeviceLinkStart,
  signal: AbortSignal,
): Promise<{ login: string; githubId: number }> {
  try {
    return await pollUntilEntered(settings, start, signal);
  } catch (error) {
    if (signal.aborted) throw signal.reason ?? error;
    throw error;
  }
}

async function pollUntilEntered(
  settings: GithubLinkSettings,
  start: DeviceLinkStart,
  signal: AbortSignal,
): Promise<{ login: string; githubId: number }> {
  let interval = Math.max(start.intervalSeconds, 0);
  // GitHub wants the first poll after one interval, too.
  for (;;) {
    const left = start.expiresAt.getTime() - Date.now();
    if (left <= 0) throw new DeckhandError('BAD_REQUEST', EXPIRED, { detail: 'past expiresAt' });
    await sleep(Math.min(interval * 1000, left), undefined, { signal });
    if (Date.now() >= start.expiresAt.getTime()) {
      throw new DeckhandError('BAD_REQUEST', EXPIRED, { detail: 'past expiresAt' });
    }
    const outcome = await pollOnce(settings, start, signal, interval);
    if ('token' in outcome) return readLogin(settings, outcome.token, signal);
    interval = outcome.wait;
  }
}

/** The device flow as chat's `link github` uses it: a code to show, then a wait that proves the login. */
export function githubLinker(settings: GithubLinkSettings) {
  return {
    async start() {
      const started = await startGithubLink(settings);
      return {
        userCode: started.userCode,
        verificationUri: started.verificationUri,
        expiresAt: started.expiresAt,
        finish: (signal: AbortSignal) => awaitGithubLogin(settings, started, signal),
      };
    },
  };
}
