// Times people type into filters. Writing a moment for people is the reader's
// Translator's (i18n/translator.ts moment: their language and time zone).
import { fail, ok, type Result } from './failures.js';

/** A time a filter is given in (`since`, `updated_since`): an ISO 8601 date or date
 * and time, read as UTC unless it names its offset. Left out or empty: no bound. */
export function parseFilterTime(raw: string | undefined, field: string): Result<number | undefined> {
  if (raw === undefined || raw === '') return ok(undefined);
  const time = Date.parse(raw);
  if (!Number.isFinite(time) || !/^\d{4}-\d\d-\d\d/.test(raw))
    return fail('invalid_request', {
      field,
      message: `${field} must be an ISO 8601 date or time, like 2026-11-28 or 2026-11-28T12:00:00Z.`,
      detail: { key: 'detail.filterTime', values: { field } },
    });
  return ok(time);
}
