// The account's security policy: require 2FA for staff (with a grace period), require
// security keys for admins, how long sessions last and how long a computer stays
// trusted (DESIGN.md rows 6, 8 and 15).
// Switching the requirement off and on never touches anyone's 2FA: it is a switch,
// not a reset (the seed's complaint).
import { fail, ok, type Result } from '../domain/failures.js';
import { GRACE_DAYS, SESSION_DAYS, TRUSTED_DEVICE_DAYS, isWholeNumberWithin } from '../domain/policy.js';
import type { TwoFactorRequirement } from '../domain/types.js';
import { updateAccount } from '../store/accounts.js';
import { appendAuditEvent } from '../store/audit.js';
import type { Account } from '../store/schema.js';
import { isCountryCode, parseCountryList } from '../domain/phone-numbers.js';
import { confirm, confirmPasswordFirst, type Confirmation } from './confirmation.js';
import type { RequestContext, ServiceDeps } from './deps.js';
import { auditActor, isTokenActor, type AdminActor } from './admin-actor.js';
import { listActiveMethods } from '../store/two-factor.js';
import { AccountUsers } from '../store/users.js';
import { deleteAdminSessions } from '../store/sessions.js';

export interface SecurityPolicy {
  requireTwoFactor: TwoFactorRequirement;
  requireTwoFactorSince: number | null;
  graceDays: number;
  sessionDays: number;
  trustedDeviceDays: number;
  /** Where national phone numbers are read (ISO 3166 code). */
  country: string;
  /** Texts the account may send a day; null is the default budget. */
  smsDailyBudget: number | null;
  /** Countries texts may go to; null is every country. */
  smsAllowedCountries: string[] | null;
  /** Admins must sign in with a security key or passkey (phishing-resistant). */
  securityKeysForAdmins: boolean;
  /** People may sign in with a passkey alone (row 18); off, passkeys are second factors. */
  passkeySignIn: boolean;
}

export const SMS_DAILY_BUDGET = { min: 1, max: 1_000_000 } as const;

export function policyOf(account: Account): SecurityPolicy {
  return {
    requireTwoFactor: account.require_two_factor,
    requireTwoFactorSince: account.require_two_factor_since,
    graceDays: account.grace_days,
    sessionDays: account.session_days,
    trustedDeviceDays: account.trusted_device_days,
    country: account.country,
    smsDailyBudget: account.sms_daily_budget,
    smsAllowedCountries: parseCountryList(account.sms_allowed_countries),
    securityKeysForAdmins: account.require_phishing_resistant_admins === 1,
    passkeySignIn: account.passkey_sign_in === 1,
  };
}

/** How many staff the requirement would send into enrolment, or still does (the same
 * people as the admin overview's "staff without 2FA"). */
export function staffWithoutTwoFactorCount(deps: Pick<ServiceDeps, 'db'>, accountId: string): Promise<number> {
  return new AccountUsers(deps.db, accountId).countStaffWithoutTwoFactor();
}

export interface PolicyChange {
  require_two_factor?: unknown;
  grace_days?: unknown;
  session_days?: unknown;
  trusted_device_days?: unknown;
  country?: unknown;
  sms_daily_budget?: unknown;
  sms_allowed_countries?: unknown;
  require_security_keys_for_admins?: unknown;
  passkey_sign_in?: unknown;
}

function validate(change: PolicyChange, current: SecurityPolicy, deploymentSmsBudget: number): Result<Omit<SecurityPolicy, 'requireTwoFactorSince'>> {
  const { requireTwoFactorSince: _since, ...next } = current;
  if (change.country !== undefined) {
    const country = typeof change.country === 'string' ? change.country.trim().toUpperCase() : '';
    if (!isCountryCode(country)) return fail('invalid_request', { field: 'country', message: 'The country must be a two-letter ISO code, like US or GB.' });
    next.country = country;
  }
  if (change.sms_daily_budget !== undefined) {
    // No account may spend more than the whole deployment's daily texts.
    const bounds = { min: SMS_DAILY_BUDGET.min, max: Math.min(SMS_DAILY_BUDGET.max, deploymentSmsBudget) };
    if (change.sms_daily_budget !== null && !isWholeNumberWithin(change.sms_daily_budget, bounds)) {
      return fail('invalid_request', {
        field: 'sms_daily_budget',
        message: `The daily text budget must be a whole number from ${bounds.min} to ${bounds.max}, or null for the default.`,
        detail: { key: 'detail.smsDailyBudget', values: bounds },
      });
    }
    next.smsDailyBudget = change.sms_daily_budget;
  }
  if (change.sms_allowed_countries !== undefined) {
    const raw = change.sms_allowed_countries;
    const codes = raw === null ? [] : Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(/[\s,;]+/).filter(Boolean) : null;
    if (codes === null || codes.some((code) => typeof code !== 'string' || !isCountryCode(code.trim().toUpperCase()))) {
      return fail('invalid_request', {
        field: 'sms_allowed_countries',
        message: 'List two-letter ISO country codes, like ["GB","IE"], or null for every country.',
      });
    }
    next.smsAllowedCountries = codes.length === 0 ? null : [...new Set(codes.map((code) => (code as string).trim().toUpperCase()))];
  }
  if (change.require_security_keys_for_admins !== undefined) {
    if (typeof change.require_security_keys_for_admins !== 'boolean') {
      return fail('invalid_request', { field: 'require_security_keys_for_admins', message: 'require_security_keys_for_admins must be true or false.' });
    }
    next.securityKeysForAdmins = change.require_security_keys_for_admins;
  }
  if (change.passkey_sign_in !== undefined) {
    if (typeof change.passkey_sign_in !== 'boolean')
      return fail('invalid_request', { field: 'passkey_sign_in', message: 'passkey_sign_in must be true or false.' });
    next.passkeySignIn = change.passkey_sign_in;
  }
  if (change.require_two_factor !== undefined) {
    if (change.require_two_factor !== 'off' && change.require_two_factor !== 'staff') {
      return fail('invalid_request', { field: 'require_two_factor', message: 'require_two_factor must be "off" or "staff".' });
    }
    next.requireTwoFactor = change.require_two_factor;
  }
  const days: [keyof PolicyChange, 'graceDays' | 'sessionDays' | 'trustedDeviceDays', { min: number; max: number }, string][] = [
    ['grace_days', 'graceDays', GRACE_DAYS, 'The grace period'],
    ['session_days', 'sessionDays', SESSION_DAYS, '"Stay signed in for"'],
    ['trusted_device_days', 'trustedDeviceDays', TRUSTED_DEVICE_DAYS, '"Trust a computer for"'],
  ];
  for (const [field, key, bounds, label] of days) {
    const value = change[field];
    if (value === undefined) continue;
    if (!isWholeNumberWithin(value, bounds))
      return fail('invalid_request', {
        field,
        message: `${label} must be a whole number of days from ${bounds.min} to ${bounds.max}.`,
        detail: { key: 'detail.policyDays', values: { setting: field, ...bounds } },
      });
    next[key] = value;
  }
  return ok(next);
}

/** Checks a change before anything is asked of the admin (the review step). */
export function checkPolicyChange(deps: ServiceDeps, account: Account, change: PolicyChange): Result<null> {
  const validated = validate(change, policyOf(account), deps.config.smsDailyBudget);
  return validated.ok ? ok(null) : validated;
}

/** An API token with policy:write changes it without a confirmation: its scope was
 * confirmed by the admin who made it (admin-actor.ts). */
export async function updateSecurityPolicy(
  deps: ServiceDeps,
  admin: AdminActor,
  change: PolicyChange,
  confirmation: Confirmation | undefined,
  context: RequestContext,
): Promise<Result<SecurityPolicy>> {
  const current = policyOf(admin.account);
  const validated = validate(change, current, deps.config.smsDailyBudget);
  if (!validated.ok) return validated;
  const person = isTokenActor(admin) ? null : admin;
  const passwordChecked = person ? await confirmPasswordFirst(deps, person, confirmation) : ok(false);
  if (!passwordChecked.ok) return passwordChecked;
  return deps.db.transaction().execute(async (trx) => {
    const next = validated.value;
    if (next.securityKeysForAdmins && !current.securityKeysForAdmins && !(await listActiveMethods(trx, admin.user)).some((m) => m.type === 'webauthn')) {
      // The admin turning it on would be the first one sent to add a key.
      return fail<SecurityPolicy>('security_key_required', {
        field: 'require_security_keys_for_admins',
        message: 'Add a security key to your own sign-in before you require them for admins.',
      });
    }
    if (person) {
      const confirmed = await confirm(trx, deps, person, confirmation, context, passwordChecked.value);
      if (!confirmed.ok) return confirmed;
    }
    const now = deps.now();
    const turnedOn = current.requireTwoFactor === 'off' && next.requireTwoFactor === 'staff';
    const since = next.requireTwoFactor === 'off' ? null : turnedOn ? now : current.requireTwoFactorSince;
    await updateAccount(trx, admin.account.id, {
      require_two_factor: next.requireTwoFactor,
      require_two_factor_since: since,
      grace_days: next.graceDays,
      session_days: next.sessionDays,
      trusted_device_days: next.trustedDeviceDays,
      country: next.country,
      sms_daily_budget: next.smsDailyBudget,
      sms_allowed_countries: next.smsAllowedCountries === null ? null : next.smsAllowedCountries.join(','),
      require_phishing_resistant_admins: next.securityKeysForAdmins ? 1 : 0,
      passkey_sign_in: next.passkeySignIn ? 1 : 0,
      updated_at: now,
    });
    if (next.securityKeysForAdmins && !current.securityKeysForAdmins) {
      // Admins' open sessions may have begun with a phishable passcode: they sign in
      // again, with a key. The admin making the change keeps this session.
      await deleteAdminSessions(trx, admin.account.id, person?.session.id ?? null);
    }
    await appendAuditEvent(
      trx,
      {
        accountId: admin.account.id,
        type: 'security_policy_changed',
        ...auditActor(admin),
        ip: context.ip,
        userAgent: context.userAgent,
        details: {
          before: { ...current, requireTwoFactorSince: undefined },
          after: next,
        },
      },
      now,
    );
    return ok({ ...next, requireTwoFactorSince: since });
  });
}
