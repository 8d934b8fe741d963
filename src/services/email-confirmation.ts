// The first step of a forced first enrolment: a 6-digit code emailed to the person,
// so a stolen password alone cannot enrol an attacker's phone (SECURITY.md, admin).
// A code is guessable (one in a million), so guessing is bounded the way passcodes
// are: each wrong code counts on the person's one failure counter (and its growing
// lock), each code takes 5 tries spent by a conditional update, at most 5 codes are
// sent an hour, and failures count on the client address too.
import { mails } from '../delivery/email-templates.js';
import { fail, ok, type Result } from '../domain/failures.js';
import { appendAuditEvent } from '../store/audit.js';
import { markEmailConfirmed } from '../store/sessions.js';
import { AccountUsers } from '../store/users.js';
import { underAddressLimit } from './address-limit.js';
import type { RequestContext, ServiceDeps } from './deps.js';
import { emailUser } from './notify.js';
import { checkOneTimeCode, issueOneTimeCode, sendRefusal, type CodeBinding } from './one-time-codes.js';
import { countCodeFailure, lockUserRow, passcodeLock } from './second-factor.js';
import type { SignedIn } from './sessions.js';
import { recordEmailConfirmation } from './sign-in-flow.js';

/** Codes emailed per person per hour: the first step of an enrolment needs one or two. */
const CODES_PER_HOUR = 5;

function binding(userId: string): CodeBinding {
  return { purpose: 'email_confirmation', boundTo: userId };
}

/** Whether this session must still confirm the email before enrolling. */
export function needsEmailConfirmation(signedIn: SignedIn): boolean {
  return signedIn.session.kind === 'setup' && signedIn.session.email_confirmed_at === null;
}

export async function sendEmailConfirmationCode(
  deps: ServiceDeps,
  signedIn: SignedIn,
  context: RequestContext,
): Promise<Result<{ retryAfterSeconds: number }>> {
  if (!needsEmailConfirmation(signedIn)) return fail('invalid_request', { message: 'Your email is already confirmed.' });
  return deps.db.transaction().execute(async (trx) => {
    const user = await lockUserRow(trx, deps, signedIn.user);
    if (!user) return fail<{ retryAfterSeconds: number }>('invalid_credentials');
    const now = deps.now();
    const refusal = await sendRefusal(trx, deps, { ...binding(user.id), userId: user.id, capPerHour: CODES_PER_HOUR });
    if (refusal) {
      return fail<{ retryAfterSeconds: number }>('rate_limited', {
        retryAfterSeconds: refusal.retryAfterSeconds,
        ...(refusal.reason === 'hourly_cap' ? { message: 'Too many codes sent. Check your inbox for the last one, or try again later.' } : {}),
      });
    }
    const sent = await issueOneTimeCode(trx, deps, {
      ...binding(user.id),
      accountId: signedIn.account.id,
      userId: user.id,
      deliver: async (code, expiresAt) =>
        emailUser(trx, deps, {
          account: signedIn.account,
          user,
          purpose: 'email_confirmation',
          context,
          compose: (c) => mails.emailConfirmationCode(c, { code, expiresInMinutes: Math.round((expiresAt - now) / 60_000) }),
        }),
    });
    await appendAuditEvent(
      trx,
      {
        accountId: signedIn.account.id,
        type: 'email_confirmation_sent',
        actorUserId: user.id,
        subjectUserId: user.id,
        ip: context.ip,
        userAgent: context.userAgent,
      },
      now,
    );
    return ok({ retryAfterSeconds: sent.resendAfterSeconds });
  });
}

export async function verifyEmailConfirmationCode(deps: ServiceDeps, signedIn: SignedIn, rawCode: unknown, context: RequestContext): Promise<Result<null>> {
  if (!needsEmailConfirmation(signedIn)) return fail('invalid_request', { message: 'Your email is already confirmed.' });
  return underAddressLimit(deps, context, () =>
    deps.db.transaction().execute(async (trx) => {
      // The person's row first: their failure counter and lock are checked and counted
      // under it, as for every passcode (Keycloak #31726).
      const user = await lockUserRow(trx, deps, signedIn.user);
      if (!user) return fail<null>('invalid_credentials');
      const now = deps.now();
      const locked = passcodeLock(user, now);
      if (locked) return locked;
      const verdict = await checkOneTimeCode(trx, deps, binding(user.id), rawCode);
      if (verdict.kind === 'wrong' || verdict.kind === 'used') {
        const counted = await countCodeFailure(trx, deps, user, 'email_confirmation', context);
        if (counted.ok || counted.failure.code !== 'invalid_code') return counted;
        return fail<null>('invalid_code', {
          field: 'code',
          message: verdict.kind === 'wrong' && verdict.triesLeft === 0 ? 'Too many wrong codes. Send a new one.' : undefined,
        });
      }
      if (verdict.kind === 'exhausted') return fail<null>('invalid_code', { field: 'code', message: 'Too many wrong codes. Send a new one.' });
      if (verdict.kind !== 'right') return fail<null>('invalid_code', { field: 'code', message: 'This code has expired. Send a new one.' });
      await markEmailConfirmed(trx, signedIn.session, now);
      await recordEmailConfirmation(trx, deps, signedIn.session);
      await new AccountUsers(trx, user.account_id).update(user.id, { email_confirmed_at: now });
      await appendAuditEvent(
        trx,
        { accountId: signedIn.account.id, type: 'email_confirmed', actorUserId: user.id, subjectUserId: user.id, ip: context.ip, userAgent: context.userAgent },
        now,
      );
      return ok(null);
    }),
  );
}
