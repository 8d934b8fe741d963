// The one place that decides what a person still owes after their first factor
// (DESIGN.md row 12). Password sign-in, password reset, invitation acceptance and any
// later way in call this; none of them may create a session on its own.
import { isStaff } from './identity.js';
import type { Role, SecondFactorMethod, TwoFactorRequirement } from './types.js';

export interface SignInSubject {
  role: Role;
  twoFactorEnabled: boolean;
  /** Set by an admin reset or an admin-issued recovery code: enrol again first. */
  twoFactorSetupRequired: boolean;
  /** Active second factors other than recovery codes. */
  activeMethods: ('totp' | 'sms')[];
}

export interface AccountTwoFactorPolicy {
  requireTwoFactor: TwoFactorRequirement;
  /** When the requirement was switched on (ms), for the grace period. */
  requireTwoFactorSince: number | null;
  graceDays: number;
}

export type NextStep =
  | { kind: 'signed_in'; viaTrustedDevice: boolean; enrolmentDeadline: number | null }
  | { kind: 'two_factor_required'; methods: SecondFactorMethod[] }
  | { kind: 'two_factor_setup_required' };

const DAY_IN_MILLISECONDS = 24 * 60 * 60 * 1000;

/** When staff must have enrolled by, or null when the account does not require it of them. */
export function enrolmentDeadline(role: Role, policy: AccountTwoFactorPolicy): number | null {
  if (policy.requireTwoFactor !== 'staff' || !isStaff(role)) return null;
  return (policy.requireTwoFactorSince ?? 0) + policy.graceDays * DAY_IN_MILLISECONDS;
}

export function decideAfterFirstFactor(input: {
  subject: SignInSubject;
  policy: AccountTwoFactorPolicy;
  trustedDevice: boolean;
  now: number;
}): NextStep {
  const { subject, policy, now } = input;
  if (subject.twoFactorEnabled && subject.activeMethods.length > 0) {
    // A trusted computer skips the passcode, but the session remembers it did, so a
    // sensitive action still asks for one (Keycloak CVE-2026-3429).
    if (input.trustedDevice) return { kind: 'signed_in', viaTrustedDevice: true, enrolmentDeadline: null };
    return { kind: 'two_factor_required', methods: [...subject.activeMethods, 'recovery_code'] };
  }
  if (subject.twoFactorSetupRequired) return { kind: 'two_factor_setup_required' };
  const deadline = enrolmentDeadline(subject.role, policy);
  if (deadline !== null && now >= deadline) return { kind: 'two_factor_setup_required' };
  return { kind: 'signed_in', viaTrustedDevice: false, enrolmentDeadline: deadline };
}
