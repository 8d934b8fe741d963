// The one place that decides what a person still owes after their first factor
// (DESIGN.md row 12). Password sign-in, password reset, invitation acceptance and any
// later way in call this; none of them may create a session on its own.
import { factorDescriptor, inFactorOrder, type FactorType, type SecondFactorMethod } from './factors.js';
import { isStaff } from './identity.js';
import type { Role, TwoFactorRequirement } from './types.js';

export interface SignInSubject {
  role: Role;
  twoFactorEnabled: boolean;
  /** Set by an admin reset or an admin-issued recovery code: enrol again first. */
  twoFactorSetupRequired: boolean;
  /** Active second factors other than recovery codes. */
  activeMethods: FactorType[];
}

export interface AccountTwoFactorPolicy {
  requireTwoFactor: TwoFactorRequirement;
  /** When the requirement was switched on (ms), for the grace period. */
  requireTwoFactorSince: number | null;
  graceDays: number;
  /** Admins must use a security key or passkey (NIST SP 800-63B-4: phishing-resistant). */
  securityKeysForAdmins: boolean;
}

export type NextStep =
  | { kind: 'signed_in'; viaTrustedDevice: boolean; enrolmentDeadline: number | null }
  | { kind: 'two_factor_required'; methods: SecondFactorMethod[] }
  | { kind: 'two_factor_setup_required' };

const DAY_IN_MILLISECONDS = 24 * 60 * 60 * 1000;

/** When staff must have enrolled by, or null when the account does not require it of them. */
export function enrolmentDeadline(role: Role, policy: Omit<AccountTwoFactorPolicy, 'securityKeysForAdmins'>): number | null {
  if (policy.requireTwoFactor !== 'staff' || !isStaff(role)) return null;
  return (policy.requireTwoFactorSince ?? 0) + policy.graceDays * DAY_IN_MILLISECONDS;
}

export function mustUseSecurityKey(role: Role, policy: Pick<AccountTwoFactorPolicy, 'securityKeysForAdmins'>): boolean {
  return policy.securityKeysForAdmins && role === 'admin';
}

/** Whether the account allows this factor at all: where admins must use security keys,
 * the weakest factors (emailed codes) are allowed to nobody (DESIGN.md row 19). */
export function factorAllowed(type: FactorType, policy: Pick<AccountTwoFactorPolicy, 'securityKeysForAdmins'>): boolean {
  return !(policy.securityKeysForAdmins && factorDescriptor(type).forbiddenWithSecurityKeys);
}

/** A person's factors in the order they are offered (factors.ts), then recovery codes. */
export function secondFactorMethods(activeMethods: readonly FactorType[]): SecondFactorMethod[] {
  return [...inFactorOrder(activeMethods), 'recovery_code'];
}

/** The factors of a person that the account lets them use. */
export function usableFactors(activeMethods: readonly FactorType[], policy: Pick<AccountTwoFactorPolicy, 'securityKeysForAdmins'>): FactorType[] {
  return activeMethods.filter((type) => factorAllowed(type, policy));
}

/** The methods a sign-in challenge accepts. An admin who must use a security key and
 * has one may not fall back to a phishable passcode; a recovery code stays, or a lost
 * key would lock them out. */
export function challengeMethods(
  role: Role,
  activeMethods: readonly FactorType[],
  policy: Pick<AccountTwoFactorPolicy, 'securityKeysForAdmins'>,
): SecondFactorMethod[] {
  if (mustUseSecurityKey(role, policy) && activeMethods.includes('webauthn')) return ['webauthn', 'recovery_code'];
  return secondFactorMethods(usableFactors(activeMethods, policy));
}

/** After a passcode, whether the session may still only enrol: an admin who must use a
 * security key and has none signs in to add one. */
export function mustEnrolSecurityKeyAfter(
  role: Role,
  activeMethods: readonly FactorType[],
  policy: Pick<AccountTwoFactorPolicy, 'securityKeysForAdmins'>,
): boolean {
  return mustUseSecurityKey(role, policy) && !activeMethods.includes('webauthn');
}

export function decideAfterFirstFactor(input: { subject: SignInSubject; policy: AccountTwoFactorPolicy; trustedDevice: boolean; now: number }): NextStep {
  const { subject, policy, now } = input;
  if (subject.twoFactorEnabled && usableFactors(subject.activeMethods, policy).length > 0) {
    // A trusted computer skips the passcode, but the session remembers it did, so a
    // sensitive action still asks for one (Keycloak CVE-2026-3429). Admins who must
    // use a security key use it every time.
    if (input.trustedDevice && !mustUseSecurityKey(subject.role, policy)) return { kind: 'signed_in', viaTrustedDevice: true, enrolmentDeadline: null };
    return { kind: 'two_factor_required', methods: challengeMethods(subject.role, subject.activeMethods, policy) };
  }
  // Fail closed: two-factor on with no usable method (its last one removed in a race,
  // or only a factor the account no longer allows) is a person who must enrol again, never one the password alone lets in.
  if (subject.twoFactorEnabled || subject.twoFactorSetupRequired) return { kind: 'two_factor_setup_required' };
  if (mustUseSecurityKey(subject.role, policy)) return { kind: 'two_factor_setup_required' };
  const deadline = enrolmentDeadline(subject.role, policy);
  if (deadline !== null && now >= deadline) return { kind: 'two_factor_setup_required' };
  return { kind: 'signed_in', viaTrustedDevice: false, enrolmentDeadline: deadline };
}
