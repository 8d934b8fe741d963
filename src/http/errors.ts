// The one table from a failure code to an HTTP status, the API's error body and the
// message a page shows (DESIGN.md, Architecture).
import type { FastifyReply } from 'fastify';
import type { Failure, FailureCode, FailureDetail } from '../domain/failures.js';
import { en, type MessageKey } from '../i18n/messages/en.js';
import { translatorFor, type Translator } from '../i18n/translator.js';

export type ErrorCode = FailureCode | 'payload_too_large' | 'unsupported_media_type' | 'service_unavailable' | 'internal_error' | 'csrf_failed';

interface ErrorEntry {
  status: number;
  message: string;
}

export const ERROR_TABLE: Record<ErrorCode, ErrorEntry> = {
  invalid_request: { status: 400, message: 'The request is not valid.' },
  invalid_credentials: { status: 401, message: 'The account, email or password is not right.' },
  weak_password: { status: 400, message: 'Choose a stronger password.' },
  email_taken: { status: 409, message: 'Someone in this account already uses this email.' },
  slug_taken: { status: 409, message: 'Another account already uses this slug.' },
  account_not_found: { status: 404, message: 'There is no account with this slug.' },
  user_not_found: { status: 404, message: 'There is no such person in this account.' },
  app_not_found: { status: 404, message: 'There is no such app in this account.' },
  host_taken: { status: 409, message: 'Another app already guards this host. Each host can belong to one app only.' },
  invalid_token: { status: 400, message: 'This link is not valid any more. Ask for a new one.' },
  invalid_challenge: { status: 401, message: 'This sign-in has expired. Sign in again.' },
  invalid_code: { status: 400, message: 'That code is not right. Check it and try again.' },
  two_factor_locked: { status: 429, message: 'Too many wrong codes.' },
  rate_limited: { status: 429, message: 'Too many attempts.' },
  confirmation_required: { status: 403, message: 'Confirm with a current passcode, a recovery code or your password.' },
  passcode_required: { status: 403, message: 'Enter a current passcode to continue.' },
  two_factor_already_enabled: { status: 409, message: 'Two-factor authentication is already on with this method.' },
  two_factor_not_enabled: { status: 409, message: 'Two-factor authentication is not on.' },
  two_factor_required_by_account: { status: 403, message: 'Your account requires two-factor authentication, so it cannot be turned off.' },
  two_factor_setup_required: { status: 403, message: 'Set up two-factor authentication first.' },
  email_confirmation_required: { status: 403, message: 'Confirm your email address first.' },
  setup_already_done: { status: 409, message: 'Tessera is already set up. Sign in instead.' },
  forbidden: { status: 403, message: 'You are not allowed to do that.' },
  not_found: { status: 404, message: 'Not found.' },
  cannot_change_self: { status: 403, message: 'You cannot do this to yourself. Ask another admin.' },
  unauthorized: { status: 401, message: 'Sign in first.' },
  person_required: { status: 403, message: 'Only a signed-in person can do this, not an API token.' },
  insufficient_scope: { status: 403, message: 'This API token does not have the scope this needs.' },
  sms_rate_limited: { status: 429, message: 'Too many text messages for now.' },
  sms_unavailable: { status: 409, message: 'Text messages are not available here. Use an authenticator app or a recovery code.' },
  sms_not_delivered: { status: 409, message: 'We could not send a text. Try the app or a recovery code.' },
  phone_not_allowed: { status: 400, message: 'Your account does not allow text messages to this country. Use an authenticator app instead.' },
  webauthn_unavailable: {
    status: 409,
    message: 'Security keys need Tessera to be reached by a domain name over HTTPS (or localhost). Use an authenticator app instead.',
  },
  security_key_required: { status: 403, message: 'Your account requires admins to use a security key or passkey. Add one to continue.' },
  factor_not_allowed: {
    status: 403,
    message: 'Your account requires security keys, so emailed codes cannot be a two-factor method here. Use a security key or an authenticator app.',
  },
  last_two_factor_method: { status: 409, message: 'This is your only two-factor method. Add another one first, or turn two-factor authentication off.' },
  passkey_not_verified: {
    status: 401,
    message: 'Your passkey did not check your PIN, fingerprint or face, so it cannot sign you in alone. Sign in with your email and password.',
  },
  unmet_authentication_requirements: {
    status: 403,
    message: 'This needs a stronger sign-in than you can give now, such as a security key. Ask your admin.',
  },
  csrf_failed: { status: 403, message: 'This form has expired. Reload the page and try again.' },
  payload_too_large: { status: 413, message: 'The request body is too large.' },
  unsupported_media_type: { status: 415, message: 'Send JSON (Content-Type: application/json).' },
  service_unavailable: { status: 503, message: 'Tessera cannot reach a service it needs. Try again in a moment.' },
  internal_error: { status: 500, message: 'Something went wrong on our side.' },
};

/** Details services give in English (`Failure.message`): each `detail.*` message of
 * the English catalogue, by its words, so that a fixed detail needs only its key in the
 * catalogues. A detail with values comes with its key (`Failure.detail`); one that has
 * neither gives way to the code's own message in other languages (English readers keep
 * the detail). */
export const DETAIL_KEYS: ReadonlyMap<string, MessageKey> = new Map(
  (Object.keys(en) as MessageKey[]).filter((key) => key.startsWith('detail.')).map((key) => [en[key], key]),
);

function isMessageKey(key: string): key is MessageKey {
  return Object.hasOwn(en, key);
}

/** A detail with values in the reader's words; a `country` value is an ISO code, named
 * in the reader's language. Null for a key no catalogue has. */
export function detailText(detail: FailureDetail, t: Translator): string | null {
  if (!isMessageKey(detail.key)) return null;
  const values = { ...detail.values };
  if (typeof values.country === 'string' && /^[A-Z]{2}$/.test(values.country)) {
    values.country = new Intl.DisplayNames([t.language], { type: 'region', fallback: 'code' }).of(values.country) ?? values.country;
  }
  return t.t(detail.key, values);
}

const ENGLISH = translatorFor('en');

export function retryMessage(seconds: number, t: Translator = ENGLISH): string {
  if (seconds < 60) return t.t('error.retryInSeconds', { seconds });
  // Past two hours, hours read better than "1,440 minutes" (a daily text quota).
  if (seconds < 2 * 60 * 60) return t.t('error.retryInMinutes', { minutes: Math.ceil(seconds / 60) });
  return t.t('error.retryInHours', { hours: Math.ceil(seconds / 3600) });
}

/** Failures that are about waiting: their message ends with when to try again. */
const WAIT_CODES: ReadonlySet<ErrorCode> = new Set(['two_factor_locked', 'rate_limited']);

/** A failure in the reader's words (English unless `t` says otherwise). */
export function messageFor(
  failure: Failure | { code: ErrorCode; message?: string; detail?: FailureDetail; retryAfterSeconds?: number },
  t: Translator = ENGLISH,
): string {
  if (failure.message) {
    if (t.language === 'en') return failure.message;
    const translated = failure.detail ? detailText(failure.detail, t) : null;
    if (translated !== null) return translated;
    const detail = DETAIL_KEYS.get(failure.message);
    if (detail) return t.t(detail);
  }
  const base = t.t(`error.${failure.code}`);
  if (failure.retryAfterSeconds !== undefined) return `${base} ${retryMessage(failure.retryAfterSeconds, t)}`;
  return WAIT_CODES.has(failure.code) ? `${base} ${t.t('error.retryLater')}` : base;
}

export interface ApiErrorBody {
  error: { code: ErrorCode; message: string; field?: string; retry_after_seconds?: number };
}

/** The API's error body: the code stays English, the message follows `Accept-Language`. */
export function apiErrorBody(
  failure: Failure | { code: ErrorCode; message?: string; detail?: FailureDetail; field?: string; retryAfterSeconds?: number },
  t: Translator = ENGLISH,
): ApiErrorBody {
  const body: ApiErrorBody = { error: { code: failure.code, message: messageFor(failure, t) } };
  if (failure.field) body.error.field = failure.field;
  if (failure.retryAfterSeconds !== undefined) body.error.retry_after_seconds = failure.retryAfterSeconds;
  return body;
}

export function sendApiFailure(
  reply: FastifyReply,
  failure: Failure | { code: ErrorCode; message?: string; detail?: FailureDetail; field?: string; retryAfterSeconds?: number },
): FastifyReply {
  if (failure.retryAfterSeconds !== undefined) reply.header('retry-after', String(failure.retryAfterSeconds));
  return reply.code(ERROR_TABLE[failure.code].status).send(apiErrorBody(failure, reply.request.i18n ?? ENGLISH));
}
