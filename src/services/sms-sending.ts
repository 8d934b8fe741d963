// Texting a code: only after a correct password (a sign-in challenge) or by a
// signed-in person to their own number (SECURITY.md, anti-pumping). Every text passes
// the cooldown and all the quotas first; past one, the answer is 429 and nothing is
// written to the outbox, so no provider is ever called for it. The text itself goes
// through the outbox in the same transaction (delivered by the worker, retried there).
import type { Kysely } from 'kysely';
import { decryptSecret, sealedPlace } from '../crypto/secret-box.js';
import { hmacHex, newNumericCode } from '../crypto/tokens.js';
import { fail, ok, type Result } from '../domain/failures.js';
import { limitKeyForAddress } from '../domain/network.js';
import { isCountryAllowed, maskPhoneNumber, normalizePhoneNumber, parseCountryList } from '../domain/phone-numbers.js';
import { SMS_CODE_LIFETIME_IN_MILLISECONDS, SMS_QUOTAS, deliveryOf, resendWaitInSeconds, smsCodeText, type SmsDelivery } from '../domain/sms-codes.js';
import type { Limiter } from '../limits/limits.js';
import { appendAuditEvent } from '../store/audit.js';
import { enqueueMessage } from '../store/outbox.js';
import type { Account, Database, TwoFactorMethod, User } from '../store/schema.js';
import { findMessageState, findSmsMethod, saveChallengeCode, saveMethodCode, type StoredSmsCode } from '../store/sms.js';
import { lockFlow } from '../store/sign-in-flows.js';
import { openChallenge, type OpenChallenge } from './challenge.js';
import type { RequestContext, ServiceDeps } from './deps.js';
import { lockUserRow } from './second-factor.js';
import type { SignedIn } from './sessions.js';
import { smsCodeHmac } from './sms.js';

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
  if (wait === 0) return ok(null);
  return fail('sms_rate_limited', {
    retryAfterSeconds: wait,
    message: `We sent a code a moment ago. You can ask for another in ${wait} second${wait === 1 ? '' : 's'}.`,
  });
}

/** Phone numbers are not put in the limit store in clear (it may be a shared Redis). */
function numberLimitKey(deps: ServiceDeps, e164: string): string {
  return hmacHex(deps.keys.hmacKey, `sms-number:${e164}`).slice(0, 32);
}

interface SmsQuotaInput {
  account: Account;
  user: Pick<User, 'id'>;
  e164: string;
  context: RequestContext;
}

/** Every quota a text is counted in: per person, per number, per client address, the
 * account's daily budget and the deployment's. */
function smsQuotas(deps: ServiceDeps, input: SmsQuotaInput): { name: string; limiter: Limiter; key: string; points?: number }[] {
  const { limits } = deps;
  // An account's budget never exceeds the deployment's, set before or after it.
  const accountBudget = Math.min(input.account.sms_daily_budget ?? SMS_QUOTAS.perAccountDefault.points, deps.config.smsDailyBudget);
  return [
    { name: 'per_person', limiter: limits.smsByUser, key: input.user.id },
    { name: 'per_number', limiter: limits.smsByNumber, key: numberLimitKey(deps, input.e164) },
    { name: 'per_address', limiter: limits.smsByAddress, key: limitKeyForAddress(input.context.ip) },
    { name: 'per_account', limiter: limits.smsByAccount, key: input.account.id, points: accountBudget },
    { name: 'global', limiter: limits.smsGlobal, key: 'all' },
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
async function takeSmsQuota(db: Kysely<Database>, deps: ServiceDeps, input: SmsQuotaInput & { purpose: string }): Promise<Result<null>> {
  const quotas = smsQuotas(deps, input);
  for (const phase of ['check', 'hit'] as const) {
    const refusal = await firstRefusal(quotas, phase);
    if (refusal) {
      await appendAuditEvent(
        db,
        {
          accountId: input.account.id,
          type: 'sms_quota_exceeded',
          actorUserId: input.user.id,
          subjectUserId: input.user.id,
          ip: input.context.ip,
          userAgent: input.context.userAgent,
          details: { quota: refusal.name, purpose: input.purpose },
        },
        deps.now(),
      );
      return fail('sms_rate_limited', { retryAfterSeconds: refusal.retryAfterSeconds });
    }
  }
  return ok(null);
}

/**
 * Everything before a text leaves, inside the caller's transaction: the provider is
 * on, the cooldown has passed, the number's country is allowed, the quotas hold. Then
 * a fresh code is written to the outbox (voiding the previous one through `save`).
 */
async function textCode(
  db: Kysely<Database>,
  deps: ServiceDeps,
  input: {
    account: Account;
    user: Pick<User, 'id'>;
    e164: string;
    lastDigits: string | null;
    lastSentAt: number | null;
    binding: string;
    purpose: 'sms_sign_in_code' | 'sms_enrolment_code' | 'sms_confirmation_code';
    context: RequestContext;
    save: (code: StoredSmsCode) => Promise<void>;
  },
): Promise<Result<SmsCodeSent>> {
  const now = deps.now();
  const cooldown = cooldownFailure(input.lastSentAt, now);
  if (!cooldown.ok) return cooldown;
  const country = normalizePhoneNumber(input.e164, null);
  const allowed = checkPhoneCountry(input.account, country.ok ? country.value.country : null);
  if (!allowed.ok) return allowed;
  const quota = await takeSmsQuota(db, deps, { account: input.account, user: input.user, e164: input.e164, purpose: input.purpose, context: input.context });
  if (!quota.ok) return quota;
  const code = newNumericCode();
  const text = smsCodeText({ code, productName: deps.config.productName, accountName: input.account.name, host: new URL(deps.config.baseUrl).hostname });
  const messageId = await enqueueMessage(
    db,
    deps.keys,
    { accountId: input.account.id, userId: input.user.id, channel: 'sms', purpose: input.purpose, payload: { to: input.e164, subject: '', text } },
    now,
  );
  const expiresAt = now + SMS_CODE_LIFETIME_IN_MILLISECONDS;
  await input.save({ hash: smsCodeHmac(deps, input.binding, code), expiresAt, sentAt: now, messageId });
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
  return ok({ phoneMasked: maskPhoneNumber(input.lastDigits), resendAfterSeconds: resendWaitInSeconds(now, now), expiresAt });
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
    const challenge = await lockFlow(trx, deps.dialect, opened.value.challenge.id);
    const method = await findSmsMethod(trx, opened.value.user.id, 'active');
    if (!challenge || !method) return fail('invalid_challenge');
    return textCode(trx, deps, {
      account: opened.value.account,
      user: opened.value.user,
      e164: phoneOf(deps, method),
      lastDigits: method.phone_last_digits,
      lastSentAt: challenge.sms_sent_at,
      binding: `challenge:${challenge.id}`,
      purpose: 'sms_sign_in_code',
      context,
      save: (code) => saveChallengeCode(trx, challenge.id, code),
    });
  });
}

/** `POST /api/v1/me/two-factor/sms/send`: texts a code to the enrolled number, for a
 * confirmation with method "sms". */
export async function sendConfirmationCode(deps: ServiceDeps, signedIn: SignedIn, context: RequestContext): Promise<Result<SmsCodeSent>> {
  return deps.db.transaction().execute(async (trx): Promise<Result<SmsCodeSent>> => {
    const user = await lockUserRow(trx, deps, signedIn.user);
    const method = user ? await findSmsMethod(trx, user.id, 'active') : undefined;
    if (!user || user.two_factor_enabled !== 1 || !method)
      return fail('two_factor_not_enabled', { message: 'Text messages are not one of your two-factor methods.' });
    if (!smsAvailable(deps)) return fail('sms_unavailable');
    return textCode(trx, deps, {
      account: signedIn.account,
      user,
      e164: phoneOf(deps, method),
      lastDigits: method.phone_last_digits,
      lastSentAt: method.sms_sent_at,
      binding: `method:${method.id}`,
      purpose: 'sms_confirmation_code',
      context,
      save: (code) => saveMethodCode(trx, method.id, code),
    });
  });
}

/** Texts a code to a number being verified (the enrolment's own row). */
export function textEnrolmentCode(
  trx: Kysely<Database>,
  deps: ServiceDeps,
  input: { account: Account; user: Pick<User, 'id'>; method: TwoFactorMethod; context: RequestContext },
): Promise<Result<SmsCodeSent>> {
  return textCode(trx, deps, {
    account: input.account,
    user: input.user,
    e164: phoneOf(deps, input.method),
    lastDigits: input.method.phone_last_digits,
    lastSentAt: input.method.sms_sent_at,
    binding: `method:${input.method.id}`,
    purpose: 'sms_enrolment_code',
    context: input.context,
    save: (code) => saveMethodCode(trx, input.method.id, code),
  });
}

/** Where the latest code stands, for a page or a status answer. */
export async function codeState(
  db: Kysely<Database>,
  deps: ServiceDeps,
  holder: { phoneLastDigits: string | null; sentAt: number | null; messageId: string | null },
): Promise<SmsCodeState> {
  return {
    phoneMasked: maskPhoneNumber(holder.phoneLastDigits),
    sentAt: holder.sentAt,
    resendAfterSeconds: resendWaitInSeconds(holder.sentAt, deps.now()),
    delivery: deliveryOf(await findMessageState(db, holder.messageId)),
  };
}

/** The texted code of a sign-in challenge (the passcode page and the status API). */
export async function signInCodeState(db: Kysely<Database>, deps: ServiceDeps, open: OpenChallenge): Promise<SmsCodeState | null> {
  if (!open.methods.includes('sms')) return null;
  const method = await findSmsMethod(db, open.user.id, 'active');
  return codeState(db, deps, {
    phoneLastDigits: method?.phone_last_digits ?? null,
    sentAt: open.challenge.sms_sent_at,
    messageId: open.challenge.sms_message_id,
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
