// Texting a code: only after a correct password (a sign-in challenge) or by a
// signed-in person to their own number (SECURITY.md, anti-pumping). Every text passes
// the cooldown and all the quotas first; past one, the answer is 429 and nothing is
// written to the outbox, so no provider is ever called for it. The text itself goes
// through the outbox in the same transaction (delivered by the worker, retried there).
import type { Kysely } from 'kysely';
import { decryptSecret, sealedPlace } from '../crypto/secret-box.js';
import { hmacHex } from '../crypto/tokens.js';
import { fail, ok, type Result } from '../domain/failures.js';
import { limitKeyForAddress } from '../domain/network.js';
import { isCountryAllowed, maskPhoneNumber, normalizePhoneNumber, parseCountryList } from '../domain/phone-numbers.js';
import { translatorForPerson } from '../i18n/translator.js';
import { SMS_QUOTAS, resendWaitInSeconds, smsCodeText, type SmsDelivery } from '../domain/sms-codes.js';
import type { Limiter } from '../limits/limits.js';
import { appendAuditEvent } from '../store/audit.js';
import { enqueueMessage } from '../store/outbox.js';
import type { Account, Database, TwoFactorMethod, User } from '../store/schema.js';
import { findSmsMethod } from '../store/sms.js';
import { openChallenge, type OpenChallenge } from './challenge.js';
import type { RequestContext, ServiceDeps } from './deps.js';
import { SMS_CODE_PURPOSE } from './factors/text-message.js';
import { issueOneTimeCode, sendRefusal, sentCodeState, type CodeBinding } from './one-time-codes.js';
import { lockUserRow } from './second-factor.js';
import type { SignedIn } from './sessions.js';

export interface SmsCodeSent {
  phoneMasked: string;
  /** Seconds before "Send again" may be used. */
  resendAfterSeconds: number;
  expiresAt: number;
}

export interface SmsCodeState {
  phoneMasked: string;
  sentAt: number | null;
  resendAfterSeconds: number;
  delivery: SmsDelivery;
}

export function smsAvailable(deps: ServiceDeps): boolean {
  return deps.config.smsProvider !== 'off';
}

export function phoneOf(deps: ServiceDeps, method: Pick<TwoFactorMethod, 'id' | 'phone_ciphertext'>): string {
  if (!method.phone_ciphertext) throw new Error('an SMS factor without a phone number');
  return decryptSecret(deps.keys, method.phone_ciphertext, sealedPlace('two_factor_methods', 'phone_ciphertext', method.id));
}

/** Refuses numbers outside the account's country allow-list (accounts.sms_allowed_countries). */
export function checkPhoneCountry(account: Pick<Account, 'sms_allowed_countries'>, country: string | null): Result<null> {
  const allowList = parseCountryList(account.sms_allowed_countries);
  if (country === null ? allowList !== null : !isCountryAllowed(country, allowList)) return fail('phone_not_allowed', { field: 'phone' });
  return ok(null);
}

/** "Send again" only after the cooldown (429 with the seconds left). */
export function cooldownFailure(lastSentAt: number | null, now: number): Result<null> {
  const wait = resendWaitInSeconds(lastSentAt, now);
  return wait === 0 ? ok(null) : resendTooSoon('sms_rate_limited', wait);
}

export function resendTooSoon(code: 'sms_rate_limited' | 'rate_limited', waitInSeconds: number): Result<never> {
  return fail(code, {
    retryAfterSeconds: waitInSeconds,
    message: `We sent a code a moment ago. You can ask for another in ${waitInSeconds} second${waitInSeconds === 1 ? '' : 's'}.`,
    detail: { key: 'detail.resendWait', values: { seconds: waitInSeconds } },
  });
}

/** Phone numbers (and email addresses) are not put in the limit store in clear (it may be a shared Redis). */
function numberLimitKey(deps: ServiceDeps, e164: string): string {
  return hmacHex(deps.keys.hmacKey, `sms-number:${e164}`).slice(0, 32);
}

interface SmsQuotaInput {
  account: Account;
  user: Pick<User, 'id'>;
  e164: string;
  context: RequestContext;
  /** Emailed codes take the same quotas as texts, counted apart (`email` keys). */
  channel?: 'sms' | 'email';
}

/** Every quota a text is counted in: per person, per number, per client address, the
 * account's daily budget and the deployment's. An emailed code is counted the same
 * way in counters of its own, its address standing for the number. */
function smsQuotas(deps: ServiceDeps, input: SmsQuotaInput): { name: string; limiter: Limiter; key: string; points?: number }[] {
  const { limits } = deps;
  // An account's budget never exceeds the deployment's, set before or after it.
  const accountBudget = Math.min(input.account.sms_daily_budget ?? SMS_QUOTAS.perAccountDefault.points, deps.config.smsDailyBudget);
  const prefix = input.channel === 'email' ? 'email:' : '';
  return [
    { name: 'per_person', limiter: limits.smsByUser, key: `${prefix}${input.user.id}` },
    { name: input.channel === 'email' ? 'per_address_book' : 'per_number', limiter: limits.smsByNumber, key: `${prefix}${numberLimitKey(deps, input.e164)}` },
    { name: 'per_address', limiter: limits.smsByAddress, key: `${prefix}${limitKeyForAddress(input.context.ip)}` },
    { name: 'per_account', limiter: limits.smsByAccount, key: `${prefix}${input.account.id}`, points: accountBudget },
    { name: 'global', limiter: limits.smsGlobal, key: `${prefix}all` },
  ];
}

/** Whether a text could go out now, counting nothing: asked before a confirmation is
 * spent on an action that would then be refused for want of a text. */
export async function smsQuotasAllow(deps: ServiceDeps, input: SmsQuotaInput): Promise<Result<null>> {
  const refusal = await firstRefusal(smsQuotas(deps, input), 'check');
  return refusal ? fail('sms_rate_limited', { retryAfterSeconds: refusal.retryAfterSeconds }) : ok(null);
}

/** The first quota that refuses, looked at (`check`) or counted in (`hit`). */
async function firstRefusal(quotas: ReturnType<typeof smsQuotas>, phase: 'check' | 'hit'): Promise<{ name: string; retryAfterSeconds: number } | null> {
  for (const quota of quotas) {
    const verdict = await quota.limiter[phase](quota.key, quota.points);
    if (!verdict.allowed) return { name: quota.name, retryAfterSeconds: verdict.retryAfterSeconds };
  }
  return null;
}

/**
 * Takes one text from every quota. Each is looked at first without counting, so a
 * refused text does not use up the others; then each is counted atomically, so N
 * parallel requests never get more than a quota's worth through.
 */
export async function takeSmsQuota(db: Kysely<Database>, deps: ServiceDeps, input: SmsQuotaInput & { purpose: string }): Promise<Result<null>> {
  const quotas = smsQuotas(deps, input);
  for (const phase of ['check', 'hit'] as const) {
    const refusal = await firstRefusal(quotas, phase);
    if (refusal) {
      await appendAuditEvent(
        db,
        {
          accountId: input.account.id,
          type: input.channel === 'email' ? 'email_code_quota_exceeded' : 'sms_quota_exceeded',
          actorUserId: input.user.id,
          subjectUserId: input.user.id,
          ip: input.context.ip,
          userAgent: input.context.userAgent,
          details: { quota: refusal.name, purpose: input.purpose },
        },
        deps.now(),
      );
      return fail(input.channel === 'email' ? 'rate_limited' : 'sms_rate_limited', { retryAfterSeconds: refusal.retryAfterSeconds });
    }
  }
  return ok(null);
}

/**
 * Everything before a text leaves, inside the caller's transaction: the provider is
 * on, the cooldown has passed, the number's country is allowed, the quotas hold. Then
 * a fresh code (the one-time-code module's, voiding the previous one) is written to
 * the outbox. The caller holds the person's row, so two sends are serialised.
 */
async function textCode(
  db: Kysely<Database>,
  deps: ServiceDeps,
  input: {
    account: Account;
    user: Pick<User, 'id' | 'language' | 'time_zone'>;
    e164: string;
    lastDigits: string | null;
    binding: CodeBinding;
    purpose: 'sms_sign_in_code' | 'sms_enrolment_code' | 'sms_confirmation_code';
    context: RequestContext;
  },
): Promise<Result<SmsCodeSent>> {
  const now = deps.now();
  const refusal = await sendRefusal(db, deps, { ...input.binding, userId: input.user.id });
  if (refusal) return resendTooSoon('sms_rate_limited', refusal.retryAfterSeconds);
  const country = normalizePhoneNumber(input.e164, null);
  const allowed = checkPhoneCountry(input.account, country.ok ? country.value.country : null);
  if (!allowed.ok) return allowed;
  const quota = await takeSmsQuota(db, deps, { account: input.account, user: input.user, e164: input.e164, purpose: input.purpose, context: input.context });
  if (!quota.ok) return quota;
  const sent = await issueOneTimeCode(db, deps, {
    ...input.binding,
    accountId: input.account.id,
    userId: input.user.id,
    deliver: (code) =>
      enqueueMessage(
        db,
        deps.keys,
        {
          accountId: input.account.id,
          userId: input.user.id,
          channel: 'sms',
          purpose: input.purpose,
          payload: {
            to: input.e164,
            subject: '',
            text: smsCodeText({
              code,
              accountName: input.account.name,
              host: new URL(deps.config.baseUrl).hostname,
              message: (account) => translatorForPerson(input.user, input.account).t('sms.code', { code, product: deps.config.productName, account }),
            }),
          },
        },
        now,
      ),
  });
  await appendAuditEvent(
    db,
    {
      accountId: input.account.id,
      type: 'sms_code_sent',
      actorUserId: input.user.id,
      subjectUserId: input.user.id,
      ip: input.context.ip,
      userAgent: input.context.userAgent,
      details: { purpose: input.purpose, phone_last_digits: input.lastDigits },
    },
    now,
  );
  return ok({ phoneMasked: maskPhoneNumber(input.lastDigits), resendAfterSeconds: sent.resendAfterSeconds, expiresAt: sent.expiresAt });
}

/** `POST /api/v1/sign-in/sms`: texts a code for a challenge. The first text is always
 * allowed (within the quotas), later ones after the cooldown; a new one voids the last. */
export async function sendSignInCode(deps: ServiceDeps, challengeToken: unknown, context: RequestContext): Promise<Result<SmsCodeSent>> {
  return deps.db.transaction().execute(async (trx): Promise<Result<SmsCodeSent>> => {
    const opened = await openChallenge(trx, deps, challengeToken);
    if (!opened.ok) return opened;
    if (!opened.value.methods.includes('sms'))
      return fail('invalid_request', {
        field: 'method',
        message: 'Text messages are not set up for this sign-in. Use your authenticator app or a recovery code.',
      });
    if (!smsAvailable(deps)) return fail('sms_unavailable');
    // The person's row serialises two sends for one challenge (the cooldown holds).
    const user = await lockUserRow(trx, deps, opened.value.user);
    const method = user ? await findSmsMethod(trx, user, 'active') : undefined;
    if (!user || !method) return fail('invalid_challenge');
    return textCode(trx, deps, {
      account: opened.value.account,
      user,
      e164: phoneOf(deps, method),
      lastDigits: method.phone_last_digits,
      binding: { purpose: SMS_CODE_PURPOSE.sign_in, boundTo: opened.value.challenge.id },
      purpose: 'sms_sign_in_code',
      context,
    });
  });
}

/** `POST /api/v1/me/two-factor/sms/send`: texts a code to the enrolled number, for a
 * confirmation with method "sms". */
export async function sendConfirmationCode(deps: ServiceDeps, signedIn: SignedIn, context: RequestContext): Promise<Result<SmsCodeSent>> {
  return deps.db.transaction().execute(async (trx): Promise<Result<SmsCodeSent>> => {
    const user = await lockUserRow(trx, deps, signedIn.user);
    const method = user ? await findSmsMethod(trx, user, 'active') : undefined;
    if (!user || user.two_factor_enabled !== 1 || !method)
      return fail('two_factor_not_enabled', { message: 'Text messages are not one of your two-factor methods.' });
    if (!smsAvailable(deps)) return fail('sms_unavailable');
    return textCode(trx, deps, {
      account: signedIn.account,
      user,
      e164: phoneOf(deps, method),
      lastDigits: method.phone_last_digits,
      binding: { purpose: SMS_CODE_PURPOSE.confirmation, boundTo: method.id },
      purpose: 'sms_confirmation_code',
      context,
    });
  });
}

/** Texts a code to a number being verified (the enrolment's own row). */
export function textEnrolmentCode(
  trx: Kysely<Database>,
  deps: ServiceDeps,
  input: { account: Account; user: Pick<User, 'id' | 'language' | 'time_zone'>; method: TwoFactorMethod; context: RequestContext },
): Promise<Result<SmsCodeSent>> {
  return textCode(trx, deps, {
    account: input.account,
    user: input.user,
    e164: phoneOf(deps, input.method),
    lastDigits: input.method.phone_last_digits,
    binding: { purpose: SMS_CODE_PURPOSE.enrolment, boundTo: input.method.id },
    purpose: 'sms_enrolment_code',
    context: input.context,
  });
}

/** Where the latest code of a binding stands, for a page or a status answer. */
export async function codeState(
  db: Kysely<Database>,
  deps: ServiceDeps,
  holder: { phoneLastDigits: string | null; binding: CodeBinding },
): Promise<SmsCodeState> {
  return { phoneMasked: maskPhoneNumber(holder.phoneLastDigits), ...(await sentCodeState(db, deps, holder.binding)) };
}

/** The texted code of a sign-in challenge (the passcode page and the status API). */
export async function signInCodeState(db: Kysely<Database>, deps: ServiceDeps, open: OpenChallenge): Promise<SmsCodeState | null> {
  if (!open.methods.includes('sms')) return null;
  const method = await findSmsMethod(db, open.user, 'active');
  return codeState(db, deps, {
    phoneLastDigits: method?.phone_last_digits ?? null,
    binding: { purpose: SMS_CODE_PURPOSE.sign_in, boundTo: open.challenge.id },
  });
}

/** The status API: `POST /api/v1/sign-in/sms/status {challenge_token}`. */
export async function signInCodeStatus(deps: ServiceDeps, challengeToken: unknown): Promise<Result<SmsCodeState>> {
  const opened = await openChallenge(deps.db, deps, challengeToken);
  if (!opened.ok) return opened;
  const state = await signInCodeState(deps.db, deps, opened.value);
  if (!state) return fail('invalid_request', { field: 'method', message: 'Text messages are not set up for this sign-in.' });
  return ok(state);
}
