// The one description of every table and column. Times are milliseconds since the
// Unix epoch (integer/bigint in both dialects) and flags are 0/1 integers, so SQLite
// and PostgreSQL return the same JavaScript values.
import type { Generated, Insertable, Selectable, Updateable } from 'kysely';
import type { FactorType } from '../domain/factors.js';

export type Role = 'admin' | 'agent' | 'end_user';
export type TwoFactorRequirement = 'off' | 'staff';
/** Defined once, by the factor list (domain/factors.ts). */
export type TwoFactorMethodType = FactorType;
export type SessionKind = 'full' | 'setup';
/** passkey: waiting for a passkey, nobody known yet; second_factor: a passcode or key is
 * owed; enrolment: a setup-only session enrols one. */
export type FlowState = 'passkey' | 'second_factor' | 'enrolment' | 'done' | 'expired' | 'locked';
export type FirstFactor = 'password' | 'password_reset' | 'invitation' | 'setup';
export type ActionTokenPurpose = 'invitation' | 'password_reset' | 'setup' | 'email_confirmation';
/** `backchannel`: an OpenID Connect back-channel logout call to an app. */
export type OutboxChannel = 'email' | 'sms' | 'backchannel';
export type OutboxStatus = 'pending' | 'sent' | 'failed';

export interface AccountTable {
  id: string;
  slug: string;
  name: string;
  owner_user_id: string | null;
  require_two_factor: TwoFactorRequirement;
  require_two_factor_since: number | null;
  grace_days: number;
  session_days: number;
  trusted_device_days: number;
  country: string;
  sms_daily_budget: number | null;
  sms_allowed_countries: string | null;
  /** 1: admins must sign in with a security key or passkey. */
  require_phishing_resistant_admins: Generated<number>;
  /** 1 (the default): people may sign in with a passkey alone. */
  passkey_sign_in: Generated<number>;
  /** The language of people who chose none (domain/languages.ts), null: their browser's. */
  default_language: Generated<string | null>;
  created_at: number;
  updated_at: number;
}

export interface UserTable {
  id: string;
  account_id: string;
  email: string;
  name: string;
  role: Role;
  password_hash: string | null;
  password_changed_at: number | null;
  suspended_at: number | null;
  two_factor_enabled: number;
  two_factor_enabled_at: number | null;
  preferred_method: TwoFactorMethodType | null;
  two_factor_setup_required: number;
  failed_passcode_count: number;
  passcode_locked_until: number | null;
  passcode_lock_count: number;
  email_confirmed_at: number | null;
  last_sign_in_at: number | null;
  last_passcode_used_at: number | null;
  /** The person's language (domain/languages.ts), null: the account's default. */
  language: Generated<string | null>;
  /** An IANA time zone name, null: UTC. */
  time_zone: Generated<string | null>;
  created_at: number;
  updated_at: number;
}

export interface SessionTable {
  id: string;
  account_id: string;
  user_id: string;
  secret_hash: string;
  kind: SessionKind;
  created_at: number;
  expires_at: number;
  last_seen_at: number;
  ip: string | null;
  user_agent: string | null;
  passcode_verified_at: number | null;
  via_trusted_device: number;
  trusted_device_id: string | null;
  email_confirmed_at: number | null;
  /** The sign-in flow that made this session, and what it proved (RFC 8176 `amr` as a
   * JSON array; `acr` one of domain/sign-in-decision.ts's levels). */
  flow_id: Generated<string | null>;
  amr: Generated<string | null>;
  acr: Generated<string | null>;
}

/** One sign-in, from its first proof to its session (domain/sign-in-decision.ts decides
 * each step). `proofs` is a JSON array of `{kind, at}`. */
export interface SignInFlowTable {
  id: string;
  account_id: string | null;
  user_id: string | null;
  secret_hash: string;
  state: FlowState;
  proofs: string;
  /** Where the person goes once signed in: any length, never read from a later request. */
  return_to: string | null;
  required_acr: string | null;
  max_age_seconds: number | null;
  prompt_login: Generated<number>;
  attempts: number;
  created_at: number;
  expires_at: number;
  completed_at: number | null;
  ip: string | null;
  user_agent: string | null;
  /** A passkey sign-in's challenge, until the one request that checks it takes it. */
  passkey_challenge: Generated<string | null>;
}

export interface TwoFactorMethodTable {
  id: string;
  account_id: string;
  user_id: string;
  type: TwoFactorMethodType;
  status: 'pending' | 'active';
  name: string | null;
  secret_ciphertext: string | null;
  algorithm: string | null;
  digits: number | null;
  period_seconds: number | null;
  last_used_step: number | null;
  phone_ciphertext: string | null;
  phone_last_digits: string | null;
  sms_code_hash: string | null;
  sms_code_expires_at: number | null;
  sms_sent_at: number | null;
  /** The outbox message carrying the latest texted code. */
  sms_message_id: string | null;
  /** A security key's credential id (base64url), public key (COSE, base64url),
   * signature counter, transports (JSON array) and backup state. */
  webauthn_credential_id: Generated<string | null>;
  webauthn_public_key: Generated<string | null>;
  webauthn_sign_count: Generated<number | null>;
  webauthn_transports: Generated<string | null>;
  webauthn_backed_up: Generated<number | null>;
  /** 1: added as a passkey (discoverable, user verification), which signs in alone. */
  webauthn_passkey: Generated<number>;
  webauthn_device_type: Generated<string | null>;
  created_at: number;
  activated_at: number | null;
  last_used_at: number | null;
  expires_at: number | null;
}

/** passkey_registration: adding a passkey (discoverable, user verification). */
export type WebauthnPurpose = 'registration' | 'passkey_registration' | 'sign_in' | 'confirmation';

export interface WebauthnChallengeTable {
  id: string;
  account_id: string;
  user_id: string;
  purpose: WebauthnPurpose;
  /** The sign-in challenge (purpose sign_in) or the session it was made for. */
  bound_to: string;
  challenge: string;
  created_at: number;
  expires_at: number;
}

export interface RecoveryCodeTable {
  id: string;
  account_id: string;
  user_id: string;
  code_hmac: string;
  kind: 'user' | 'admin';
  created_at: number;
  used_at: number | null;
  expires_at: number | null;
}

export interface TrustedDeviceTable {
  id: string;
  account_id: string;
  user_id: string;
  secret_hash: string;
  browser: string;
  ip: string | null;
  created_at: number;
  last_used_at: number;
  expires_at: number;
}

export interface KnownDeviceTable {
  id: string;
  account_id: string;
  user_id: string;
  device_id_hash: string | null;
  browser: string;
  network: string | null;
  first_seen_at: number;
  last_seen_at: number;
}

export interface ActionTokenTable {
  id: string;
  account_id: string | null;
  user_id: string | null;
  purpose: ActionTokenPurpose;
  secret_hash: string;
  attempts: number;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

/** What a one-time code was sent for; `bound_to` names the thing it is bound to. */
export type OneTimeCodePurpose =
  /** Forced first enrolment's emailed code; bound to the person. */
  | 'email_confirmation'
  /** Texted codes: a sign-in challenge, a number being verified, the enrolled number (confirmations). */
  | 'sms_sign_in'
  | 'sms_enrolment'
  | 'sms_confirmation'
  /** Emailed codes as a second factor: the same three uses. */
  | 'email_sign_in'
  | 'email_enrolment'
  | 'email_confirmation_code';

export interface OneTimeCodeTable {
  id: string;
  account_id: string;
  user_id: string;
  purpose: OneTimeCodePurpose;
  bound_to: string;
  code_hmac: string;
  sent_at: number;
  expires_at: number;
  /** Wrong guesses spent on this code. */
  attempts: Generated<number>;
  used_at: number | null;
  /** The outbox message that carries it. */
  message_id: string | null;
}

export interface AuditEventTable {
  id: string;
  account_id: string | null;
  actor_user_id: string | null;
  subject_user_id: string | null;
  type: string;
  ip: string | null;
  user_agent: string | null;
  reason: string | null;
  details: string | null;
  created_at: number;
  /** The API token the actor acted through (the actor is the token's creator). */
  actor_token_id: string | null;
}

export interface OutboxMessageTable {
  id: string;
  account_id: string | null;
  user_id: string | null;
  channel: OutboxChannel;
  purpose: string;
  payload_ciphertext: string | null;
  status: OutboxStatus;
  attempts: number;
  next_attempt_at: number;
  claimed_until: number | null;
  sent_at: number | null;
  last_error: string | null;
  created_at: number;
}

export type AppKind = 'confidential' | 'public' | 'proxy';

/** An app of an account (DESIGN.md rows 16, 17); its id is the OpenID Connect client_id.
 * The URI and role lists are JSON arrays. */
export interface AppTable {
  id: string;
  account_id: string;
  name: string;
  kind: AppKind;
  redirect_uris: string;
  post_logout_redirect_uris: string;
  backchannel_logout_uri: string | null;
  /** A proxy app's host (forward-auth). */
  host: string | null;
  first_party: number;
  allowed_roles: string;
  required_acr: string | null;
  /** SHA-256 of a confidential app's secret. */
  secret_hash: string | null;
  created_by_user_id: string | null;
  created_at: number;
  updated_at: number;
}

/** What oidc-provider stores; `key` is an HMAC of the model's id (a bearer secret for
 * codes, tokens, sessions and interactions). Times in milliseconds. */
export interface OidcRecordTable {
  model: string;
  key: string;
  payload: string;
  grant_id: string | null;
  uid: string | null;
  /** The person (oidc-provider's accountId, our user id). */
  person_id: string | null;
  client_id: string | null;
  expires_at: number | null;
  consumed_at: number | null;
}

export interface OidcSigningKeyTable {
  id: string;
  alg: string;
  public_jwk: string;
  private_key_ciphertext: string;
  created_at: number;
  signs_from: number;
  retires_at: number | null;
}

export interface Database {
  accounts: AccountTable;
  users: UserTable;
  sessions: SessionTable;
  sign_in_flows: SignInFlowTable;
  two_factor_methods: TwoFactorMethodTable;
  webauthn_challenges: WebauthnChallengeTable;
  recovery_codes: RecoveryCodeTable;
  trusted_devices: TrustedDeviceTable;
  known_devices: KnownDeviceTable;
  action_tokens: ActionTokenTable;
  one_time_codes: OneTimeCodeTable;
  audit_events: AuditEventTable;
  outbox_messages: OutboxMessageTable;
  apps: AppTable;
  oidc_records: OidcRecordTable;
  oidc_signing_keys: OidcSigningKeyTable;
  api_tokens: ApiTokenTable;
  webhooks: WebhookTable;
  webhook_deliveries: WebhookDeliveryTable;
}

export type Account = Selectable<AccountTable>;
export type User = Selectable<UserTable>;
export type Session = Selectable<SessionTable>;
export type SignInFlow = Selectable<SignInFlowTable>;
export type TwoFactorMethod = Selectable<TwoFactorMethodTable>;
export type RecoveryCode = Selectable<RecoveryCodeTable>;
export type TrustedDevice = Selectable<TrustedDeviceTable>;
export type ActionToken = Selectable<ActionTokenTable>;
export type OneTimeCode = Selectable<OneTimeCodeTable>;
export type AuditEvent = Selectable<AuditEventTable>;
export type OutboxMessage = Selectable<OutboxMessageTable>;
export type App = Selectable<AppTable>;
export type OidcSigningKey = Selectable<OidcSigningKeyTable>;
export type NewUser = Insertable<UserTable>;
export type UserUpdate = Updateable<UserTable>;
export type { Generated };

/** An account's token for the admin API (DESIGN.md row 20). `scopes` is a JSON array. */
export interface ApiTokenTable {
  id: string;
  account_id: string;
  name: string;
  scopes: string;
  secret_hash: string;
  created_by_user_id: string;
  created_at: number;
  expires_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

export type WebhookStatus = 'active' | 'paused';

/** An account's webhook endpoint. `events` is a JSON array; the secret is sealed. */
export interface WebhookTable {
  id: string;
  account_id: string;
  url: string;
  events: string;
  secret_ciphertext: string;
  status: WebhookStatus;
  failing_since: number | null;
  created_by_user_id: string | null;
  created_at: number;
  updated_at: number;
}

/** `paused`: held while its webhook is paused, sent once it is resumed. */
export type WebhookDeliveryStatus = 'pending' | 'paused' | 'delivered' | 'failed';

/** One event for one webhook: written with the action, drained by the webhook worker. */
export interface WebhookDeliveryTable {
  id: string;
  webhook_id: string;
  account_id: string;
  event_id: string;
  event_type: string;
  /** The JSON body sent (ids and facts only). */
  payload: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  next_attempt_at: number;
  claimed_until: number | null;
  last_response_status: number | null;
  last_error: string | null;
  delivered_at: number | null;
  created_at: number;
}

export type ApiToken = Selectable<ApiTokenTable>;
export type Webhook = Selectable<WebhookTable>;
export type WebhookDelivery = Selectable<WebhookDeliveryTable>;
