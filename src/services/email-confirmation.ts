// The first step of a forced first enrolment: a 6-digit code emailed to the person,
// so a stolen password alone cannot enrol an attacker's phone (SECURITY.md, admin).
// A code is guessable (one in a million), so guessing is bounded the way passcodes
// are: each wrong code counts on the person's one failure counter (and its growing
// lock), each code takes 5 tries spent by a conditional update, at most 5 codes are
// sent an hour, and failures count on the client address too.
import { hmacHex, newId, newNumericCode, constantTimeEqualHex } from '../crypto/tokens.js';
import { mails } from '../delivery/email-templates.js';
import { fail, ok, type Result } from '../domain/failures.js';
import {
  actionTokenTimesSince,
  consumeActionToken,
  findLiveActionToken,
  insertActionToken,
  spendActionTokenTry,
  voidActionTokens,
} from '../store/action-tokens.js';
import { appendAuditEvent } from '../store/audit.js';
import { markEmailConfirmed } from '../store/sessions.js';
import { AccountUsers } from '../store/users.js';
import { underAddressLimit } from './address-limit.js';
import type { RequestContext, ServiceDeps } from './deps.js';
import { emailUser } from './notify.js';
import { countCodeFailure, lockUserRow, passcodeLock } from './second-factor.js';
import type { SignedIn } from './sessions.js';

const CODE_LIFETIME_IN_MILLISECONDS = 10 * 60 * 1000;
const RESEND_COOLDOWN_IN_MILLISECONDS = 30 * 1000;
const TRIES_PER_CODE = 5;
/** Codes emailed per person per hour: the first step of an enrolment needs one or two. */
const CODES_PER_HOUR = 5;
const HOUR_IN_MILLISECONDS = 60 * 60 * 1000;

function codeHmac(deps: ServiceDeps, userId: string, code: string): string {
  return hmacHex(deps.keys.hmacKey, `email-confirmation:${userId}:${code}`);
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
    const sentThisHour = await actionTokenTimesSince(trx, user.id, 'email_confirmation', now - HOUR_IN_MILLISECONDS);
    const newest = sentThisHour[0];
    if (newest !== undefined && now - newest < RESEND_COOLDOWN_IN_MILLISECONDS) {
      return fail<{ retryAfterSeconds: number }>('rate_limited', { retryAfterSeconds: Math.ceil((newest + RESEND_COOLDOWN_IN_MILLISECONDS - now) / 1000) });
    }
    if (sentThisHour.length >= CODES_PER_HOUR) {
      const oldest = sentThisHour[sentThisHour.length - 1]!;
      return fail<{ retryAfterSeconds: number }>('rate_limited', {
        retryAfterSeconds: Math.ceil((oldest + HOUR_IN_MILLISECONDS - now) / 1000),
        message: 'Too many codes sent. Check your inbox for the last one, or try again later.',
      });
    }
    // A new code voids the previous one.
    await voidActionTokens(trx, user.id, 'email_confirmation', now);
    const code = newNumericCode();
    await insertActionToken(trx, {
      id: newId(),
      accountId: signedIn.account.id,
      userId: user.id,
      purpose: 'email_confirmation',
      secretHash: codeHmac(deps, user.id, code),
      now,
      expiresAt: now + CODE_LIFETIME_IN_MILLISECONDS,
    });
    await emailUser(trx, deps, {
      account: signedIn.account,
      user,
      purpose: 'email_confirmation',
      context,
      compose: (c) => mails.emailConfirmationCode(c, { code, expiresInMinutes: CODE_LIFETIME_IN_MILLISECONDS / 60_000 }),
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
    return ok({ retryAfterSeconds: RESEND_COOLDOWN_IN_MILLISECONDS / 1000 });
  });
}

export async function verifyEmailConfirmationCode(deps: ServiceDeps, signedIn: SignedIn, rawCode: unknown, context: RequestContext): Promise<Result<null>> {
  if (!needsEmailConfirmation(signedIn)) return fail('invalid_request', { message: 'Your email is already confirmed.' });
  const code = typeof rawCode === 'string' ? rawCode.replace(/[\s-]/g, '') : '';
  return underAddressLimit(deps, context, () =>
    deps.db.transaction().execute(async (trx) => {
      // The person's row first: their failure counter and lock are checked and counted
      // under it, as for every passcode (Keycloak #31726).
      const user = await lockUserRow(trx, deps, signedIn.user);
      if (!user) return fail<null>('invalid_credentials');
      const now = deps.now();
      const locked = passcodeLock(user, now);
      if (locked) return locked;
      const token = await findLiveActionToken(trx, user.id, 'email_confirmation', now);
      if (!token) return fail<null>('invalid_code', { field: 'code', message: 'This code has expired. Send a new one.' });
      if (!/^\d{6}$/.test(code) || !constantTimeEqualHex(codeHmac(deps, user.id, code), token.secret_hash)) {
        const triesUsed = await spendActionTokenTry(trx, token.id, TRIES_PER_CODE, now);
        const counted = await countCodeFailure(trx, deps, user, 'email_confirmation', context);
        if (counted.ok || counted.failure.code !== 'invalid_code') return counted;
        return fail<null>('invalid_code', {
          field: 'code',
          message: triesUsed === null || triesUsed >= TRIES_PER_CODE ? 'Too many wrong codes. Send a new one.' : undefined,
        });
      }
      if (!(await consumeActionToken(trx, token.id, now))) return fail<null>('invalid_code', { field: 'code' });
      await markEmailConfirmed(trx, signedIn.session, now);
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
