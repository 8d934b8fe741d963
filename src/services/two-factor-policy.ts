// An account's two-factor settings as the pure rules read them.
import type { AccountTwoFactorPolicy } from '../domain/sign-in-decision.js';
import type { Account } from '../store/schema.js';

export function twoFactorPolicyOf(account: Account): AccountTwoFactorPolicy {
  return {
    requireTwoFactor: account.require_two_factor,
    requireTwoFactorSince: account.require_two_factor_since,
    graceDays: account.grace_days,
    securityKeysForAdmins: account.require_phishing_resistant_admins === 1,
  };
}
