// Helping a locked-out person (DESIGN.md row 9): a one-time recovery code an admin
// hands over, or a reset so they enrol again. Never for oneself, never on the owner
// unless one is the owner; always with a reason, the admin's own confirmation, an
// audit event and a mail to the person.
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { mails } from '../delivery/email-templates.js';
import { fail, ok, type Result } from '../domain/failures.js';
import { generateRecoveryCode, normalizeRecoveryCode } from '../domain/recovery-codes.js';
import { appendAuditEvent } from '../store/audit.js';
import { replaceAdminRecoveryCode } from '../store/recovery-codes.js';
import { findAccountBySlug } from '../store/accounts.js';
import type { Account, Database, User } from '../store/schema.js';
import { AccountUsers } from '../store/users.js';
import { normalizeEmail, normalizeSlug } from '../domain/identity.js';
import { confirmedAdminAction } from './admin-confirmation.js';
import type { Confirmation } from './confirmation.js';
import type { RequestContext, ServiceDeps } from './deps.js';
import { emailUser } from './notify.js';
import { liftPasscodeLock, lockUserRow, recoveryCodeHmac } from './second-factor.js';
import { userLimitKey } from './sign-in.js';
import { endEveryWayIn, type SignedIn } from './sessions.js';
import { removeAllFactors } from './two-factor.js';

/** An admin-issued code lives one hour (DESIGN.md row 9). */
export const ADMIN_CODE_LIFETIME_IN_MILLISECONDS = 60 * 60 * 1000;

export interface Helper {
  /** The admin, or null for the operator's command line. */
  admin: SignedIn | null;
  account: Account;
  name: string;
}

/** An admin of their own account, helping one of its people. */
export function adminHelper(admin: SignedIn): Helper {
  return { admin, account: admin.account, name: admin.user.name };
}

/** The person helped, their row locked first, as a sign-in locks it before it touches
 * their factors: a reset that deleted the factors first and then waited for the row
 * deadlocked with a second step in flight on PostgreSQL (the crash suite met it). */
async function loadTarget(db: Kysely<Database>, deps: ServiceDeps, helper: Helper, userId: string): Promise<Result<User>> {
  const user = await lockUserRow(db, deps, { id: userId, account_id: helper.account.id });
  if (!user) return fail('user_not_found');
  if (helper.admin) {
    if (user.id === helper.admin.user.id) return fail('cannot_change_self');
    if (user.id === helper.account.owner_user_id) return fail('forbidden', { message: 'Only the account owner can do this to the owner.' });
  }
  return ok(user);
}

/** Writes an admin's help to the audit log: who helped whom, why, and whether an admin
 * or the command line did it. */
function recordHelp(
  db: Kysely<Database>,
  helper: Helper,
  target: User,
  type: string,
  reason: string,
  context: RequestContext,
  now: number,
  details: Record<string, unknown> = {},
): Promise<void> {
  return appendAuditEvent(
    db,
    {
      accountId: helper.account.id,
      type,
      actorUserId: helper.admin?.user.id ?? null,
      subjectUserId: target.id,
      ip: context.ip,
      userAgent: context.userAgent,
      reason,
      details: { ...details, by: helper.admin ? 'admin' : 'cli' },
    },
    now,
  );
}

/** Runs an admin's help action: reason, target checks (and `allowed`, before the
 * admin's confirmation is spent), confirmation, in one transaction. */
function withConfirmation<T>(
  deps: ServiceDeps,
  helper: Helper,
  input: { userId: string; reason: unknown; confirmation?: Confirmation; context: RequestContext },
  act: (trx: Kysely<Database>, target: User, reason: string) => Promise<Result<T>>,
  allowed: (target: User) => Result<null> = () => ok(null),
): Promise<Result<T>> {
  return confirmedAdminAction(deps, helper.admin, input, {
    targetUserId: input.userId,
    check: async (trx) => {
      const target = await loadTarget(trx, deps, helper, input.userId);
      if (!target.ok) return target;
      const permitted = allowed(target.value);
      return permitted.ok ? target : permitted;
    },
    apply: act,
  });
}

export async function issueRecoveryCodeFor(
  deps: ServiceDeps,
  helper: Helper,
  input: { userId: string; reason: unknown; confirmation?: Confirmation; context: RequestContext },
): Promise<Result<{ code: string; expiresAt: number }>> {
  const issued = await withConfirmation(
    deps,
    helper,
    input,
    async (trx, target, reason) => {
      const now = deps.now();
      // The code exists because the device is presumed lost: whoever holds it or a
      // session made with it is out at once, and the person's passcode lock no longer
      // stands between them and the code made for them.
      await endEveryWayIn(trx, deps, target);
      await liftPasscodeLock(trx, target, now);
      const code = generateRecoveryCode((size) => new Uint8Array(randomBytes(size)));
      const expiresAt = now + ADMIN_CODE_LIFETIME_IN_MILLISECONDS;
      // One admin code at a time: a new one voids the last.
      await replaceAdminRecoveryCode(trx, target, { codeHmac: recoveryCodeHmac(deps.keys, normalizeRecoveryCode(code)!), now, expiresAt });
      await recordHelp(trx, helper, target, 'admin_recovery_code_issued', reason, input.context, now);
      await emailUser(trx, deps, {
        account: helper.account,
        user: target,
        purpose: 'admin_recovery_code',
        context: input.context,
        compose: (c) => mails.recoveryCodeIssuedByAdmin(c, { adminName: helper.name, expiresAt }),
      });
      return ok({ code, expiresAt, target });
    },
    (target) =>
      target.two_factor_enabled === 1
        ? ok(null)
        : fail('two_factor_not_enabled', { message: 'This person has no two-factor authentication, so they need no recovery code.' }),
  );
  if (!issued.ok) return issued;
  // The person must be able to reach the code's step: a password lock goes too.
  await liftPasswordLock(deps, helper.account, issued.value.target);
  return ok({ code: issued.value.code, expiresAt: issued.value.expiresAt });
}

export async function resetTwoFactorFor(
  deps: ServiceDeps,
  helper: Helper,
  input: { userId: string; reason: unknown; confirmation?: Confirmation; context: RequestContext },
): Promise<Result<null>> {
  const reset = await withConfirmation(deps, helper, input, async (trx, target, reason) => {
    const now = deps.now();
    const hadTwoFactor = target.two_factor_enabled === 1;
    await removeAllFactors(trx, target, now);
    // They enrol again at their next sign-in, starting with a code to their email.
    await new AccountUsers(trx, helper.account.id).update(target.id, { two_factor_setup_required: 1, updated_at: now });
    await endEveryWayIn(trx, deps, target);
    await recordHelp(trx, helper, target, 'two_factor_reset_by_admin', reason, input.context, now, { had_two_factor: hadTwoFactor });
    await emailUser(trx, deps, {
      account: helper.account,
      user: target,
      purpose: 'two_factor_reset',
      context: input.context,
      compose: (c) => mails.twoFactorResetByAdmin(c, { adminName: helper.name }),
    });
    return ok(target);
  });
  if (!reset.ok) return reset;
  await liftPasswordLock(deps, helper.account, reset.value);
  return ok(null);
}

export interface SignInLocks {
  /** Until when wrong passcodes pause the second step, or null. */
  passcodeLockedUntil: number | null;
  /** Seconds until wrong passwords stop pausing sign-in, or null. */
  passwordLockedForSeconds: number | null;
}

/** What pauses this person's sign-in now, for the admin who may lift it. */
export async function signInLocksOf(deps: ServiceDeps, account: Account, user: User): Promise<SignInLocks> {
  const password = await deps.limits.passwordFailuresByUser.check(userLimitKey(account.slug, user.email));
  return {
    passcodeLockedUntil: user.passcode_locked_until !== null && user.passcode_locked_until > deps.now() ? user.passcode_locked_until : null,
    passwordLockedForSeconds: password.allowed ? null : password.retryAfterSeconds,
  };
}

/** The person's password lock lifted too, once the action that lifts it is committed.
 * Their run of wrong passwords stays, so a lock that follows lasts longer (as for
 * passcodes). The action itself is done and mailed: a limit store that cannot be
 * reached leaves the lock to end by itself rather than hide that. */
async function liftPasswordLock(deps: ServiceDeps, account: Account, user: User): Promise<void> {
  await deps.limits.passwordFailuresByUser.reset(userLimitKey(account.slug, user.email)).catch(() => {});
}

/** Lifts what pauses a person's sign-in (wrong passwords or passcodes), with the
 * admin's confirmation and a reason; audited, and the person is emailed. */
export async function unlockSignInFor(
  deps: ServiceDeps,
  helper: Helper,
  input: { userId: string; reason: unknown; confirmation?: Confirmation; context: RequestContext },
): Promise<Result<null>> {
  const result = await withConfirmation(deps, helper, input, async (trx, target, reason) => {
    const now = deps.now();
    await liftPasscodeLock(trx, target, now);
    await recordHelp(trx, helper, target, 'sign_in_unlocked_by_admin', reason, input.context, now);
    await emailUser(trx, deps, {
      account: helper.account,
      user: target,
      purpose: 'sign_in_unlocked',
      context: input.context,
      compose: (c) => mails.signInUnlockedByAdmin(c, { adminName: helper.name }),
    });
    return ok(target);
  });
  if (!result.ok) return result;
  await liftPasswordLock(deps, helper.account, result.value);
  return ok(null);
}

/** For the operator's command line, when the only admin is locked out. */
export async function operatorHelper(deps: ServiceDeps, accountSlug: string, email: string): Promise<Result<{ helper: Helper; userId: string }>> {
  const account = await findAccountBySlug(deps.db, normalizeSlug(accountSlug));
  if (!account) return fail('account_not_found');
  const user = await new AccountUsers(deps.db, account.id).findByEmail(normalizeEmail(email));
  if (!user) return fail('user_not_found');
  return ok({ helper: { admin: null, account, name: `The ${deps.config.productName} operator` }, userId: user.id });
}
