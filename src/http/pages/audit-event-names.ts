// The audit log in words: every event type the code writes, as the audit page shows
// it in the reader's language (`audit.event.<type>` in the catalogues; a factor's own
// events are in its http module, http/factors/). The types themselves stay in the CSV
// and JSON exports, the API and the filter's values; audit-event-names.test.ts fails
// when a type is written without a sentence.
import { en, type MessageKey } from '../../i18n/messages/en.js';
import { translatorFor, type Translator } from '../../i18n/translator.js';
import { HTTP_FACTORS_IN_ORDER } from '../factors/registry.js';

/** Each event type's message. */
const AUDIT_EVENT_KEYS: Readonly<Record<string, MessageKey>> = {
  account_created: 'audit.event.account_created',
  account_settings_changed: 'audit.event.account_settings_changed',
  app_created: 'audit.event.app_created',
  app_deleted: 'audit.event.app_deleted',
  app_updated: 'audit.event.app_updated',
  admin_recovery_code_issued: 'audit.event.admin_recovery_code_issued',
  app_access_removed: 'audit.event.app_access_removed',
  api_token_created: 'audit.event.api_token_created',
  api_token_revoked: 'audit.event.api_token_revoked',
  device_trusted: 'audit.event.device_trusted',
  email_confirmation_sent: 'audit.event.email_confirmation_sent',
  email_confirmed: 'audit.event.email_confirmed',
  invitation_accepted: 'audit.event.invitation_accepted',
  new_device_sign_in: 'audit.event.new_device_sign_in',
  passcode_failed: 'audit.event.passcode_failed',
  passcode_locked: 'audit.event.passcode_locked',
  password_changed: 'audit.event.password_changed',
  password_reset: 'audit.event.password_reset',
  password_reset_requested: 'audit.event.password_reset_requested',
  recovery_code_used: 'audit.event.recovery_code_used',
  recovery_codes_regenerated: 'audit.event.recovery_codes_regenerated',
  role_changed: 'audit.event.role_changed',
  security_policy_changed: 'audit.event.security_policy_changed',
  session_revoked: 'audit.event.session_revoked',
  sessions_revoked: 'audit.event.sessions_revoked',
  sign_in_failed: 'audit.event.sign_in_failed',
  sign_in_locked: 'audit.event.sign_in_locked',
  sign_in_unlocked_by_admin: 'audit.event.sign_in_unlocked_by_admin',
  sign_in_password_accepted: 'audit.event.sign_in_password_accepted',
  sign_in_step_up: 'audit.event.sign_in_step_up',
  sign_in_setup_required: 'audit.event.sign_in_setup_required',
  sign_in_succeeded: 'audit.event.sign_in_succeeded',
  sign_out: 'audit.event.sign_out',
  trusted_devices_forgotten: 'audit.event.trusted_devices_forgotten',
  two_factor_disabled: 'audit.event.two_factor_disabled',
  two_factor_enabled: 'audit.event.two_factor_enabled',
  two_factor_enrolment_started: 'audit.event.two_factor_enrolment_started',
  two_factor_preferred_changed: 'audit.event.two_factor_preferred_changed',
  two_factor_reset_by_admin: 'audit.event.two_factor_reset_by_admin',
  user_created: 'audit.event.user_created',
  user_invited: 'audit.event.user_invited',
  user_reactivated: 'audit.event.user_reactivated',
  user_suspended: 'audit.event.user_suspended',
  webhook_created: 'audit.event.webhook_created',
  webhook_deleted: 'audit.event.webhook_deleted',
  webhook_paused: 'audit.event.webhook_paused',
  webhook_updated: 'audit.event.webhook_updated',
  ...Object.fromEntries(HTTP_FACTORS_IN_ORDER.flatMap((factor) => Object.entries(factor.auditEventSentences ?? {}))),
};

/** Each event type's sentence in English. */
export const AUDIT_EVENT_SENTENCES: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(AUDIT_EVENT_KEYS).map(([type, key]) => [type, en[key]]),
);

const ENGLISH = translatorFor('en');

/** The sentence for an audit event type, in `t`'s language. One without a sentence (from
 * a newer version sharing the database) still reads as words: `passcode_unlocked` →
 * "Passcode unlocked". */
export function auditEventSentence(type: string, t: Translator = ENGLISH): string {
  if (Object.hasOwn(AUDIT_EVENT_KEYS, type)) return t.t(AUDIT_EVENT_KEYS[type]!);
  const words = type.split('_').filter(Boolean).join(' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}
