/**
 * `digest ...` in chat: add, list, pause, resume, remove, run-now. A digest is posted into the
 * channel it was created in. Everything here goes through the store only, so the command router can
 * call it from any worker; the scheduler (wherever it runs) picks changes up on its next sweep.
 */
import { IANAZone } from 'luxon';
import { DeckhandError, userMessageOf, workspaceKeyOf } from '../core/index.js';
import type { Platform, ScheduleRecord, Store } from '../store/index.js';
import { assertTimezone, formatLocal, latestDue, nextDue, parseWhen } from './cron.js';
import { cadenceOf } from './due.js';
import { assertMinInterval, DEFAULT_MIN_INTERVAL_MINUTES } from './interval.js';

export interface DigestCommandContext {
  store: Store;
  event: { platform: Platform; workspaceId: string; channelId: string; userId: string };
  now?: () => Date;
  /** digests.minIntervalMinutes: a cadence firing more often than this is refused (default 60). */
  minIntervalMinutes?: number;
  /**
   * The one policy, asked before a change: `digest.add` with the digest's repositories (each must be
   * connected to the workspace), `digest.change` before pause, resume, remove and run-now. Returns
   * the one-line refusal, or undefined. Without it (tests of the parser), everything is allowed.
   */
  authorize?: (action: 'digest.add' | 'digest.change', repos?: string[]) => Promise<string | undefined>;
}

export const DIGEST_USAGE = [
  '**Digests** (posted in the channel where they are added)',
  '• `digest add daily 09:00 Europe/Berlin repos=org/a,org/b` (also `weekdays 09:00`, `weekly mon 09:00`,',
  '  `cron 0 9 * * 1-5`; options `name=standup`, `skip-weekends`)',
  '• `digest list`',
  '• `digest pause|resume|remove|run-now <name>`',
].join('\n');

const REPO = /^[\w.-]+\/[\w.-]+$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const POSTABLE: Platform[] = ['slack', 'discord', 'terminal'];
/** The subcommands that change a digest: asked of the policy as `digest.change`. */
const CHANGES = new Set(['pause', 'resume', 'remove', 'delete', 'run-now', 'run', 'now']);
/** Refusals the user can act on; anything else (store down) fails the task and is retried. */
const SHOWN = new Set(['BAD_REQUEST', 'NOT_FOUND', 'STORE_CONFLICT', 'STORE_VALIDATION']);

function bad(message: string): never {
  throw new DeckhandError('BAD_REQUEST', `${message}\n${DIGEST_USAGE}`);
}

function isZone(word: string): boolean {
  return (
    /[A-Za-z]/.test(word) && (word.includes('/') || /^(UTC|GMT)$/i.test(word)) && IANAZone.isValidZone(word)
  );
}

export interface ParsedAdd {
  when: string;
  cron: string;
  timezone: string;
  repos: string[];
  name?: string;
  skipWeekends: boolean;
}

/** `daily 09:00 Europe/Berlin repos=org/a,org/b name=x skip-weekends` -> its parts, or a clear error. */
export function parseAddArgs(words: string[]): ParsedAdd {
  const options: Record<string, string> = {};
  let skipWeekends = false;
  const rest: string[] = [];
  for (const raw of words) {
    const word = raw.replace(/^["'`]+|["'`]+$/g, '');
    if (!word) continue;
    const option = /^(repos|repo|name|tz|timezone)=(.*)$/i.exec(word);
    if (option) options[option[1]!.toLowerCase()] = option[2]!;
    else if (/^(skip-weekends|--skip-weekends|no-weekends)$/i.test(word)) skipWeekends = true;
    else rest.push(word);
  }
  let timezone = options.tz ?? options.timezone;
  if (!timezone && rest.length > 1 && isZone(rest[rest.length - 1]!)) timezone = rest.pop();
  if (rest.length === 0)
    bad('Say when: `daily 09:00`, `weekdays 09:00`, `weekly mon 09:00` or a cron expression.');
  const when = rest.join(' ');
  const parsed = parseWhen(when);
  const repos = (options.repos ?? options.repo ?? '')
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  const wrong = repos.find((r) => !REPO.test(r));
  if (wrong) bad(`"${wrong}" is not a repository; write repos=owner/name,owner/other.`);
  if (repos.length > 20) bad('A digest covers at most 20 repositories.');
  const name = options.name;
  if (name !== undefined && !NAME.test(name))
    bad(`"${name}" is not a usable name: letters, digits, _ . - (up to 64).`);
  return {
    when,
    cron: parsed.cron,
    timezone: assertTimezone(timezone ?? 'UTC'),
    repos,
    ...(name ? { name } : {}),
    skipWeekends: skipWeekends || parsed.skipWeekends,
  };
}

function defaultName(parsed: ParsedAdd): string {
  const words = parsed.when.split(/\s+/);
  const kind = words[0]?.toLowerCase() ?? 'digest';
  if (['daily', 'weekdays', 'weekly'].includes(kind)) {
    return [kind, ...words.slice(1)].join('-').replace(/:/g, '').toLowerCase();
  }
  return 'digest';
}

export function describeSchedule(schedule: ScheduleRecord, now: Date, channelId?: string): string {
  const next = schedule.enabled ? nextDue(cadenceOf(schedule), now) : null;
  const state = schedule.enabled
    ? next
      ? `next ${formatLocal(next, schedule.timezone)}`
      : 'never due'
    : 'paused';
  const where =
    channelId && schedule.channelId === channelId ? 'this channel' : `channel ${schedule.channelId}`;
  const repos = schedule.repos.length ? schedule.repos.join(', ') : 'no repos';
  const weekends = schedule.skipWeekends ? ', skips weekends' : '';
  return `• *${schedule.name}*: \`${schedule.cron}\` ${schedule.timezone}${weekends}, ${repos}, ${where}: ${state}`;
}

async function findTarget(ctx: DigestCommandContext, name: string | undefined): Promise<ScheduleRecord> {
  const { store, event } = ctx;
  if (name) {
    const found = await store.findScheduleByName(event.platform, event.workspaceId, name);
    if (!found)
      throw new DeckhandError(
        'NOT_FOUND',
        `No digest named "${name}" here. Say \`digest list\` to see them.`,
      );
    return found;
  }
  const here = (
    await store.listSchedules({ platform: event.platform, workspaceId: event.workspaceId })
  ).filter((s) => s.channelId === event.channelId);
  if (here.length === 1) return here[0]!;
  throw new DeckhandError(
    'BAD_REQUEST',
    here.length === 0
      ? 'There is no digest in this channel.'
      : 'Say which digest: `digest list` shows their names.',
  );
}

/** Queues an immediate digest; any process's next sweep posts it (to the schedule's channel). */
export async function queueDigestNow(
  store: Store,
  schedule: ScheduleRecord,
  by: string,
  now: Date,
): Promise<void> {
  const dueAt = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const queued = await store.claimDigestRun({
    scheduleId: schedule.id,
    dueAt,
    attempt: 0,
    by,
    status: 'queued',
    manual: true,
  });
  if (!queued)
    throw new DeckhandError(
      'STORE_CONFLICT',
      `The digest "${schedule.name}" was just queued; wait a second.`,
    );
}

/** The audit entry for a digest change made from chat: who, in which workspace, to which schedule. */
function auditDigest(
  ctx: DigestCommandContext,
  action: string,
  scheduleId: string,
  detail?: Record<string, unknown>,
): Promise<unknown> {
  const { event } = ctx;
  return ctx.store.recordAudit({
    actor: `${event.platform}:${event.userId}`,
    action,
    target: `schedule:${scheduleId}`,
    outcome: 'succeeded',
    ...(detail ? { detail } : {}),
    workspace: workspaceKeyOf(event),
  });
}

async function add(ctx: DigestCommandContext, words: string[], now: Date): Promise<string> {
  const { store, event } = ctx;
  if (!POSTABLE.includes(event.platform)) {
    return 'Digests are posted to Slack or Discord channels; add one from the channel that should receive it.';
  }
  const parsed = parseAddArgs(words);
  const refusal = await ctx.authorize?.('digest.add', parsed.repos);
  if (refusal) return refusal;
  const cadence = { cron: parsed.cron, timezone: parsed.timezone, skipWeekends: parsed.skipWeekends };
  const first = nextDue(cadence, now);
  if (!first) return `\`${parsed.cron}\` never comes due; nothing was added.`;
  assertMinInterval(cadence, ctx.minIntervalMinutes ?? DEFAULT_MIN_INTERVAL_MINUTES, now);
  let name = parsed.name ?? defaultName(parsed);
  if (!parsed.name) {
    for (let n = 2; await store.findScheduleByName(event.platform, event.workspaceId, name); n++) {
      name = `${defaultName(parsed)}-${n}`;
    }
  }
  const schedule = await store.createSchedule({
    name,
    platform: event.platform,
    workspaceId: event.workspaceId,
    channelId: event.channelId,
    cron: parsed.cron,
    timezone: parsed.timezone,
    repos: parsed.repos,
    skipWeekends: parsed.skipWeekends,
    enabled: true,
    createdBy: `${event.platform}:${event.userId}`,
  });
  // Nothing already past is owed: the first digest is the next due time.
  const latest = latestDue(cadence, now);
  if (latest) await store.noteScheduleDue(schedule.id, latest);
  await auditDigest(ctx, 'digest.add', schedule.id, {
    name,
    cron: parsed.cron,
    timezone: parsed.timezone,
    repos: parsed.repos,
  });
  const repos = parsed.repos.length ? parsed.repos.join(', ') : 'no repositories yet (add repos=owner/name)';
  return `Digest "${name}" added: \`${parsed.cron}\` ${parsed.timezone}${parsed.skipWeekends ? ', skipping weekends' : ''}, for ${repos}, posted in this channel. First one: ${formatLocal(first, parsed.timezone)}.`;
}

/** Handles the text after `digest`; returns the reply. Bad input changes nothing and says why. */
export async function handleDigestCommand(args: string, ctx: DigestCommandContext): Promise<string> {
  const now = (ctx.now ?? (() => new Date()))();
  const [sub = '', ...words] = args.trim().split(/\s+/).filter(Boolean);
  const { store, event } = ctx;
  const actor = `${event.platform}:${event.userId}`;
  const verb = sub.toLowerCase();
  if (CHANGES.has(verb)) {
    const refusal = await ctx.authorize?.('digest.change');
    if (refusal) return refusal;
  }
  try {
    switch (verb) {
      case '':
      case 'help':
        return DIGEST_USAGE;
      case 'add':
        return await add(ctx, words, now);
      case 'list': {
        const all = await store.listSchedules({ platform: event.platform, workspaceId: event.workspaceId });
        if (all.length === 0) return 'No digests yet. Add one: `digest add daily 09:00 UTC repos=org/repo`.';
        return ['**Digests**', ...all.map((s) => describeSchedule(s, now, event.channelId))].join('\n');
      }
      case 'pause':
      case 'resume': {
        const schedule = await findTarget(ctx, words[0]);
        const enable = sub.toLowerCase() === 'resume';
        await store.setScheduleEnabled(schedule.id, enable);
        // Resuming does not post what came due while paused: the next due time is the first.
        const latest = enable ? latestDue(cadenceOf(schedule), now) : null;
        if (latest) await store.noteScheduleDue(schedule.id, latest);
        await auditDigest(ctx, `digest.${sub.toLowerCase()}`, schedule.id);
        if (!enable)
          return `Digest "${schedule.name}" paused. \`digest resume ${schedule.name}\` turns it back on.`;
        const next = nextDue(cadenceOf(schedule), now);
        return `Digest "${schedule.name}" resumed.${next ? ` Next: ${formatLocal(next, schedule.timezone)}.` : ''}`;
      }
      case 'remove':
      case 'delete': {
        const schedule = await findTarget(ctx, words[0]);
        await store.removeSchedule(schedule.id);
        await auditDigest(ctx, 'digest.remove', schedule.id);
        return `Digest "${schedule.name}" removed.`;
      }
      case 'run-now':
      case 'run':
      case 'now': {
        const schedule = await findTarget(ctx, words[0]);
        await queueDigestNow(store, schedule, actor, now);
        await auditDigest(ctx, 'digest.run-now', schedule.id);
        const where = schedule.channelId === event.channelId ? 'here' : `in channel ${schedule.channelId}`;
        return `Digest "${schedule.name}" is on its way: it will be posted ${where} within a few seconds.`;
      }
      default:
        return `I do not know \`digest ${sub}\`.\n${DIGEST_USAGE}`;
    }
  } catch (error) {
    if (error instanceof DeckhandError && SHOWN.has(error.code)) return userMessageOf(error);
    throw error;
  }
}
