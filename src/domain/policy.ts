// Bounds an account admin may set (DESIGN.md row 6 and the admin API).
export const SESSION_DAYS = { min: 1, max: 90, default: 14 } as const;
export const TRUSTED_DEVICE_DAYS = { min: 0, max: 90, default: 30 } as const;
export const GRACE_DAYS = { min: 0, max: 90, default: 0 } as const;

export const DAY_IN_MILLISECONDS = 24 * 60 * 60 * 1000;
/** A sign-in challenge lives at most this long (SECURITY.md: ≤10 minutes). */
export const CHALLENGE_LIFETIME_IN_MILLISECONDS = 10 * 60 * 1000;
/** A sensitive action needs a passcode entered this recently (SECURITY.md). */
export const FRESH_PASSCODE_IN_MILLISECONDS = 10 * 60 * 1000;
export const INVITATION_LIFETIME_IN_MILLISECONDS = 72 * 60 * 60 * 1000;
export const PASSWORD_RESET_LIFETIME_IN_MILLISECONDS = 60 * 60 * 1000;
export const SETUP_LINK_LIFETIME_IN_MILLISECONDS = 60 * 60 * 1000;
/** last_seen_at is written at most once a minute, to keep session checks read-only. */
export const SESSION_TOUCH_INTERVAL_IN_MILLISECONDS = 60 * 1000;

export function isWholeNumberWithin(value: unknown, bounds: { min: number; max: number }): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= bounds.min && value <= bounds.max;
}
