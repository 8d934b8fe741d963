// A password checked under the guessing limits (SECURITY.md, failed attempts). The
// attempt is reserved on the per-address and per-person counters *before* argon2id
// runs and given back when the password is right: counting after the hash let every
// guess sent in parallel pass a check made before any of them was counted.
import { PASSWORD_FAILURES_BEFORE_LOCK, lockDurationInMilliseconds } from '../domain/passcode-attempts.js';
import type { LimitVerdict } from '../limits/limits.js';
import type { ServiceDeps } from './deps.js';

export type PasswordAttempt =
  | { kind: 'right' }
  /** `lockedNow`: this wrong password was the last one the person had. */
  | { kind: 'wrong'; lockedNow: boolean }
  /** The person is locked: nothing was compared, the right password included. */
  | { kind: 'locked'; retryAfterSeconds: number }
  /** The client address is past its limit: nothing was hashed. */
  | { kind: 'address_limited'; retryAfterSeconds: number };

export async function checkPasswordUnderLimits(
  deps: Pick<ServiceDeps, 'hasher' | 'limits'>,
  input: {
    /** The per-person counter's key (`userLimitKey`). */
    userKey: string;
    /** The client's address key, when failures from it are limited too. */
    addressKey: string | null;
    /** Null for an unknown or suspended person: the same time is spent on a dummy hash. */
    passwordHash: string | null;
    password: string;
  },
): Promise<PasswordAttempt> {
  const { limits } = deps;
  if (input.addressKey !== null) {
    const byAddress = await limits.failuresByAddress.hit(input.addressKey);
    if (!byAddress.allowed) {
      // Nothing was compared: the refused hit is given back, as in underAddressLimit.
      await limits.failuresByAddress.refund(input.addressKey);
      return { kind: 'address_limited', retryAfterSeconds: byAddress.retryAfterSeconds };
    }
  }
  let byUser: LimitVerdict;
  try {
    byUser = await limits.passwordFailuresByUser.hit(input.userKey);
  } catch (error) {
    if (input.addressKey !== null) await limits.failuresByAddress.refund(input.addressKey).catch(() => {});
    throw error;
  }
  let right: boolean;
  try {
    // A locked person still costs one argon2id, so the answer time does not tell.
    right =
      byUser.allowed && input.passwordHash !== null
        ? await deps.hasher.verify(input.passwordHash, input.password)
        : await deps.hasher.verifyDummy(input.password);
  } catch (error) {
    // Nothing was compared (hashing overloaded: a 503): the attempt is no failure.
    if (input.addressKey !== null) await limits.failuresByAddress.refund(input.addressKey);
    await limits.passwordFailuresByUser.refund(input.userKey);
    throw error;
  }
  if (!byUser.allowed) return { kind: 'locked', retryAfterSeconds: byUser.retryAfterSeconds };
  if (right) {
    // Only failures count: the address gets its reservation back, and the person's
    // run of consecutive failures starts again.
    if (input.addressKey !== null) await limits.failuresByAddress.refund(input.addressKey);
    await limits.passwordFailuresByUser.reset(input.userKey);
    await limits.passwordFailureStreakByUser.reset(input.userKey);
    return { kind: 'right' };
  }
  // Every 10th wrong password in a row locks, however slowly they come (NIST SP
  // 800-63B-4 §3.2.2 counts consecutive failures, not failures per window), and each
  // lock lasts twice as long as the one before (15 minutes, then 30, … up to a day),
  // as passcode locks do: about 70 guesses a day at most, under NIST's 100.
  const streak = await limits.passwordFailureStreakByUser.hit(input.userKey);
  const lockedNow = streak.count % PASSWORD_FAILURES_BEFORE_LOCK === 0;
  if (lockedNow) {
    const lockNumber = streak.count / PASSWORD_FAILURES_BEFORE_LOCK;
    const lockInSeconds = Math.ceil(lockDurationInMilliseconds(lockNumber - 1) / 1000);
    await limits.passwordFailuresByUser.block(input.userKey, lockInSeconds);
  }
  return { kind: 'wrong', lockedNow };
}
