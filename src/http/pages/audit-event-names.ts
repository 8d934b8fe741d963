// The audit log in words: every event type the code writes, as the audit page shows
// it (a factor's own events are in its http module, http/factors/). The types
// themselves stay in the CSV and JSON exports, the API and the filter's values;
// audit-event-names.test.ts fails when a type is written without a sentence.
import { HTTP_FACTORS_IN_ORDER } from '../factors/registry.js';

export const AUDIT_EVENT_SENTENCES: Readonly<Record<string, string>> = {
  account_created: 'Account created',
  account_settings_changed: 'Account name or default language changed',
  app_created: 'App added',
  app_deleted: 'App removed',
  app_updated: 'App changed',
  admin_recovery_code_issued: 'One-time recovery code issued by an admin',
  app_access_removed: 'App removed from their allowed apps',
  api_token_created: 'API token made',
  api_token_revoked: 'API token revoked',
  device_trusted: 'Computer trusted',
  email_confirmation_sent: 'Email confirmation code sent',
  email_confirmed: 'Email confirmed',
  invitation_accepted: 'Invitation accepted',
  new_device_sign_in: 'Sign-in from a new computer',
  passcode_failed: 'Wrong passcode',
  passcode_locked: 'Passcodes locked after too many wrong ones',
  password_changed: 'Password changed',
  password_reset: 'Password reset',
  password_reset_requested: 'Password reset requested',
  recovery_code_used: 'Recovery code used',
  recovery_codes_regenerated: 'New recovery codes made',
  role_changed: 'Role changed',
  security_policy_changed: 'Account security settings changed',
  session_revoked: 'Session signed out',
  sessions_revoked: 'Signed out everywhere else',
  sign_in_failed: 'Sign-in failed',
  sign_in_locked: 'Sign-in locked after too many wrong passwords',
  sign_in_unlocked_by_admin: 'Sign-in unlocked by an admin',
  sign_in_password_accepted: 'Password accepted, passcode asked',
  sign_in_step_up: 'Asked for a stronger sign-in by an app',
  sign_in_setup_required: 'Signed in to set up two-factor authentication',
  sign_in_succeeded: 'Signed in',
  sign_out: 'Signed out',
  trusted_devices_forgotten: 'Trusted computers forgotten',
  two_factor_disabled: 'Two-factor authentication turned off',
  two_factor_enabled: 'Two-factor method turned on',
  two_factor_enrolment_started: 'Two-factor set-up started',
  two_factor_preferred_changed: 'Preferred two-factor method changed',
  two_factor_reset_by_admin: 'Two-factor authentication reset by an admin',
  user_created: 'Person added',
  user_invited: 'Person invited',
  user_reactivated: 'Person reactivated',
  user_suspended: 'Person suspended',
  webhook_created: 'Webhook added',
  webhook_deleted: 'Webhook removed',
  webhook_paused: 'Webhook paused after a day of failed deliveries',
  webhook_updated: 'Webhook changed',
  ...Object.fromEntries(HTTP_FACTORS_IN_ORDER.flatMap((factor) => Object.entries(factor.auditEventSentences ?? {}))),
};

/** The sentence for an audit event type. One without a sentence (from a newer version
 * sharing the database) still reads as words: `passcode_unlocked` → "Passcode unlocked". */
export function auditEventSentence(type: string): string {
  if (Object.hasOwn(AUDIT_EVENT_SENTENCES, type)) return AUDIT_EVENT_SENTENCES[type]!;
  const words = type.split('_').filter(Boolean).join(' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}
