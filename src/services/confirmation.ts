// Sensitive actions (turn off 2FA, new recovery codes, change a factor, trust
// changes, admin actions) carry a confirmation: a current passcode, a security key's
// signature (method "webauthn", the browser's assertion as JSON in `code`) or a recovery code,
// or the password for someone without 2FA (DESIGN.md, API "Confirmation"). Asking on
// every such request also covers sessions that skipped the passcode on a trusted
// computer (Keycloak CVE-2026-3429).
import type { Kysely } from 'kysely';
import { fail, ok, type Result } from '../domain/failures.js';
import { FRESH_PASSCODE_IN_MILLISECONDS } from '../domain/policy.js';
import type { SecondFactorMethod } from '../domain/types.js';
import { userLimitKey } from './sign-in.js';
import type { Account, Database, User } from '../store/schema.js';
import { markPasscodeVerified } from '../store/sessions.js';
import { listActiveFactorTypes } from '../store/two-factor.js';
import type { RequestContext, ServiceDeps } from './deps.js';
import { verifySecondFactor, type SecondFactorInput, type SecondFactorSuccess } from './second-factor.js';
import type { SignedIn } from './sessions.js';
import { challengeMethods } from '../domain/sign-in-decision.js';
import { twoFactorPolicyOf } from './two-factor-policy.js';
import { checkPasswordUnderLimits } from './password-attempts.js';

export type Confirmation = SecondFactorInput;

export type Confirmed = SecondFactorSuccess | { method: 'password'; recoveryCodeKind: null };

/**
 * Whether adding a factor needs a confirmation (SECURITY.md: adding a factor is a
 * sensitive action, proven in the last 10 minutes). With two-factor on: always, a
 * passcode. With it off, from a full session: the password, unless the session was
 * made by typing it in the last 10 minutes, so a stolen session cannot make itself
 * permanent with a factor of its own (GitHub's "sudo mode"). A setup-only session has
 * just proved the person's email instead.
 */
export function addingFactorNeedsConfirmation(signedIn: Pick<SignedIn, 'session'>, user: Pick<User, 'two_factor_enabled'>, now: number): boolean {
  if (user.two_factor_enabled === 1) return true;
  return signedIn.session.kind === 'full' && now - signedIn.session.created_at >= FRESH_PASSCODE_IN_MILLISECONDS;
}

/** Which confirmation methods a person may use right now. */
export async function confirmationMethods(db: Kysely<Database>, user: User, account: Account): Promise<(SecondFactorMethod | 'password')[]> {
  if (user.two_factor_enabled !== 1) return ['password'];
  // The same methods as at sign-in: an admin who must use a security key confirms with it.
  return challengeMethods(user.role, await listActiveFactorTypes(db, user), twoFactorPolicyOf(account));
}

/** Checks a confirmation inside the caller's transaction; the password path hashes, so
 * callers verify a password before opening their transaction (see confirmPasswordFirst). */
export async function confirm(
  db: Kysely<Database>,
  deps: ServiceDeps,
  signedIn: SignedIn,
  confirmation: Confirmation | undefined,
  context: RequestContext,
  passwordChecked: boolean,
): Promise<Result<Confirmed>> {
  if (!confirmation || confirmation.method === undefined || confirmation.code === undefined) return fail('confirmation_required');
  const allowed = await confirmationMethods(db, signedIn.user, signedIn.account);
  if (confirmation.method === 'password') {
    if (!allowed.includes('password')) return fail('confirmation_required', { message: 'Confirm with a current passcode or a recovery code.' });
    return passwordChecked
      ? ok({ method: 'password', recoveryCodeKind: null })
      : fail('invalid_credentials', { field: 'code', message: 'The password is not right.' });
  }
  const secondFactors = allowed.filter((m): m is SecondFactorMethod => m !== 'password');
  if (secondFactors.length === 0) return fail('confirmation_required', { message: 'Confirm with your password.' });
  const result = await verifySecondFactor(db, deps, {
    user: signedIn.user,
    factor: confirmation,
    allowed: secondFactors,
    use: { purpose: 'confirmation', boundTo: signedIn.session.id, context },
    context,
  });
  if (result.ok) {
    // Remember the fresh passcode on the session (SECURITY.md: sensitive actions
    // need a passcode from the last 10 minutes).
    await markPasscodeVerified(db, signedIn.session, deps.now());
  }
  return result;
}

/** The password half of a confirmation, checked before the transaction (argon2id is
 * slow; it must not hold the database). */
export async function confirmPasswordFirst(deps: ServiceDeps, signedIn: SignedIn, confirmation: Confirmation | undefined): Promise<Result<boolean>> {
  if (confirmation?.method !== 'password') return ok(false);
  if (typeof confirmation.code !== 'string' || signedIn.user.password_hash === null) return ok(false);
  const attempt = await checkPasswordUnderLimits(deps, {
    userKey: userLimitKey(signedIn.account.slug, signedIn.user.email),
    addressKey: null,
    passwordHash: signedIn.user.password_hash,
    password: confirmation.code,
  });
  if (attempt.kind === 'locked' || attempt.kind === 'address_limited') return fail('rate_limited', { retryAfterSeconds: attempt.retryAfterSeconds });
  return ok(attempt.kind === 'right');
}
