// Checks a second factor for a person, whichever it is: a lookup in the factor
// registry (services/factors/registry.ts), around which the rules that hold for every
// factor are kept here: the person's row locked, their one failure counter and lock.
// Used by the sign-in challenge and by the confirmation of sensitive actions, so the
// same counter, lock and replay rules hold everywhere (SECURITY.md, failed attempts).
import type { Kysely } from 'kysely';
import { isSecondFactorMethod, type SecondFactorMethod } from '../domain/factors.js';
import { fail, ok, type Failure, type Result } from '../domain/failures.js';
import { PASSCODE_FAILURES_BEFORE_LOCK, lockDurationInMilliseconds, retryAfterSeconds } from '../domain/passcode-attempts.js';
import { mails } from '../delivery/email-templates.js';
import { findAccountById } from '../store/accounts.js';
import { appendAuditEvent } from '../store/audit.js';
import type { Database, TwoFactorMethod, User } from '../store/schema.js';
import { countUnusedRecoveryCodes } from '../store/two-factor.js';
import { AccountUsers } from '../store/users.js';
import type { RequestContext, ServiceDeps } from './deps.js';
import type { FactorUse } from './factors/factor-module.js';
import { consumeAdminRecoveryCode } from './factors/recovery-codes.js';
import { factorModule } from './factors/registry.js';
import { emailUser } from './notify.js';

export { recoveryCodeHmac } from './factors/recovery-codes.js';

export interface SecondFactorInput {
  method: unknown;
  code: unknown;
}

export interface SecondFactorSuccess {
  method: SecondFactorMethod;
  /** 'admin' when the code was issued by an admin for a locked-out person. */
  recoveryCodeKind: 'user' | 'admin' | null;
}

/** Locks the person's row for the rest of the transaction on PostgreSQL, so counting
 * and checking are serialised per person (Keycloak #31726). SQLite transactions are
 * serialised already. */
export async function lockUserRow(db: Kysely<Database>, deps: Pick<ServiceDeps, 'dialect'>, user: Pick<User, 'id' | 'account_id'>): Promise<User | undefined> {
  return new AccountUsers(db, user.account_id).lockById(user.id, deps.dialect);
}

/** Counts a wrong code on the person's one failure counter (any factor, and emailed
 * codes too), locking the person at the limit; the caller holds the person's row. */
export async function countCodeFailure(
  db: Kysely<Database>,
  deps: ServiceDeps,
  user: User,
  method: string,
  context: RequestContext,
  message?: string,
): Promise<Result<never>> {
  const now = deps.now();
  const users = new AccountUsers(db, user.account_id);
  const row = await users.countPasscodeFailure(user.id, now);
  await appendAuditEvent(
    db,
    {
      accountId: user.account_id,
      type: 'passcode_failed',
      actorUserId: user.id,
      subjectUserId: user.id,
      ip: context.ip,
      userAgent: context.userAgent,
      details: { method },
    },
    now,
  );
  if (row.failed_passcode_count >= PASSCODE_FAILURES_BEFORE_LOCK) {
    const lockedUntil = now + lockDurationInMilliseconds(row.passcode_lock_count);
    await users.update(user.id, { passcode_locked_until: lockedUntil, passcode_lock_count: row.passcode_lock_count + 1, failed_passcode_count: 0 });
    await appendAuditEvent(
      db,
      {
        accountId: user.account_id,
        type: 'passcode_locked',
        subjectUserId: user.id,
        ip: context.ip,
        userAgent: context.userAgent,
        details: { until: new Date(lockedUntil).toISOString() },
      },
      now,
    );
    // The password was right: whoever this is may well not be the person, who must hear of it.
    const account = await findAccountById(db, user.account_id);
    if (account) await emailUser(db, deps, { account, user, purpose: 'passcode_locked', context, compose: (c) => mails.passcodeLocked(c) });
    return fail('two_factor_locked', { retryAfterSeconds: retryAfterSeconds(lockedUntil, now) });
  }
  return fail('invalid_code', { field: 'code', ...(message ? { message } : {}) });
}

/** The person's passcode lock, while it lasts: even the right code is refused. */
export function passcodeLock(user: User, now: number): Result<never> | null {
  if (user.passcode_locked_until === null || user.passcode_locked_until <= now) return null;
  return fail('two_factor_locked', { retryAfterSeconds: retryAfterSeconds(user.passcode_locked_until, now) });
}

/** Lifts the person's passcode lock and clears their failure count (an admin's help);
 * the lock count stays, so a lock that follows lasts longer. */
export async function liftPasscodeLock(db: Kysely<Database>, user: Pick<User, 'id' | 'account_id'>, now: number): Promise<void> {
  await new AccountUsers(db, user.account_id).update(user.id, { failed_passcode_count: 0, passcode_locked_until: null, updated_at: now });
}

/**
 * Verifies one second factor inside the caller's transaction. A failure is counted
 * (and committed with the transaction) before it is returned; a success resets the
 * counter. While the person is locked, even the right code is refused.
 */
export async function verifySecondFactor(
  db: Kysely<Database>,
  deps: ServiceDeps,
  input: {
    user: User;
    /** The person's row was read inside this transaction with the lock lockUserRow
     * takes (SQLite's transactions are serialised already), so it is used as it is
     * instead of being read again. */
    userLockedInThisTransaction?: boolean;
    /** The person's active methods, read inside this transaction (else read here). */
    activeMethods?: TwoFactorMethod[];
    factor: SecondFactorInput;
    /** What the factor is checked for, and what its code or ceremony is bound to. */
    use: FactorUse;
    allowed: SecondFactorMethod[];
    context: RequestContext;
    /** Consumes what the factor unlocks (a sign-in challenge) once the factor is right;
     * a failure it returns is returned as it is, with the factor spent but not counted. */
    claim?: (db: Kysely<Database>, success: SecondFactorSuccess) => Promise<Failure | null>;
    /** Whether this success completes a sign-in (its time is written with the counter
     * reset, in the same statement). */
    signsInOnSuccess?: (success: SecondFactorSuccess) => boolean;
  },
): Promise<Result<SecondFactorSuccess>> {
  const now = deps.now();
  const user = input.userLockedInThisTransaction ? input.user : await lockUserRow(db, deps, input.user);
  if (!user) return fail('invalid_credentials');
  let success: SecondFactorSuccess | null = null;
  const locked = passcodeLock(user, now);
  if (locked) {
    // The code an admin issued for this person works through the lock: whoever locked
    // it by guessing (someone with the password, maybe) cannot undo the admin's help.
    // It is 80 random bits, single use and an hour long, so trying it gives a guesser
    // nothing; anything else is refused unlooked-at and uncounted while the lock lasts.
    const adminCode =
      input.factor.method === 'recovery_code' && input.allowed.includes('recovery_code')
        ? await consumeAdminRecoveryCode(db, deps.keys, user, input.factor.code, now)
        : false;
    if (!adminCode) return locked;
    success = { method: 'recovery_code', recoveryCodeKind: 'admin' };
  } else {
    const method = input.factor.method;
    if (!isSecondFactorMethod(method) || !input.allowed.includes(method)) {
      return fail('invalid_request', {
        field: 'method',
        message: `The method must be one of: ${input.allowed.join(', ')}.`,
        detail: { key: 'detail.methodChoice', values: { methods: input.allowed.join(', ') } },
      });
    }
    const checked = await factorModule(method).verify(db, deps, { user, code: input.factor.code, use: input.use, activeMethods: input.activeMethods });
    if (checked.kind === 'refused') return { ok: false, failure: checked.failure };
    if (checked.kind === 'wrong') return countCodeFailure(db, deps, user, method, input.context, checked.message);
    success = { method, recoveryCodeKind: checked.recoveryCodeKind ?? null };
  }
  if (input.claim) {
    const claimed = await input.claim(db, success);
    if (claimed) return { ok: false, failure: claimed };
  }
  await new AccountUsers(db, user.account_id).recordPasscodeAccepted(user.id, now, input.signsInOnSuccess?.(success) ? now : null);
  if (success.method === 'recovery_code') {
    await appendAuditEvent(
      db,
      {
        accountId: user.account_id,
        type: 'recovery_code_used',
        actorUserId: user.id,
        subjectUserId: user.id,
        ip: input.context.ip,
        userAgent: input.context.userAgent,
        details: { kind: success.recoveryCodeKind },
      },
      now,
    );
  }
  return ok(success);
}

export async function recoveryCodesLeft(db: Kysely<Database>, userId: string, now: number): Promise<number> {
  return countUnusedRecoveryCodes(db, userId, now);
}
