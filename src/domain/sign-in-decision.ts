// The one place that decides what a sign-in still owes (DESIGN.md row 12). Every way in
// records its proofs on one flow (services/sign-in-flow.ts) and asks this function what
// comes next; only its `signed_in` answer lets that module create a session.
import { SECOND_FACTOR_METHODS, factorDescriptor, inFactorOrder, type FactorType, type SecondFactorMethod } from './factors.js';
import { isStaff } from './identity.js';
import type { Role, TwoFactorRequirement } from './types.js';

/** How the person got this far: a password, or an emailed link that set one. */
export type FirstFactor = 'password' | 'password_reset' | 'invitation' | 'setup';

/** What a flow records as proven. `admin_code` is a recovery code an admin issued (the
 * old device is presumed lost); `trusted_device` is a computer the person trusted,
 * which stands in for a passcode but proves no factor; `email_confirmation` is a code
 * emailed to the person's address before a forced enrolment, which proves the address
 * but is no second factor. `passkey` is a passkey that verified its user (PIN,
 * fingerprint): both factors in one, phishing-resistant (row 18). */
export type ProofKind = FirstFactor | SecondFactorMethod | 'admin_code' | 'trusted_device' | 'email_confirmation' | 'passkey';

export interface Proof {
  kind: ProofKind;
  /** When it was given (ms). */
  at: number;
}

/** Authentication context classes (DESIGN.md, OpenID Connect). */
export const ACR = {
  password: 'urn:tessera:acr:password',
  twoFactor: 'urn:tessera:acr:two-factor',
  phishingResistant: 'urn:tessera:acr:phishing-resistant',
} as const;
export type Acr = (typeof ACR)[keyof typeof ACR];

const ACR_ORDER: readonly Acr[] = [ACR.password, ACR.twoFactor, ACR.phishingResistant];

/** Reads a stored or requested level; one this version does not know is null. */
export function parseAcr(value: unknown): Acr | null {
  return typeof value === 'string' && (ACR_ORDER as readonly string[]).includes(value) ? (value as Acr) : null;
}

/** A stored demand (an app's or a flow's `required_acr`): a level this version does
 * not know is read as the strictest one, never as none. */
export function storedAcr(value: string | null): Acr | null {
  return value === null ? null : (parseAcr(value) ?? ACR.phishingResistant);
}

/** Whether a sign-in at level `have` satisfies a demand for `want` (none: anything does). */
export function acrSatisfies(have: Acr | null, want: Acr | null): boolean {
  if (want === null) return true;
  return have !== null && ACR_ORDER.indexOf(have) >= ACR_ORDER.indexOf(want);
}

/** The stronger of two demands. */
export function strongerAcr(a: Acr | null, b: Acr | null): Acr | null {
  if (a === null) return b;
  if (b === null) return a;
  return ACR_ORDER.indexOf(a) >= ACR_ORDER.indexOf(b) ? a : b;
}

/** What an app's `acr_values` (space-separated, in order of preference) demands: any of
 * the listed levels will do, so the weakest of them; values of other providers are
 * ignored, and a list of nothing but those demands nothing. */
export function acrFromValues(acrValues: unknown): Acr | null {
  if (typeof acrValues !== 'string') return null;
  const known = acrValues
    .split(' ')
    .map(parseAcr)
    .filter((acr): acr is Acr => acr !== null);
  return known.length === 0 ? null : known.reduce((weakest, acr) => (ACR_ORDER.indexOf(acr) < ACR_ORDER.indexOf(weakest) ? acr : weakest));
}

/** What the caller of a flow demands (an app's `acr_values`, `max_age`, `prompt=login`). */
export interface FlowRequirements {
  acr: Acr | null;
  maxAgeSeconds: number | null;
  /** Ask for everything again: a trusted computer skips nothing. */
  promptLogin: boolean;
}

export const NO_REQUIREMENTS: FlowRequirements = { acr: null, maxAgeSeconds: null, promptLogin: false };

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
  | { kind: 'first_factor' }
  | { kind: 'second_factor'; methods: SecondFactorMethod[] }
  /** A setup-only session enrols a factor first. `emailProven`: the flow already proved
   * the address, so forced enrolment need not email a code first. */
  | { kind: 'enrolment'; reason: 'required' | 'admin_code' | 'security_key'; emailProven: boolean }
  | {
      kind: 'signed_in';
      amr: string[];
      acr: Acr;
      viaTrustedDevice: boolean;
      /** When the second factor was given, or null (none, or a trusted computer). */
      passcodeAt: number | null;
      enrolmentDeadline: number | null;
    }
  /** The caller demands more than this person can give (no security key, say). */
  | { kind: 'unmet' };

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

const FIRST_FACTORS: readonly ProofKind[] = ['password', 'password_reset', 'invitation', 'setup', 'passkey'];
const SECOND_FACTORS: readonly ProofKind[] = [...SECOND_FACTOR_METHODS, 'admin_code', 'passkey'];
/** Proofs that cannot be phished: a security key, or a passkey. */
const PHISHING_RESISTANT: readonly ProofKind[] = ['webauthn', 'passkey'];

/** RFC 8176 method references, as DESIGN.md's OpenID Connect section lists them: each
 * factor declares its own (factors.ts). A trusted computer stands in for a passcode but
 * is never claimed as one. */
function methodReference(kind: ProofKind): string | null {
  if (FIRST_FACTORS.includes(kind)) return 'pwd';
  if (kind === 'trusted_device') return null;
  if (kind === 'admin_code' || kind === 'email_confirmation') return 'otp';
  return factorDescriptor(kind as SecondFactorMethod).amr;
}

function methodReferences(proofs: readonly Proof[]): string[] {
  // A passkey is a key (hwk) that verified its user (user): two methods in one proof.
  const references = proofs.flatMap((proof) => (proof.kind === 'passkey' ? ['hwk', 'user'] : [methodReference(proof.kind)]));
  const kinds = [...new Set(references.filter((amr): amr is string => amr !== null))];
  return kinds.length >= 2 ? [...kinds, 'mfa'] : kinds;
}

/** The proofs that still count: `max_age` voids those older than it. */
function freshProofs(proofs: readonly Proof[], requirements: FlowRequirements, now: number): Proof[] {
  if (requirements.maxAgeSeconds === null) return [...proofs];
  const since = now - requirements.maxAgeSeconds * 1000;
  return proofs.filter((proof) => proof.at >= since);
}

export function decideNextStep(input: {
  proofs: readonly Proof[];
  requirements: FlowRequirements;
  subject: SignInSubject;
  policy: AccountTwoFactorPolicy;
  /** A valid trusted-device token came with this request. */
  trustedDevice: boolean;
  now: number;
}): NextStep {
  const { subject, policy, requirements, now } = input;
  const proofs = freshProofs(input.proofs, requirements, now);
  const first = proofs.find((proof) => FIRST_FACTORS.includes(proof.kind));
  if (!first) return { kind: 'first_factor' };
  // The latest second factor decides: after an admin's code, the factor enrolled next.
  const second = proofs.findLast((proof) => SECOND_FACTORS.includes(proof.kind));
  const emailProven = first.kind === 'invitation' || first.kind === 'password_reset' || proofs.some((proof) => proof.kind === 'email_confirmation');
  const wantsKey = requirements.acr === ACR.phishingResistant;
  // Factors the account no longer allows (emailed codes once security keys are required)
  // count as none: the person enrols again rather than passing with them.
  const hasFactors = subject.twoFactorEnabled && usableFactors(subject.activeMethods, policy).length > 0;
  const keyRequired = mustUseSecurityKey(subject.role, policy);
  const signedIn = (counted: Proof[], acr: Acr, viaTrustedDevice: boolean): Extract<NextStep, { kind: 'signed_in' }> => ({
    kind: 'signed_in',
    amr: methodReferences(counted),
    acr,
    viaTrustedDevice,
    passcodeAt: counted.findLast((proof) => SECOND_FACTORS.includes(proof.kind))?.at ?? null,
    enrolmentDeadline: null,
  });

  if (second) {
    // An admin-issued code means the old device is presumed lost (row 9): enrol again.
    if (second.kind === 'admin_code') return { kind: 'enrolment', reason: 'admin_code', emailProven: true };
    // An admin who must use a key and has none signs in to add one, after a code emailed
    // to them, so a password and passcode relayed by a phishing page cannot enrol the
    // phisher's key.
    if (keyRequired && !subject.activeMethods.includes('webauthn')) return { kind: 'enrolment', reason: 'security_key', emailProven: false };
    if (wantsKey && !PHISHING_RESISTANT.includes(second.kind)) {
      return subject.activeMethods.includes('webauthn') ? { kind: 'second_factor', methods: ['webauthn'] } : { kind: 'unmet' };
    }
    return signedIn(proofs, PHISHING_RESISTANT.includes(second.kind) ? ACR.phishingResistant : ACR.twoFactor, false);
  }

  if (hasFactors) {
    // A trusted computer skips the passcode, but the session remembers it did, so a
    // sensitive action still asks for one (Keycloak CVE-2026-3429). Admins who must use
    // a key use it every time, and a caller asking for a fresh or stronger proof gets it.
    const trustCounts = input.trustedDevice && !keyRequired && !wantsKey && !requirements.promptLogin && requirements.maxAgeSeconds === null;
    if (trustCounts) return signedIn([...proofs, { kind: 'trusted_device', at: now }], ACR.twoFactor, true);
    if (wantsKey) return subject.activeMethods.includes('webauthn') ? { kind: 'second_factor', methods: ['webauthn'] } : { kind: 'unmet' };
    return { kind: 'second_factor', methods: challengeMethods(subject.role, subject.activeMethods, policy) };
  }
  // Fail closed: two-factor on with no usable method (its last one removed in a race,
  // say) is a person who must enrol again, never one the password alone lets in.
  if (subject.twoFactorEnabled || subject.twoFactorSetupRequired) return { kind: 'enrolment', reason: 'required', emailProven };
  if (keyRequired) return { kind: 'enrolment', reason: 'security_key', emailProven };
  const deadline = enrolmentDeadline(subject.role, policy);
  if (deadline !== null && now >= deadline) return { kind: 'enrolment', reason: 'required', emailProven };
  if (requirements.acr !== null && requirements.acr !== ACR.password) return { kind: 'unmet' };
  return { ...signedIn(proofs, ACR.password, false), enrolmentDeadline: deadline };
}
