// Changing, resetting and first setting a password. A reset or an accepted
// invitation proves only the email: it ends at the same second-factor decision as a
// password sign-in and never skips it (Keycloak CVE-2026-18963).
import { issueToken, parseToken, secretMatches } from '../crypto/tokens.js';
import { mails } from '../delivery/email-templates.js';
import { fail, ok, type Result } from '../domain/failures.js';
import { normalizeEmail } from '../domain/identity.js';
import { limitKeyForAddress } from '../domain/network.js';
import { checkPassword, describePasswordProblem, passwordProblemDetail } from '../domain/password-policy.js';
import { PASSWORD_RESET_LIFETIME_IN_MILLISECONDS } from '../domain/policy.js';
import { consumeActionToken, findActionToken, insertActionToken, voidActionTokens } from '../store/action-tokens.js';
import { findAccountById } from '../store/accounts.js';
import { appendAuditEvent } from '../store/audit.js';
import { expireUserFlows } from '../store/sign-in-flows.js';
import type { Account, ActionTokenPurpose, User } from '../store/schema.js';
import { deleteUserSessions } from '../store/sessions.js';
import { AccountUsers, findUserById } from '../store/users.js';
import type { RequestContext, ServiceDeps } from './deps.js';
import { startSignInFlow, type SignInOutcome } from './sign-in-flow.js';
import { emailUser } from './notify.js';
import { checkPasswordUnderLimits } from './password-attempts.js';
import { endEveryWayIn, type SignedIn } from './sessions.js';
import { signOutOfApps } from './app-sign-out.js';
import { findSignInAccount, userLimitKey } from './sign-in.js';
import { deleteTrustedDevices } from '../store/trusted-devices.js';

function passwordProblem(password: unknown, user: Pick<User, 'email' | 'name'>): Result<string> {
  if (typeof password !== 'string') return fail('invalid_request', { field: 'new_password', message: 'Enter a new password.' });
  const problem = checkPassword(password, [user.email, user.name]);
  return problem
    ? fail('weak_password', { field: 'new_password', message: describePasswordProblem(problem), detail: passwordProblemDetail(problem) })
    : ok(password);
}

export async function changePassword(
  deps: ServiceDeps,
  signedIn: SignedIn,
  input: { currentPassword: unknown; newPassword: unknown },
  context: RequestContext,
): Promise<Result<null>> {
  const { user, account, session } = signedIn;
  if (typeof input.currentPassword !== 'string' || user.password_hash === null) return fail('invalid_credentials', { field: 'current_password' });
  const attempt = await checkPasswordUnderLimits(deps, {
    userKey: userLimitKey(account.slug, user.email),
    addressKey: null,
    passwordHash: user.password_hash,
    password: input.currentPassword,
  });
  if (attempt.kind === 'locked' || attempt.kind === 'address_limited') return fail('rate_limited', { retryAfterSeconds: attempt.retryAfterSeconds });
  if (attempt.kind === 'wrong') return fail('invalid_credentials', { field: 'current_password', message: 'The current password is not right.' });
  const password = passwordProblem(input.newPassword, user);
  if (!password.ok) return password;
  const passwordHash = await deps.hasher.hash(password.value);
  await deps.db.transaction().execute(async (trx) => {
    const now = deps.now();
    await new AccountUsers(trx, account.id).update(user.id, { password_hash: passwordHash, password_changed_at: now, updated_at: now });
    await deleteUserSessions(trx, user, session.id);
    await signOutOfApps(trx, deps, user);
    // A new password voids every trusted computer (SECURITY.md, trusted computers), and
    // every sign-in the old one had started.
    await deleteTrustedDevices(trx, user);
    await expireUserFlows(trx, user);
    await appendAuditEvent(
      trx,
      { accountId: account.id, type: 'password_changed', actorUserId: user.id, subjectUserId: user.id, ip: context.ip, userAgent: context.userAgent },
      now,
    );
    await emailUser(trx, deps, { account, user, purpose: 'password_changed', context, compose: (c) => mails.passwordChanged(c) });
  });
  return ok(null);
}

/**
 * Always answers the same, in the same time, whether or not the email exists: the
 * person is looked up and mailed after the answer (deps.background), so neither the
 * answer nor its timing can tell. Past the per-address limit the answer is
 * rate_limited, which says nothing about the email; past the per-person limit the
 * request is quietly dropped, so nobody's inbox can be flooded.
 */
export async function requestPasswordReset(deps: ServiceDeps, input: { account: string; email: string }, context: RequestContext): Promise<Result<null>> {
  const byAddress = await deps.limits.passwordResetsByAddress.hit(limitKeyForAddress(context.ip));
  if (!byAddress.allowed) return fail('rate_limited', { retryAfterSeconds: byAddress.retryAfterSeconds });
  deps.background.run(() => mailPasswordReset(deps, input, context));
  return ok(null);
}

async function mailPasswordReset(deps: ServiceDeps, input: { account: string; email: string }, context: RequestContext): Promise<void> {
  const account = await findSignInAccount(deps.db, input.account);
  if (!account) return;
  const user = await new AccountUsers(deps.db, account.id).findByEmail(normalizeEmail(input.email));
  if (!user || user.suspended_at !== null || user.password_hash === null) return;
  if (!(await deps.limits.passwordResetsByUser.hit(userLimitKey(account.slug, user.email))).allowed) return;
  await deps.db.transaction().execute(async (trx) => {
    const now = deps.now();
    await voidActionTokens(trx, user, 'password_reset', now);
    const issued = issueToken();
    await insertActionToken(trx, {
      id: issued.id,
      accountId: account.id,
      userId: user.id,
      purpose: 'password_reset',
      secretHash: issued.secretHash,
      now,
      expiresAt: now + PASSWORD_RESET_LIFETIME_IN_MILLISECONDS,
    });
    const link = `${deps.config.baseUrl}/password/reset?token=${encodeURIComponent(issued.token)}`;
    await appendAuditEvent(
      trx,
      { accountId: account.id, type: 'password_reset_requested', subjectUserId: user.id, ip: context.ip, userAgent: context.userAgent },
      now,
    );
    await emailUser(trx, deps, { account, user, purpose: 'password_reset', context, compose: (c) => mails.passwordReset(c, { link }) });
  });
}

export interface TokenHolder {
  tokenId: string;
  account: Account;
  user: User;
}

/** Finds the live invitation or reset behind a link, without using it up. */
export async function checkEmailedToken(deps: ServiceDeps, purpose: ActionTokenPurpose, token: unknown): Promise<Result<TokenHolder>> {
  const parsed = parseToken(token);
  if (!parsed) return fail('invalid_token');
  const row = await findActionToken(deps.db, parsed.id, purpose);
  if (!row || !secretMatches(parsed.secret, row.secret_hash) || row.used_at !== null || row.expires_at <= deps.now() || !row.user_id || !row.account_id) {
    return fail('invalid_token');
  }
  const user = await findUserById(deps.db, row.user_id);
  const account = await findAccountById(deps.db, row.account_id);
  if (!user || !account || user.suspended_at !== null || user.account_id !== account.id) return fail('invalid_token');
  if (purpose === 'invitation' && user.password_hash !== null) return fail('invalid_token');
  return ok({ tokenId: row.id, account, user });
}

/** Sets the password from an emailed link (reset or invitation), then hands the person
 * to the one second-factor decision. */
export async function setPasswordFromLink(
  deps: ServiceDeps,
  purpose: 'password_reset' | 'invitation',
  input: { token: unknown; newPassword: unknown },
  context: RequestContext,
): Promise<Result<SignInOutcome>> {
  const holder = await checkEmailedToken(deps, purpose, input.token);
  if (!holder.ok) return holder;
  const { account, user, tokenId } = holder.value;
  const password = passwordProblem(input.newPassword, user);
  if (!password.ok) return password;
  const passwordHash = await deps.hasher.hash(password.value);
  return deps.db.transaction().execute(async (trx) => {
    const now = deps.now();
    if (!(await consumeActionToken(trx, tokenId, now))) return fail<SignInOutcome>('invalid_token');
    const users = new AccountUsers(trx, account.id);
    await users.update(user.id, { password_hash: passwordHash, password_changed_at: now, updated_at: now, email_confirmed_at: user.email_confirmed_at ?? now });
    // A new password ends every way in the old one gave (SECURITY.md, trusted
    // computers): sessions, trusted computers and sign-ins already past the password.
    await endEveryWayIn(trx, deps, user);
    const type = purpose === 'invitation' ? 'invitation_accepted' : 'password_reset';
    await appendAuditEvent(
      trx,
      { accountId: account.id, type, actorUserId: user.id, subjectUserId: user.id, ip: context.ip, userAgent: context.userAgent },
      now,
    );
    if (purpose === 'password_reset')
      await emailUser(trx, deps, { account, user, purpose: 'password_changed', context, compose: (c) => mails.passwordChanged(c) });
    const updated = (await users.findById(user.id))!;
    return startSignInFlow(trx, deps, { account, user: updated, firstFactor: purpose, trustedDeviceToken: null, context });
  });
}
