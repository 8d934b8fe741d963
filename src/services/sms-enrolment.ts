// Turning on text messages (DESIGN.md row 2): a phone number, validated and kept as
// E.164 (encrypted, only its last 2 digits in clear), a code texted to it, activation
// once the code comes back. Adding SMS while 2FA is on, or changing the number, adds a
// factor: it needs a confirmation (a current passcode) first, then the new number's
// code (SECURITY.md, sensitive actions).
import type { Kysely } from 'kysely';
import { encryptSecret, sealedPlace } from '../crypto/secret-box.js';
import { newId } from '../crypto/tokens.js';
import { fail, ok, type Result } from '../domain/failures.js';
import { isCountryCode, normalizePhoneNumber } from '../domain/phone-numbers.js';
import type { SmsDelivery } from '../domain/sms-codes.js';
import { appendAuditEvent } from '../store/audit.js';
import type { Database, TwoFactorMethod } from '../store/schema.js';
import { findSmsMethod } from '../store/sms.js';
import { NO_METHOD_DETAILS, deleteMethod, deletePendingMethods, insertMethod } from '../store/two-factor.js';
import { addingFactorNeedsConfirmation, confirm, confirmPasswordFirst, type Confirmation } from './confirmation.js';
import type { RequestContext, ServiceDeps } from './deps.js';
import type { UserRef } from '../store/users.js';
import { needsEmailConfirmation } from './email-confirmation.js';
import { lockUserRow, verifySecondFactor } from './second-factor.js';
import type { SignedIn } from './sessions.js';
import { SMS_CODE_PURPOSE } from './factors/text-message.js';
import { sentCodeState } from './one-time-codes.js';
import { checkPhoneCountry, codeState, cooldownFailure, smsAvailable, smsQuotasAllow, textEnrolmentCode, type SmsCodeSent } from './sms-sending.js';
import { activateFactor, enrolmentAllowed, type EnrolmentDone } from './two-factor.js';
import { deleteTrustedDevices } from '../store/trusted-devices.js';

/** An abandoned number is forgotten after 15 minutes, like an abandoned app enrolment. */
const ENROLMENT_LIFETIME_IN_MILLISECONDS = 15 * 60 * 1000;

export interface SmsEnrolmentStarted extends SmsCodeSent {
  /** The number being verified replaces an enrolled one. */
  replacesNumber: boolean;
}

export interface SmsEnrolmentState {
  phoneMasked: string;
  resendAfterSeconds: number;
  delivery: SmsDelivery;
  expiresAt: number;
  replacesNumber: boolean;
}

export interface SmsEnrolmentInput {
  phone: unknown;
  /** ISO country for a number typed without +, defaulting to the account's country. */
  country?: unknown;
  /** Needed when 2FA is already on: a current passcode or a recovery code. */
  confirmation?: Confirmation;
}

async function livePending(db: Kysely<Database>, deps: ServiceDeps, user: UserRef): Promise<TwoFactorMethod | null> {
  const pending = await findSmsMethod(db, user, 'pending');
  return pending && (pending.expires_at ?? 0) > deps.now() ? pending : null;
}

/** `POST /api/v1/me/two-factor/sms`: starts verifying a number and texts it a code. */
export async function startSmsEnrolment(
  deps: ServiceDeps,
  signedIn: SignedIn,
  input: SmsEnrolmentInput,
  context: RequestContext,
): Promise<Result<SmsEnrolmentStarted>> {
  if (needsEmailConfirmation(signedIn)) return fail('email_confirmation_required');
  if (!enrolmentAllowed(signedIn, 'sms')) return fail('security_key_required');
  if (!smsAvailable(deps)) return fail('sms_unavailable');
  if (input.country !== undefined && input.country !== '' && !isCountryCode(input.country)) {
    return fail('invalid_request', { field: 'country', message: 'Choose a country from the list.' });
  }
  const country = isCountryCode(input.country) ? input.country : signedIn.account.country;
  const phone = normalizePhoneNumber(input.phone, country);
  if (!phone.ok) return phone;
  const allowed = checkPhoneCountry(signedIn.account, phone.value.country);
  if (!allowed.ok) return allowed;
  // A confirmation that is given is always checked, even where none is needed.
  const passwordChecked = await confirmPasswordFirst(deps, signedIn, input.confirmation);
  if (!passwordChecked.ok) return passwordChecked;
  return deps.db.transaction().execute(async (trx): Promise<Result<SmsEnrolmentStarted>> => {
    const user = await lockUserRow(trx, deps, signedIn.user);
    if (!user) return fail('unauthorized');
    const now = deps.now();
    // Starting again voids the previous number's code; the cooldown still holds, so
    // restarting is no way around "Send again". Checked before the confirmation, so a
    // refused start does not spend a recovery code.
    const previous = await livePending(trx, deps, user);
    const previousCode = previous ? await sentCodeState(trx, deps, { purpose: SMS_CODE_PURPOSE.enrolment, boundTo: previous.id }) : null;
    const cooldown = cooldownFailure(previousCode?.sentAt ?? null, now);
    if (!cooldown.ok) return cooldown;
    const quota = await smsQuotasAllow(deps, { account: signedIn.account, user, e164: phone.value.e164, context });
    if (!quota.ok) return quota;
    if (addingFactorNeedsConfirmation(signedIn, user, now) || input.confirmation !== undefined) {
      const confirmed = await confirm(trx, deps, { ...signedIn, user }, input.confirmation, context, passwordChecked.value);
      if (!confirmed.ok) return confirmed;
    }
    await deletePendingMethods(trx, user, 'sms');
    const methodId = newId();
    const method: TwoFactorMethod = {
      ...NO_METHOD_DETAILS,
      id: methodId,
      account_id: signedIn.account.id,
      user_id: user.id,
      type: 'sms',
      status: 'pending',
      phone_ciphertext: encryptSecret(deps.keys, phone.value.e164, sealedPlace('two_factor_methods', 'phone_ciphertext', methodId)),
      phone_last_digits: phone.value.lastDigits,
      created_at: now,
      expires_at: now + ENROLMENT_LIFETIME_IN_MILLISECONDS,
    };
    await insertMethod(trx, method);
    const sent = await textEnrolmentCode(trx, deps, { account: signedIn.account, user, method, context });
    if (!sent.ok) {
      // Nothing was texted: no pending number is left behind (the confirmation, if
      // any, stays spent like any used passcode).
      await deleteMethod(trx, user, method.id);
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
        details: { method: 'sms', phone_last_digits: phone.value.lastDigits },
      },
      now,
    );
    const replacesNumber = (await findSmsMethod(trx, user, 'active')) !== undefined;
    return ok({ ...sent.value, replacesNumber });
  });
}

/** `POST /api/v1/me/two-factor/sms/resend`: a new code to the number being verified
 * (after the cooldown; the previous code stops working). */
export async function resendSmsEnrolmentCode(deps: ServiceDeps, signedIn: SignedIn, context: RequestContext): Promise<Result<SmsCodeSent>> {
  if (needsEmailConfirmation(signedIn)) return fail('email_confirmation_required');
  if (!smsAvailable(deps)) return fail('sms_unavailable');
  return deps.db.transaction().execute(async (trx): Promise<Result<SmsCodeSent>> => {
    const user = await lockUserRow(trx, deps, signedIn.user);
    const pending = user ? await livePending(trx, deps, user) : null;
    if (!user || !pending) return fail('invalid_request', { message: 'There is no phone number being verified. Enter your number again.' });
    return textEnrolmentCode(trx, deps, { account: signedIn.account, user, method: pending, context });
  });
}

/** The number being verified, if any (the enrolment page, and `GET /api/v1/me/two-factor/sms`). */
export async function pendingSmsEnrolment(deps: ServiceDeps, signedIn: SignedIn): Promise<SmsEnrolmentState | null> {
  const pending = await livePending(deps.db, deps, signedIn.user);
  if (!pending) return null;
  const state = await codeState(deps.db, deps, {
    phoneLastDigits: pending.phone_last_digits,
    binding: { purpose: SMS_CODE_PURPOSE.enrolment, boundTo: pending.id },
  });
  const replacesNumber = (await findSmsMethod(deps.db, signedIn.user, 'active')) !== undefined;
  return { ...state, expiresAt: pending.expires_at!, replacesNumber };
}

/** The enrolled number, masked, if any. */
export async function enrolledPhone(
  deps: ServiceDeps,
  user: UserRef,
): Promise<{ phoneMasked: string; resendAfterSeconds: number; delivery: SmsDelivery } | null> {
  const active = await findSmsMethod(deps.db, user, 'active');
  if (!active) return null;
  const state = await codeState(deps.db, deps, {
    phoneLastDigits: active.phone_last_digits,
    binding: { purpose: SMS_CODE_PURPOSE.confirmation, boundTo: active.id },
  });
  return { phoneMasked: state.phoneMasked, resendAfterSeconds: state.resendAfterSeconds, delivery: state.delivery };
}

/** `POST /api/v1/me/two-factor/sms/verify`: the texted code turns the number on. A
 * wrong code counts on the person's one failure counter, like any passcode. */
export async function verifySmsEnrolment(deps: ServiceDeps, signedIn: SignedIn, rawCode: unknown, context: RequestContext): Promise<Result<EnrolmentDone>> {
  if (needsEmailConfirmation(signedIn)) return fail('email_confirmation_required');
  return deps.db.transaction().execute(async (trx): Promise<Result<EnrolmentDone>> => {
    const pending = await livePending(trx, deps, signedIn.user);
    if (!pending) return fail('invalid_code', { field: 'code', message: 'This phone number setup has expired. Enter your number again.' });
    const verified = await verifySecondFactor(trx, deps, {
      user: signedIn.user,
      factor: { method: 'sms', code: typeof rawCode === 'string' ? rawCode : '' },
      allowed: ['sms'],
      use: { purpose: 'enrolment', boundTo: pending.id, context },
      context,
    });
    if (!verified.ok) return verified;
    const now = deps.now();
    const replaced = await findSmsMethod(trx, signedIn.user, 'active');
    if (replaced) {
      // A new number replaces the old one: the old phone may be lost or in other hands,
      // so the computers trusted so far are forgotten too (SECURITY.md, trusted computers).
      await deleteMethod(trx, signedIn.user, replaced.id);
      await deleteTrustedDevices(trx, signedIn.user);
      await appendAuditEvent(
        trx,
        {
          accountId: signedIn.account.id,
          type: 'two_factor_phone_replaced',
          actorUserId: signedIn.user.id,
          subjectUserId: signedIn.user.id,
          ip: context.ip,
          userAgent: context.userAgent,
          details: { old_last_digits: replaced.phone_last_digits, new_last_digits: pending.phone_last_digits },
        },
        now,
      );
    }
    const done = await activateFactor(trx, deps, signedIn, { methodId: pending.id, type: 'sms', lastUsedStep: null, context });
    return done;
  });
}
