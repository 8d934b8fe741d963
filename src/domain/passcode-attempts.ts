// One failure counter per user across every second factor, kept across challenges
// and reset only by a success (NIST SP 800-63B-4 §3.2.2 asks for at most 100
// consecutive failures; we lock far earlier).
export const PASSCODE_FAILURES_BEFORE_LOCK = 10;
/** Wrong passwords per person before a lock, which grows as passcode locks do. */
export const PASSWORD_FAILURES_BEFORE_LOCK = 10;
/** A single challenge is abandoned after this many wrong codes. */
export const CHALLENGE_ATTEMPT_LIMIT = 5;
const FIRST_LOCK_IN_MILLISECONDS = 15 * 60 * 1000;
const LONGEST_LOCK_IN_MILLISECONDS = 24 * 60 * 60 * 1000;

/** 15 minutes for the first lock, doubling for each lock since the last success. */
export function lockDurationInMilliseconds(previousLocks: number): number {
  const doubled = FIRST_LOCK_IN_MILLISECONDS * 2 ** Math.min(previousLocks, 16);
  return Math.min(doubled, LONGEST_LOCK_IN_MILLISECONDS);
}

export function retryAfterSeconds(lockedUntil: number, now: number): number {
  return Math.max(1, Math.ceil((lockedUntil - now) / 1000));
}
