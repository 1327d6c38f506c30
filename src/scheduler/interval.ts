/**
 * How often a digest may fire (issue 16, "Who may do what"): every digest reads GitHub and posts to a
 * channel, so a cadence whose due times come closer together than `digests.minIntervalMinutes` is
 * refused wherever a schedule is created or changed (`digest add`, the agent's schedule_digest tool,
 * digests in config). The gaps are measured between the cadence's real next due times, so lists,
 * ranges, seconds fields and irregular expressions (`0,5 9 * * *`) are judged by what they would do;
 * a clock change does not make a daily digest count as a 23-hour one.
 */
import { DateTime } from 'luxon';
import { DeckhandError } from '../core/index.js';
import { type Cadence, formatLocal, upcomingDue } from './cron.js';

/** The default of `digests.minIntervalMinutes`. */
export const DEFAULT_MIN_INTERVAL_MINUTES = 60;
/**
 * Due times looked at, at most a year ahead: a short gap shows within one turn of the field that
 * makes it (an hour, a day, a week, a month). A coincidence rarer than that (a Sunday before a Monday
 * the 1st in January) fires twice close together once in years, which is no flood; looking further
 * costs about a millisecond a due time.
 */
const SAMPLES = 100;
const HORIZON_DAYS = 366;

function plural(count: number, unit: string): string {
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}

/** `30 seconds`, `1 minute`, `59 minutes`: a gap as a user would say it (rounded down). */
function describeGap(ms: number): string {
  if (ms < 60_000) return plural(Math.max(1, Math.floor(ms / 1000)), 'second');
  return plural(Math.floor(ms / 60_000), 'minute');
}

/** The time between two due times, on the wall clock when a clock change made it shorter (23 h days). */
function gapBetween(earlier: Date, later: Date, timezone: string): number {
  const real = later.getTime() - earlier.getTime();
  const shift =
    DateTime.fromJSDate(later, { zone: timezone }).offset -
    DateTime.fromJSDate(earlier, { zone: timezone }).offset;
  return Math.max(real, real + shift * 60_000);
}

/** The shortest gap between the cadence's next due times, with where it starts; null when it fires at most once. */
export function shortestGap(cadence: Cadence, from: Date): { ms: number; at: Date; regular: boolean } | null {
  const until = new Date(from.getTime() + HORIZON_DAYS * 86_400_000);
  const due = upcomingDue(cadence, from, SAMPLES, until);
  let shortest: { ms: number; at: Date } | null = null;
  let regular = true;
  for (let i = 1; i < due.length; i++) {
    const ms = gapBetween(due[i - 1]!, due[i]!, cadence.timezone);
    if (shortest && ms !== shortest.ms) regular = false;
    if (!shortest || ms < shortest.ms) shortest = { ms, at: due[i - 1]! };
  }
  return shortest ? { ...shortest, regular } : null;
}

/**
 * Refuses (BAD_REQUEST, one line) a cadence that would fire more often than every `minMinutes`,
 * judged from `from` on. `setting` names the knob in the message.
 */
export function assertMinInterval(
  cadence: Cadence,
  minMinutes: number,
  from: Date,
  setting = 'digests.minIntervalMinutes',
): void {
  const gap = shortestGap(cadence, from);
  if (!gap || gap.ms >= minMinutes * 60_000) return;
  const how = gap.regular
    ? `every ${describeGap(gap.ms)}`
    : `twice within ${describeGap(gap.ms)} (from ${formatLocal(gap.at, cadence.timezone)})`;
  throw new DeckhandError(
    'BAD_REQUEST',
    `That digest would run ${how}; digests run at most every ${plural(minMinutes, 'minute')} (${setting}).`,
  );
}
