/**
 * When a digest is due: cron expressions evaluated in the schedule's IANA time zone (cron-parser),
 * with an option to skip Saturdays and Sundays. A due time is an instant; the wall-clock rules
 * (09:00 in Europe/Berlin is 07:00 UTC in summer and 08:00 in winter) come from the zone database.
 *
 * Clocks going back repeat an hour: cron-parser's prev() yields both 02:30s of that night while
 * next() yields the first only. Due times here are the next() sequence, so a repeated wall-clock
 * time counts once (the first), and a time that does not exist (spring gap) fires once, when
 * cron-parser places it (at the shifted time).
 */
import { CronExpressionParser } from 'cron-parser';
import { DateTime, IANAZone } from 'luxon';
import { DeckhandError } from '../core/index.js';

export interface Cadence {
  cron: string;
  timezone: string;
  skipWeekends?: boolean | undefined;
}

const DAYS: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };
/** Looking further back or ahead than this many matches means the expression (almost) never fires. */
const MAX_STEPS = 2000;

export function assertTimezone(timezone: string): string {
  if (!IANAZone.isValidZone(timezone)) {
    throw new DeckhandError(
      'BAD_REQUEST',
      `"${timezone}" is not a time zone. Use an IANA name such as Europe/Berlin, America/New_York or UTC.`,
    );
  }
  return timezone;
}

function clock(text: string): { hour: number; minute: number } {
  const match = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(text);
  if (!match)
    throw new DeckhandError('BAD_REQUEST', `"${text}" is not a time of day; write it as HH:MM (24 h).`);
  return { hour: Number(match[1]), minute: Number(match[2]) };
}

/** Words left after `daily 09:00` and the like: most often a misspelt time zone. */
function extra(words: string[]): void {
  const word = words[0];
  if (word === undefined) return;
  throw new DeckhandError(
    'BAD_REQUEST',
    word.includes('/')
      ? `"${word}" is not a time zone. Use an IANA name such as Europe/Berlin, America/New_York or UTC.`
      : `I did not understand "${words.join(' ')}" after the time.`,
  );
}

/**
 * `daily 09:00`, `weekdays 09:00`, `weekly mon 09:00`, `cron 0 9 * * 1-5` or a bare cron expression
 * (5 fields, or 6 with seconds) -> a cron expression. Throws a BAD_REQUEST saying what is wrong.
 */
export function parseWhen(text: string): { cron: string; skipWeekends: boolean } {
  const words = text.trim().split(/\s+/);
  const [kind = '', ...rest] = words;
  switch (kind.toLowerCase()) {
    case 'daily':
    case 'weekdays': {
      extra(rest.slice(1));
      const { hour, minute } = clock(rest[0] ?? '');
      const weekdays = kind.toLowerCase() === 'weekdays';
      return { cron: `${minute} ${hour} * * ${weekdays ? '1-5' : '*'}`, skipWeekends: false };
    }
    case 'weekly': {
      const day = DAYS[(rest[0] ?? '').slice(0, 3).toLowerCase()];
      if (day === undefined) {
        throw new DeckhandError('BAD_REQUEST', 'Say which day: `weekly mon 09:00` (mon, tue, … sun).');
      }
      extra(rest.slice(2));
      const { hour, minute } = clock(rest[1] ?? '');
      return { cron: `${minute} ${hour} * * ${day}`, skipWeekends: false };
    }
    case 'cron':
      return { cron: validCron(rest.join(' ')), skipWeekends: false };
    default:
      return { cron: validCron(words.join(' ')), skipWeekends: false };
  }
}

export function validCron(expression: string, timezone = 'UTC'): string {
  const fields = expression.trim().split(/\s+/);
  if (fields.length < 5 || fields.length > 6) {
    throw new DeckhandError(
      'BAD_REQUEST',
      `"${expression}" is not a cron expression: it needs 5 fields (minute hour day month weekday), e.g. \`0 9 * * 1-5\`.`,
    );
  }
  try {
    CronExpressionParser.parse(fields.join(' '), { tz: assertTimezone(timezone) }).next();
  } catch (error) {
    if (error instanceof DeckhandError) throw error;
    throw new DeckhandError(
      'BAD_REQUEST',
      `"${expression}" is not a valid cron expression: ${(error as Error).message}.`,
    );
  }
  return fields.join(' ');
}

function isWeekend(instant: Date, timezone: string): boolean {
  return DateTime.fromJSDate(instant, { zone: timezone }).weekday >= 6;
}

/** True when an earlier instant, within a clock change, showed the same wall-clock time. */
function isRepeatedWallTime(instant: Date, timezone: string): boolean {
  const at = DateTime.fromJSDate(instant, { zone: timezone });
  const before = at.minus({ hours: 3 });
  const shift = before.offset - at.offset;
  if (shift <= 0) return false;
  const earlier = at.minus({ minutes: shift });
  return earlier.toFormat('yyyy-MM-dd HH:mm:ss') === at.toFormat('yyyy-MM-dd HH:mm:ss');
}

function counts(instant: Date, cadence: Cadence): boolean {
  if (cadence.skipWeekends && isWeekend(instant, cadence.timezone)) return false;
  return !isRepeatedWallTime(instant, cadence.timezone);
}

/** The latest due time at or before `now`, or null when there is none (within MAX_STEPS matches). */
export function latestDue(cadence: Cadence, now: Date): Date | null {
  const back = CronExpressionParser.parse(cadence.cron, {
    currentDate: new Date(now.getTime() + 1),
    tz: cadence.timezone,
  });
  let floor: Date | null = null;
  for (let step = 0; step < MAX_STEPS && back.hasPrev(); step++) {
    const candidate = back.prev().toDate();
    if (counts(candidate, cadence)) {
      floor = candidate;
      break;
    }
  }
  if (!floor) return null;
  // prev() misses a time shifted out of a spring-forward gap that next() yields; walk forward from
  // the floor so both directions agree on the sequence.
  let latest = floor;
  for (let step = 0; step < MAX_STEPS; step++) {
    const candidate = nextDue(cadence, latest);
    if (!candidate || candidate.getTime() > now.getTime()) break;
    latest = candidate;
  }
  return latest;
}

/** The first due time strictly after `after`, or null when there is none. */
export function nextDue(cadence: Cadence, after: Date): Date | null {
  const expression = CronExpressionParser.parse(cadence.cron, { currentDate: after, tz: cadence.timezone });
  for (let step = 0; step < MAX_STEPS && expression.hasNext(); step++) {
    const candidate = expression.next().toDate();
    if (candidate.getTime() > after.getTime() && counts(candidate, cadence)) return candidate;
  }
  return null;
}

/**
 * Up to `limit` due times strictly after `after` and no later than `until`, in order: the next()
 * sequence nextDue walks, from one parsed expression.
 */
export function upcomingDue(cadence: Cadence, after: Date, limit: number, until: Date): Date[] {
  const expression = CronExpressionParser.parse(cadence.cron, { currentDate: after, tz: cadence.timezone });
  const due: Date[] = [];
  for (let step = 0; due.length < limit && step < limit * MAX_STEPS && expression.hasNext(); step++) {
    const candidate = expression.next().toDate();
    if (candidate.getTime() > until.getTime()) break;
    if (candidate.getTime() > after.getTime() && counts(candidate, cadence)) due.push(candidate);
  }
  return due;
}

/** The due time before `dueAt`: where a first digest's window starts. */
export function previousDue(cadence: Cadence, dueAt: Date): Date | null {
  return latestDue(cadence, new Date(dueAt.getTime() - 1));
}

/** `Mon 24 Nov 09:00 CET`, in the schedule's zone. */
export function formatLocal(instant: Date, timezone: string): string {
  return DateTime.fromJSDate(instant, { zone: timezone }).toFormat('ccc d LLL HH:mm ZZZZ');
}
