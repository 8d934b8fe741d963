// One way to write a moment for people, in pages and emails alike: "6 Dec 2026,
// 03:02 UTC". UTC until people can choose their time zone (DESIGN.md row 21).
import { fail, ok, type Result } from './failures.js';

const FORMAT = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'UTC',
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});

export function formatMoment(timeInMilliseconds: number): string {
  return `${FORMAT.format(new Date(timeInMilliseconds))} UTC`;
}

/** A time a filter is given in (`since`, `updated_since`): an ISO 8601 date or date
 * and time, read as UTC unless it names its offset. Left out or empty: no bound. */
export function parseFilterTime(raw: string | undefined, field: string): Result<number | undefined> {
  if (raw === undefined || raw === '') return ok(undefined);
  const time = Date.parse(raw);
  if (!Number.isFinite(time) || !/^\d{4}-\d\d-\d\d/.test(raw))
    return fail('invalid_request', { field, message: `${field} must be an ISO 8601 date or time, like 2026-11-28 or 2026-11-28T12:00:00Z.` });
  return ok(time);
}
