// Sent codes (texted or emailed 6-digit codes): how long one works, how soon another
// may be sent, how many wrong guesses one takes. Pure rules; services/one-time-codes.ts
// stores the code (as an HMAC) and counts.

/** A sent code works for 10 minutes (the same as a sign-in challenge lives). */
export const CODE_LIFETIME_IN_MILLISECONDS = 10 * 60 * 1000;
/** "Send again" waits this long after the previous code (DESIGN.md, API: 30 s). */
export const RESEND_COOLDOWN_IN_MILLISECONDS = 30 * 1000;
/** Wrong guesses one code takes before it is void: with one in a million per guess and
 * the person's own failure counter behind it (SECURITY.md, failed attempts). */
export const TRIES_PER_CODE = 5;

/** Seconds until another code may be sent, 0 when it may be sent now. */
export function resendWaitInSeconds(lastSentAt: number | null, now: number): number {
  if (lastSentAt === null) return 0;
  const wait = lastSentAt + RESEND_COOLDOWN_IN_MILLISECONDS - now;
  return wait > 0 ? Math.ceil(wait / 1000) : 0;
}

/** A code as typed: digits, with spaces or dashes forgiven; null when it cannot be one. */
export function normalizeSentCode(raw: unknown): string | null {
  if (typeof raw !== 'string' || raw.length > 64) return null;
  const code = raw.replace(/[\s\p{Pd}]/gu, '');
  return /^[0-9]{6}$/.test(code) ? code : null;
}

/** Seconds until a person may be sent another code under an hourly cap, or 0; `times`
 * are the sends of the last hour, newest first. */
export function hourlyCapWaitInSeconds(times: readonly number[], capPerHour: number, now: number): number {
  if (times.length < capPerHour) return 0;
  const oldest = times[times.length - 1]!;
  return Math.max(1, Math.ceil((oldest + 60 * 60 * 1000 - now) / 1000));
}

/** An address as a page may show it to someone who has only the password: "a•••@acme.test". */
export function maskEmailAddress(email: string): string {
  const at = email.lastIndexOf('@');
  if (at <= 0) return '•••';
  return `${email.slice(0, 1)}•••${email.slice(at)}`;
}
