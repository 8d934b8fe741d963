// Expected failures are values, not exceptions (DESIGN.md, Architecture). The HTTP
// layer maps each code to a status, an API error body and a page message.
export type FailureCode =
  | 'invalid_request'
  | 'invalid_credentials'
  | 'weak_password'
  | 'email_taken'
  | 'slug_taken'
  | 'account_not_found'
  | 'user_not_found'
  | 'app_not_found'
  | 'host_taken'
  | 'invalid_token'
  | 'invalid_challenge'
  | 'invalid_code'
  | 'two_factor_locked'
  | 'rate_limited'
  | 'confirmation_required'
  | 'passcode_required'
  | 'two_factor_already_enabled'
  | 'two_factor_not_enabled'
  | 'two_factor_required_by_account'
  | 'two_factor_setup_required'
  | 'email_confirmation_required'
  | 'setup_already_done'
  | 'forbidden'
  | 'not_found'
  | 'cannot_change_self'
  | 'unauthorized'
  | 'sms_rate_limited'
  | 'sms_unavailable'
  | 'sms_not_delivered'
  | 'phone_not_allowed'
  | 'webauthn_unavailable'
  | 'security_key_required'
  | 'factor_not_allowed'
  | 'last_two_factor_method'
  | 'unmet_authentication_requirements'
  | 'passkey_not_verified'
  | 'person_required'
  | 'insufficient_scope';

/** The words of a detail in every language: a message key (`detail.*`, checked against
 * the English catalogue by a test) and the values its placeholders take. Plain data, so
 * the domain needs no translator; the HTTP layer words it in the reader's language. */
export interface FailureDetail {
  key: string;
  values?: Record<string, string | number>;
}

export interface Failure {
  code: FailureCode;
  /** Overrides the table's default message where a detail helps the user (English). */
  message?: string;
  /** The same detail for other languages, where `message` holds values; a fixed
   * `message` needs none (http/errors.ts finds its key by its English words). */
  detail?: FailureDetail;
  /** Which input field the failure is about, for forms. */
  field?: string;
  retryAfterSeconds?: number;
}

export type Result<T> = { ok: true; value: T } | { ok: false; failure: Failure };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T = never>(code: FailureCode, extra: Omit<Failure, 'code'> = {}): Result<T> {
  return { ok: false, failure: { code, ...extra } };
}
