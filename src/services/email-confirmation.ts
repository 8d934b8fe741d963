// The first step of a forced first enrolment: a 6-digit code emailed to the person,
// so a stolen password alone cannot enrol an attacker's phone (SECURITY.md, admin).
import { hmacHex, newId, newNumericCode, constantTimeEqualHex } from '../crypto/tokens.js';
import { mails } from '../delivery/email-templates.js';
import { fail, ok, type Result } from '../domain/failures.js';
import { appendAuditEvent } from '../store/audit.js';
import type { RequestContext, ServiceDeps } from './deps.js';
import { emailUser } from './notify.js';
import type { SignedIn } from './sessions.js';

const CODE_LIFETIME_IN_MILLISECONDS = 10 * 60 * 1000;
const RESEND_COOLDOWN_IN_MILLISECONDS = 30 * 1000;
const ATTEMPTS_PER_CODE = 5;

function codeHmac(deps: ServiceDeps, userId: string, code: string): string {
  return hmacHex(deps.keys.hmacKey, `email-confirmation:${userId}:${code}`);
}

/** Whether this session must still confirm the email before enrolling. */
export function needsEmailConfirmation(signedIn: SignedIn): boolean {
  return signedIn.session.kind === 'setup' && signedIn.session.email_confirmed_at === null;
}

export async function sendEmailConfirmationCode(deps: ServiceDeps, signedIn: SignedIn, context: RequestContext): Promise<Result<{ retryAfterSeconds: number }>> {
  if (!needsEmailConfirmation(signedIn)) return fail('invalid_request', { message: 'Your email is already confirmed.' });
  return deps.db.transaction().execute(async (trx) => {
    const now = deps.now();
    const latest = await trx
      .selectFrom('action_tokens')
      .select(['created_at'])
      .where('user_id', '=', signedIn.user.id)
      .where('purpose', '=', 'email_confirmation')
      .orderBy('created_at', 'desc')
      .executeTakeFirst();
    if (latest && now - latest.created_at < RESEND_COOLDOWN_IN_MILLISECONDS) {
      return fail<{ retryAfterSeconds: number }>('rate_limited', { retryAfterSeconds: Math.ceil((latest.created_at + RESEND_COOLDOWN_IN_MILLISECONDS - now) / 1000) });
    }
    // A new code voids the previous one.
    await trx.updateTable('action_tokens').set({ used_at: now }).where('user_id', '=', signedIn.user.id).where('purpose', '=', 'email_confirmation').where('used_at', 'is', null).execute();
    const code = newNumericCode();
    await trx
      .insertInto('action_tokens')
      .values({
        id: newId(),
        account_id: signedIn.account.id,
        user_id: signedIn.user.id,
        purpose: 'email_confirmation',
        secret_hash: codeHmac(deps, signedIn.user.id, code),
        attempts: 0,
        created_at: now,
        expires_at: now + CODE_LIFETIME_IN_MILLISECONDS,
        used_at: null,
      })
      .execute();
    await emailUser(trx, deps, { account: signedIn.account, user: signedIn.user, purpose: 'email_confirmation', context, compose: (c) => mails.emailConfirmationCode(c, { code, expiresInMinutes: CODE_LIFETIME_IN_MILLISECONDS / 60_000 }) });
    await appendAuditEvent(trx, { accountId: signedIn.account.id, type: 'email_confirmation_sent', actorUserId: signedIn.user.id, subjectUserId: signedIn.user.id, ip: context.ip, userAgent: context.userAgent }, now);
    return ok({ retryAfterSeconds: RESEND_COOLDOWN_IN_MILLISECONDS / 1000 });
  });
}

export async function verifyEmailConfirmationCode(deps: ServiceDeps, signedIn: SignedIn, rawCode: unknown, context: RequestContext): Promise<Result<null>> {
  if (!needsEmailConfirmation(signedIn)) return fail('invalid_request', { message: 'Your email is already confirmed.' });
  const code = typeof rawCode === 'string' ? rawCode.replace(/[\s-]/g, '') : '';
  return deps.db.transaction().execute(async (trx) => {
    const now = deps.now();
    const token = await trx
      .selectFrom('action_tokens')
      .selectAll()
      .where('user_id', '=', signedIn.user.id)
      .where('purpose', '=', 'email_confirmation')
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .orderBy('created_at', 'desc')
      .executeTakeFirst();
    if (!token) return fail<null>('invalid_code', { field: 'code', message: 'This code has expired. Send a new one.' });
    if (!/^\d{6}$/.test(code) || !constantTimeEqualHex(codeHmac(deps, signedIn.user.id, code), token.secret_hash)) {
      const attempts = token.attempts + 1;
      await trx
        .updateTable('action_tokens')
        .set({ attempts, ...(attempts >= ATTEMPTS_PER_CODE ? { used_at: now } : {}) })
        .where('id', '=', token.id)
        .execute();
      await appendAuditEvent(trx, { accountId: signedIn.account.id, type: 'email_confirmation_failed', actorUserId: signedIn.user.id, subjectUserId: signedIn.user.id, ip: context.ip, userAgent: context.userAgent }, now);
      return fail<null>('invalid_code', { field: 'code', message: attempts >= ATTEMPTS_PER_CODE ? 'Too many wrong codes. Send a new one.' : undefined });
    }
    const consumed = await trx.updateTable('action_tokens').set({ used_at: now }).where('id', '=', token.id).where('used_at', 'is', null).executeTakeFirst();
    if (Number(consumed.numUpdatedRows) !== 1) return fail<null>('invalid_code', { field: 'code' });
    await trx.updateTable('sessions').set({ email_confirmed_at: now }).where('id', '=', signedIn.session.id).execute();
    await trx.updateTable('users').set({ email_confirmed_at: now }).where('id', '=', signedIn.user.id).execute();
    await appendAuditEvent(trx, { accountId: signedIn.account.id, type: 'email_confirmed', actorUserId: signedIn.user.id, subjectUserId: signedIn.user.id, ip: context.ip, userAgent: context.userAgent }, now);
    return ok(null);
  });
}
