// Password sign-in. Every failure answers the same way, in the same time: unknown
// account, unknown email, suspended person, locked person and wrong password are one
// `invalid_credentials` (DESIGN.md row 1, SECURITY.md "no oracle").
import { limitKeyForAddress } from '../domain/network.js';
import { fail, ok, type Result } from '../domain/failures.js';
import { normalizeEmail, normalizeSlug } from '../domain/identity.js';
import { mails } from '../delivery/email-templates.js';
import { findAccountBySlug } from '../store/accounts.js';
import { appendAuditEvent } from '../store/audit.js';
import { AccountUsers } from '../store/users.js';
import type { RequestContext, ServiceDeps } from './deps.js';
import { completeFirstFactor, type SignInOutcome } from './first-factor.js';
import { emailUser } from './notify.js';

export interface PasswordSignIn {
  account: string;
  email: string;
  password: string;
  trustedDeviceToken: string | null;
}

export function userLimitKey(accountSlug: string, email: string): string {
  return `${normalizeSlug(accountSlug)}:${normalizeEmail(email)}`;
}

export async function signInWithPassword(deps: ServiceDeps, input: PasswordSignIn, context: RequestContext): Promise<Result<SignInOutcome>> {
  const addressKey = limitKeyForAddress(context.ip);
  const byAddress = await deps.limits.failuresByAddress.check(addressKey);
  if (!byAddress.allowed) return fail('rate_limited', { retryAfterSeconds: byAddress.retryAfterSeconds });

  const slug = normalizeSlug(input.account);
  const email = normalizeEmail(input.email);
  const userKey = userLimitKey(slug, email);
  const account = await findAccountBySlug(deps.db, slug);
  const user = account ? await new AccountUsers(deps.db, account.id).findByEmail(email) : undefined;
  const locked = !(await deps.limits.passwordFailuresByUser.check(userKey)).allowed;

  // Always pay for one argon2id verification, so the answer time does not tell
  // whether the account or the email exists.
  const passwordOk =
    user && user.password_hash !== null ? await deps.hasher.verify(user.password_hash, input.password) : await deps.hasher.verifyDummy(input.password);

  if (!account || !user || !passwordOk || locked || user.suspended_at !== null) {
    await deps.limits.failuresByAddress.hit(addressKey);
    let lockedNow = false;
    if (!locked) {
      // The hit that reaches the limit is still "allowed"; the lock starts with it.
      await deps.limits.passwordFailuresByUser.hit(userKey);
      lockedNow = !(await deps.limits.passwordFailuresByUser.check(userKey)).allowed;
    }
    if (account) {
      await deps.db.transaction().execute(async (trx) => {
        await appendAuditEvent(
          trx,
          {
            accountId: account.id,
            type: 'sign_in_failed',
            subjectUserId: user?.id ?? null,
            ip: context.ip,
            userAgent: context.userAgent,
            details: { reason: !user ? 'unknown_email' : locked ? 'locked' : user.suspended_at !== null ? 'suspended' : 'wrong_password' },
          },
          deps.now(),
        );
        if (user && lockedNow) {
          await appendAuditEvent(trx, { accountId: account.id, type: 'sign_in_locked', subjectUserId: user.id, ip: context.ip, userAgent: context.userAgent }, deps.now());
          await emailUser(trx, deps, { account, user, purpose: 'sign_in_locked', context, compose: (c) => mails.signInLocked(c) });
        }
      });
    }
    return fail('invalid_credentials');
  }

  await deps.limits.passwordFailuresByUser.reset(userKey);
  const outcome = await deps.db.transaction().execute((trx) =>
    completeFirstFactor(trx, deps, { account, user, firstFactor: 'password', trustedDeviceToken: input.trustedDeviceToken, context }),
  );
  return ok(outcome);
}
