// Password sign-in. Every failure answers the same way, in the same time: unknown
// account, unknown email, suspended person, locked person and wrong password are one
// `invalid_credentials` (DESIGN.md row 1, SECURITY.md "no oracle").
import { limitKeyForAddress } from '../domain/network.js';
import { fail, type Result } from '../domain/failures.js';
import { normalizeEmail, normalizeSlug } from '../domain/identity.js';
import { mails } from '../delivery/email-templates.js';
import { findAccountBySlug, findAccountsByName } from '../store/accounts.js';
import type { Account } from '../store/schema.js';
import type { FlowRequirements } from '../domain/sign-in-decision.js';
import { appendAuditEvent } from '../store/audit.js';
import { AccountUsers } from '../store/users.js';
import type { RequestContext, ServiceDeps } from './deps.js';
import { startSignInFlow, type SignInOutcome } from './sign-in-flow.js';
import { emailUser } from './notify.js';
import { checkPasswordUnderLimits } from './password-attempts.js';

export interface PasswordSignIn {
  account: string;
  email: string;
  password: string;
  trustedDeviceToken: string | null;
  /** Where to send the person once signed in (the page's `next`), kept on the flow. */
  returnTo?: string | null;
  /** What the app that sent the person demands (OpenID Connect step-up). */
  requirements?: FlowRequirements;
}

export function userLimitKey(accountSlug: string, email: string): string {
  return `${normalizeSlug(accountSlug)}:${normalizeEmail(email)}`;
}

/** The account a person typed: its short name, or its display name where exactly one
 * account has it (people remember "Acme Support" more than "acme-support"). Both are
 * looked up every time, so the work does not depend on which was typed. */
export async function findSignInAccount(db: ServiceDeps['db'], typed: string): Promise<Account | undefined> {
  const bySlug = await findAccountBySlug(db, normalizeSlug(typed));
  const byName = await findAccountsByName(db, typed.trim());
  return bySlug ?? (byName.length === 1 ? byName[0] : undefined);
}

export async function signInWithPassword(deps: ServiceDeps, input: PasswordSignIn, context: RequestContext): Promise<Result<SignInOutcome>> {
  const account = await findSignInAccount(deps.db, input.account);
  // The person's limit is counted under the account's own short name, whichever name was typed.
  const slug = account?.slug ?? normalizeSlug(input.account);
  const email = normalizeEmail(input.email);
  const user = account ? await new AccountUsers(deps.db, account.id).findByEmail(email) : undefined;
  const usable = user !== undefined && user.suspended_at === null ? user : undefined;

  const attempt = await checkPasswordUnderLimits(deps, {
    userKey: userLimitKey(slug, email),
    addressKey: limitKeyForAddress(context.ip),
    passwordHash: usable?.password_hash ?? null,
    password: input.password,
  });
  if (attempt.kind === 'address_limited') return fail('rate_limited', { retryAfterSeconds: attempt.retryAfterSeconds });

  if (attempt.kind !== 'right' || !account || !usable) {
    const lockedNow = attempt.kind === 'wrong' && attempt.lockedNow;
    const reason = !account
      ? 'unknown_account'
      : !user
        ? 'unknown_email'
        : attempt.kind === 'locked'
          ? 'locked'
          : user.suspended_at !== null
            ? 'suspended'
            : 'wrong_password';
    // Written for an unknown account too (to no account's log), so that the time of the
    // answer does not tell whether the account exists.
    await deps.db.transaction().execute(async (trx) => {
      await appendAuditEvent(
        trx,
        {
          accountId: account?.id ?? null,
          type: 'sign_in_failed',
          subjectUserId: user?.id ?? null,
          ip: context.ip,
          userAgent: context.userAgent,
          details: { reason },
        },
        deps.now(),
      );
      if (account && user && lockedNow) {
        await appendAuditEvent(
          trx,
          { accountId: account.id, type: 'sign_in_locked', subjectUserId: user.id, ip: context.ip, userAgent: context.userAgent },
          deps.now(),
        );
        await emailUser(trx, deps, { account, user, purpose: 'sign_in_locked', context, compose: (c) => mails.signInLocked(c) });
      }
    });
    return fail('invalid_credentials');
  }

  return deps.db.transaction().execute((trx) =>
    startSignInFlow(trx, deps, {
      account,
      user: usable,
      firstFactor: 'password',
      trustedDeviceToken: input.trustedDeviceToken,
      returnTo: input.returnTo ?? null,
      ...(input.requirements ? { requirements: input.requirements } : {}),
      context,
    }),
  );
}
