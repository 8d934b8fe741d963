// Emailed codes as a second factor (DESIGN.md row 19), for people with no phone or
// app: a 6-digit code sent to the person's address, with the cooldown and quotas of
// texts, checked by the one one-time-code module (factors/emailed-code.ts). The
// weakest factor: never allowed where the account requires security keys. The factor
// is a two_factor_methods row of type "email"; its address is the person's own.
import type { Kysely } from 'kysely';
import { newId } from '../crypto/tokens.js';
import { mails } from '../delivery/email-templates.js';
import { fail, ok, type Result } from '../domain/failures.js';
import { CODE_LIFETIME_IN_MILLISECONDS, maskEmailAddress } from '../domain/one-time-codes.js';
import { factorAllowed } from '../domain/sign-in-decision.js';
import { appendAuditEvent } from '../store/audit.js';
import type { Account, Database, TwoFactorMethod, User } from '../store/schema.js';
import { NO_METHOD_DETAILS, deleteMethod, deletePendingMethods, findActiveMethodOfType, findPendingMethod, insertMethod } from '../store/two-factor.js';
import { AccountUsers } from '../store/users.js';
import { openChallenge, type OpenChallenge } from './challenge.js';
import { addingFactorNeedsConfirmation, confirm, confirmPasswordFirst, type Confirmation } from './confirmation.js';
import type { RequestContext, ServiceDeps } from './deps.js';
import type { UserRef } from '../store/users.js';
import { needsEmailConfirmation } from './email-confirmation.js';
import { emailCodeBinding } from './factors/emailed-code.js';
import type { CodeSentAnswer, FactorUse } from './factors/factor-module.js';
import { twoFactorPolicyOf } from './two-factor-policy.js';
import { emailUser } from './notify.js';
import { issueOneTimeCode, sendRefusal, sentCodeState, type CodeBinding, type SentCodeState } from './one-time-codes.js';
import { lockUserRow, verifySecondFactor } from './second-factor.js';
import type { SignedIn } from './sessions.js';
import { resendTooSoon, takeSmsQuota } from './sms-sending.js';
import { activateFactor, enrolmentAllowed, type EnrolmentDone } from './two-factor.js';

/** An abandoned enrolment is forgotten after 15 minutes, like the app's and the number's. */
const ENROLMENT_LIFETIME_IN_MILLISECONDS = 15 * 60 * 1000;

function notAllowed(account: Account): boolean {
  return !factorAllowed('email', twoFactorPolicyOf(account));
}

/**
 * Everything before a code is emailed, inside the caller's transaction, which holds the
 * person's row: the 30-second cooldown of this binding, then the quotas texts have
 * (counted apart). The mail goes to the outbox in the same transaction.
 */
async function emailCode(
  db: Kysely<Database>,
  deps: ServiceDeps,
  input: {
    account: Account;
    user: Pick<User, 'id' | 'email' | 'language' | 'time_zone'>;
    binding: CodeBinding;
    use: FactorUse['purpose'];
    context: RequestContext;
  },
): Promise<Result<CodeSentAnswer>> {
  const now = deps.now();
  const refusal = await sendRefusal(db, deps, { ...input.binding, userId: input.user.id });
  if (refusal) return resendTooSoon('rate_limited', refusal.retryAfterSeconds);
  const purpose = `email_${input.use}_code`;
  const quota = await takeSmsQuota(db, deps, {
    account: input.account,
    user: input.user,
    e164: input.user.email,
    purpose,
    context: input.context,
    channel: 'email',
  });
  if (!quota.ok) return quota;
  const sent = await issueOneTimeCode(db, deps, {
    ...input.binding,
    accountId: input.account.id,
    userId: input.user.id,
    deliver: (code) =>
      emailUser(db, deps, {
        account: input.account,
        user: input.user,
        purpose,
        context: input.context,
        compose: (c) => mails.emailedCode(c, { code, expiresInMinutes: CODE_LIFETIME_IN_MILLISECONDS / 60_000, use: input.use }),
      }),
  });
  await appendAuditEvent(
    db,
    {
      accountId: input.account.id,
      type: 'email_code_sent',
      actorUserId: input.user.id,
      subjectUserId: input.user.id,
      ip: input.context.ip,
      userAgent: input.context.userAgent,
      details: { purpose },
    },
    now,
  );
  return ok({ destination: maskEmailAddress(input.user.email), resendAfterSeconds: sent.resendAfterSeconds, expiresAt: sent.expiresAt });
}

async function livePending(db: Kysely<Database>, deps: ServiceDeps, user: UserRef): Promise<TwoFactorMethod | null> {
  const pending = await findPendingMethod(db, user, 'email');
  return pending && (pending.expires_at ?? 0) > deps.now() ? pending : null;
}

/** `POST /api/v1/me/two-factor/email`: starts turning emailed codes on and emails a code.
 * While two-factor authentication is on, this adds a factor: it needs a confirmation. */
export async function startEmailEnrolment(
  deps: ServiceDeps,
  signedIn: SignedIn,
  confirmation: Confirmation | undefined,
  context: RequestContext,
): Promise<Result<CodeSentAnswer>> {
  if (needsEmailConfirmation(signedIn)) return fail('email_confirmation_required');
  if (notAllowed(signedIn.account)) return fail('factor_not_allowed');
  if (!enrolmentAllowed(signedIn, 'email')) return fail('security_key_required');
  // A confirmation that is given is always checked, even where none is needed.
  const passwordChecked = await confirmPasswordFirst(deps, signedIn, confirmation);
  if (!passwordChecked.ok) return passwordChecked;
  return deps.db.transaction().execute(async (trx): Promise<Result<CodeSentAnswer>> => {
    const user = await lockUserRow(trx, deps, signedIn.user);
    if (!user) return fail('unauthorized');
    if (await findActiveMethodOfType(trx, user, 'email')) return fail('two_factor_already_enabled');
    const now = deps.now();
    // Starting again is no way around "Send again": the last code's cooldown holds.
    // Checked before the confirmation, so a refused start does not spend a recovery code.
    const previous = await livePending(trx, deps, user);
    if (previous) {
      const refusal = await sendRefusal(trx, deps, { ...emailCodeBinding({ purpose: 'enrolment', boundTo: previous.id }, user.id), userId: user.id });
      if (refusal) return resendTooSoon('rate_limited', refusal.retryAfterSeconds);
    }
    if (addingFactorNeedsConfirmation(signedIn, user, now) || confirmation !== undefined) {
      const confirmed = await confirm(trx, deps, { ...signedIn, user }, confirmation, context, passwordChecked.value);
      if (!confirmed.ok) return confirmed;
    }
    await deletePendingMethods(trx, user, 'email');
    const methodId = newId();
    await insertMethod(trx, {
      ...NO_METHOD_DETAILS,
      id: methodId,
      account_id: signedIn.account.id,
      user_id: user.id,
      type: 'email',
      status: 'pending',
      created_at: now,
      expires_at: now + ENROLMENT_LIFETIME_IN_MILLISECONDS,
    });
    const sent = await emailCode(trx, deps, {
      account: signedIn.account,
      user,
      binding: emailCodeBinding({ purpose: 'enrolment', boundTo: methodId }, user.id),
      use: 'enrolment',
      context,
    });
    if (!sent.ok) {
      await deleteMethod(trx, user, methodId);
      return sent;
    }
    await appendAuditEvent(
      trx,
      {
        accountId: signedIn.account.id,
        type: 'two_factor_enrolment_started',
        actorUserId: user.id,
        subjectUserId: user.id,
        ip: context.ip,
        userAgent: context.userAgent,
        details: { method: 'email' },
      },
      now,
    );
    return sent;
  });
}

/** `POST /api/v1/me/two-factor/email/resend`: a new code for the enrolment (after the cooldown). */
export async function resendEmailEnrolmentCode(deps: ServiceDeps, signedIn: SignedIn, context: RequestContext): Promise<Result<CodeSentAnswer>> {
  if (needsEmailConfirmation(signedIn)) return fail('email_confirmation_required');
  return deps.db.transaction().execute(async (trx): Promise<Result<CodeSentAnswer>> => {
    const user = await lockUserRow(trx, deps, signedIn.user);
    const pending = user ? await livePending(trx, deps, user) : null;
    if (!user || !pending) return fail('invalid_request', { message: 'Emailed codes are not being set up. Start again.' });
    return emailCode(trx, deps, {
      account: signedIn.account,
      user,
      binding: emailCodeBinding({ purpose: 'enrolment', boundTo: pending.id }, user.id),
      use: 'enrolment',
      context,
    });
  });
}

/** The enrolment in progress, if any (its page shows it again on reload). */
export async function pendingEmailEnrolment(
  deps: ServiceDeps,
  signedIn: SignedIn,
): Promise<(SentCodeState & { destination: string; expiresAt: number }) | null> {
  const pending = await livePending(deps.db, deps, signedIn.user);
  if (!pending) return null;
  const state = await sentCodeState(deps.db, deps, emailCodeBinding({ purpose: 'enrolment', boundTo: pending.id }, signedIn.user.id));
  return { ...state, destination: maskEmailAddress(signedIn.user.email), expiresAt: pending.expires_at! };
}

/** `POST /api/v1/me/two-factor/email/verify`: the emailed code turns the factor on. A
 * wrong code counts on the person's one failure counter, like any passcode. */
export async function verifyEmailEnrolment(deps: ServiceDeps, signedIn: SignedIn, code: unknown, context: RequestContext): Promise<Result<EnrolmentDone>> {
  if (needsEmailConfirmation(signedIn)) return fail('email_confirmation_required');
  if (notAllowed(signedIn.account)) return fail('factor_not_allowed');
  return deps.db.transaction().execute(async (trx): Promise<Result<EnrolmentDone>> => {
    const pending = await livePending(trx, deps, signedIn.user);
    if (!pending) return fail('invalid_code', { field: 'code', message: 'This setup has expired. Start again to get a new code.' });
    const verified = await verifySecondFactor(trx, deps, {
      user: signedIn.user,
      factor: { method: 'email', code },
      allowed: ['email'],
      use: { purpose: 'enrolment', boundTo: pending.id, context },
      context,
    });
    if (!verified.ok) return verified;
    const done = await activateFactor(trx, deps, signedIn, { methodId: pending.id, type: 'email', lastUsedStep: null, context });
    // The code came back: the address is the person's.
    if (done.ok)
      await new AccountUsers(trx, signedIn.account.id).update(signedIn.user.id, { email_confirmed_at: signedIn.user.email_confirmed_at ?? deps.now() });
    return done;
  });
}

/** `POST /api/v1/sign-in/email`: emails a code for a challenge. The first one is always
 * allowed (within the quotas), later ones after the cooldown; a new one voids the last. */
export async function sendEmailSignInCode(deps: ServiceDeps, challengeToken: unknown, context: RequestContext): Promise<Result<CodeSentAnswer>> {
  return deps.db.transaction().execute(async (trx): Promise<Result<CodeSentAnswer>> => {
    const opened = await openChallenge(trx, deps, challengeToken);
    if (!opened.ok) return opened;
    if (!opened.value.methods.includes('email'))
      return fail('invalid_request', { field: 'method', message: 'Emailed codes are not set up for this sign-in. Use another method.' });
    // The person's row serialises two sends for one challenge (the cooldown holds).
    const user = await lockUserRow(trx, deps, opened.value.user);
    if (!user) return fail('invalid_challenge');
    return emailCode(trx, deps, {
      account: opened.value.account,
      user,
      binding: emailCodeBinding({ purpose: 'sign_in', boundTo: opened.value.challenge.id }, user.id),
      use: 'sign_in',
      context,
    });
  });
}

/** `POST /api/v1/me/two-factor/email/send`: emails a code for a confirmation with method "email". */
export async function sendEmailedConfirmationCode(deps: ServiceDeps, signedIn: SignedIn, context: RequestContext): Promise<Result<CodeSentAnswer>> {
  return deps.db.transaction().execute(async (trx): Promise<Result<CodeSentAnswer>> => {
    const user = await lockUserRow(trx, deps, signedIn.user);
    const method = user ? await findActiveMethodOfType(trx, user, 'email') : undefined;
    if (!user || user.two_factor_enabled !== 1 || !method || notAllowed(signedIn.account))
      return fail('two_factor_not_enabled', { message: 'Emailed codes are not one of your two-factor methods.' });
    return emailCode(trx, deps, {
      account: signedIn.account,
      user,
      binding: emailCodeBinding({ purpose: 'confirmation', boundTo: signedIn.session.id }, user.id),
      use: 'confirmation',
      context,
    });
  });
}

/** The emailed code of a sign-in challenge, for the passcode page. */
export async function signInEmailCodeState(
  db: Kysely<Database>,
  deps: ServiceDeps,
  open: OpenChallenge,
): Promise<(SentCodeState & { destination: string }) | null> {
  if (!open.methods.includes('email')) return null;
  const state = await sentCodeState(db, deps, emailCodeBinding({ purpose: 'sign_in', boundTo: open.challenge.id }, open.user.id));
  return { ...state, destination: maskEmailAddress(open.user.email) };
}
