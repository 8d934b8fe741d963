// The sign-in decision, one row per rule (DESIGN.md rows 5, 8, 9 and 12, and the
// step-up rules of its OpenID Connect section).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ACR,
  NO_REQUIREMENTS,
  decideNextStep,
  type AccountTwoFactorPolicy,
  type FlowRequirements,
  type NextStep,
  type Proof,
  type SignInSubject,
} from './sign-in-decision.js';

const DAY = 24 * 60 * 60 * 1000;
const NOW = Date.UTC(2026, 11, 6, 12);

const agent = (overrides: Partial<SignInSubject> = {}): SignInSubject => ({
  role: 'agent',
  twoFactorEnabled: false,
  twoFactorSetupRequired: false,
  activeMethods: [],
  ...overrides,
});
const policy = (overrides: Partial<AccountTwoFactorPolicy> = {}): AccountTwoFactorPolicy => ({
  requireTwoFactor: 'off',
  requireTwoFactorSince: null,
  graceDays: 0,
  securityKeysForAdmins: false,
  ...overrides,
});

const PASSWORD: Proof = { kind: 'password', at: NOW - 60_000 };
const signedIn = (overrides: Partial<Extract<NextStep, { kind: 'signed_in' }>> = {}): NextStep => ({
  kind: 'signed_in',
  amr: ['pwd'],
  acr: ACR.password,
  viaTrustedDevice: false,
  passcodeAt: null,
  enrolmentDeadline: null,
  ...overrides,
});
const withPasscode = (kind: Proof['kind'], amr: string[], acr = ACR.twoFactor): NextStep =>
  signedIn({ amr, acr, passcodeAt: NOW - 1000, ...(kind === 'webauthn' ? { acr: ACR.phishingResistant } : {}) });
const enrolment = (reason: 'required' | 'admin_code' | 'security_key', emailProven = false): NextStep => ({ kind: 'enrolment', reason, emailProven });

interface Row {
  rule: string;
  subject: SignInSubject;
  policy?: AccountTwoFactorPolicy;
  proofs?: Proof[];
  requirements?: Partial<FlowRequirements>;
  trustedDevice?: boolean;
  expected: NextStep;
}

const twoFactor = agent({ twoFactorEnabled: true, activeMethods: ['totp'] });
const withKey = agent({ twoFactorEnabled: true, activeMethods: ['totp', 'webauthn'] });
const passcode = (kind: Proof['kind']): Proof[] => [PASSWORD, { kind, at: NOW - 1000 }];

const PASSKEY: Proof = { kind: 'passkey', at: NOW - 1000 };
const passkeyIn = signedIn({ amr: ['hwk', 'user', 'mfa'], acr: ACR.phishingResistant, passcodeAt: NOW - 1000 });

const rows: Row[] = [
  // A passkey alone (row 18): both factors in one, phishing-resistant.
  { rule: 'row 18: a passkey alone signs in, hwk + user + mfa, phishing-resistant', subject: withKey, proofs: [PASSKEY], expected: passkeyIn },
  {
    rule: 'row 18: a passkey meets "security keys for admins"',
    subject: { ...withKey, role: 'admin' },
    policy: policy({ securityKeysForAdmins: true }),
    proofs: [PASSKEY],
    expected: passkeyIn,
  },
  {
    rule: 'row 18: a passkey meets an app demanding phishing resistance',
    subject: withKey,
    proofs: [PASSKEY],
    requirements: { acr: ACR.phishingResistant },
    expected: passkeyIn,
  },
  {
    rule: 'row 18: max_age voids a passkey as it voids a password',
    subject: withKey,
    proofs: [{ kind: 'passkey', at: NOW - 10 * 60_000 }],
    requirements: { maxAgeSeconds: 60 },
    expected: { kind: 'first_factor' },
  },
  // After the first factor (rows 5, 8, 9, 12).
  { rule: 'no 2FA, not required: signed in with the password alone', subject: agent(), expected: signedIn() },
  {
    rule: '2FA on: asked for a passcode, its methods in order, recovery codes last',
    subject: agent({ twoFactorEnabled: true, activeMethods: ['sms', 'totp', 'webauthn'] }),
    expected: { kind: 'second_factor', methods: ['webauthn', 'totp', 'sms', 'recovery_code'] },
  },
  {
    rule: 'row 5: a trusted computer skips the passcode, says so, and claims no passcode',
    subject: twoFactor,
    trustedDevice: true,
    expected: signedIn({ acr: ACR.twoFactor, viaTrustedDevice: true }),
  },
  { rule: 'a trusted computer means nothing to a person without 2FA', subject: agent(), trustedDevice: true, expected: signedIn() },
  {
    rule: 'fail closed: 2FA on with no usable method must enrol again, never the password alone',
    subject: agent({ twoFactorEnabled: true, activeMethods: [] }),
    expected: enrolment('required'),
  },
  {
    rule: 'fail closed, even on a trusted computer',
    subject: agent({ twoFactorEnabled: true, activeMethods: [] }),
    trustedDevice: true,
    expected: enrolment('required'),
  },
  { rule: 'row 9: after an admin reset, enrol again first', subject: agent({ twoFactorSetupRequired: true }), expected: enrolment('required') },
  {
    rule: 'row 8: staff required with no grace: enrol now',
    subject: agent(),
    policy: policy({ requireTwoFactor: 'staff', requireTwoFactorSince: NOW - DAY }),
    expected: enrolment('required'),
  },
  {
    rule: 'row 8: an emailed link proved the address, so forced enrolment needs no emailed code',
    subject: agent(),
    proofs: [{ kind: 'password_reset', at: NOW - 1000 }],
    policy: policy({ requireTwoFactor: 'staff', requireTwoFactorSince: NOW - DAY }),
    expected: enrolment('required', true),
  },
  {
    rule: 'row 8: a code emailed before the enrolment proved the address',
    subject: agent(),
    proofs: [PASSWORD, { kind: 'email_confirmation', at: NOW - 1000 }],
    policy: policy({ requireTwoFactor: 'staff', requireTwoFactorSince: NOW - DAY }),
    expected: enrolment('required', true),
  },
  {
    rule: 'row 8: an emailed confirmation is no second factor: the enrolment is still owed',
    subject: agent({ twoFactorEnabled: true, activeMethods: [] }),
    proofs: [PASSWORD, { kind: 'email_confirmation', at: NOW - 1000 }],
    expected: enrolment('required', true),
  },
  {
    rule: 'row 8: within the grace period: signed in, with the deadline',
    subject: agent(),
    policy: policy({ requireTwoFactor: 'staff', requireTwoFactorSince: NOW - DAY, graceDays: 7 }),
    expected: signedIn({ enrolmentDeadline: NOW + 6 * DAY }),
  },
  {
    rule: 'row 8: end users are never forced',
    subject: agent({ role: 'end_user' }),
    policy: policy({ requireTwoFactor: 'staff', requireTwoFactorSince: NOW - DAY }),
    expected: signedIn(),
  },
  {
    rule: 'row 8: a requirement met already changes nothing',
    subject: twoFactor,
    policy: policy({ requireTwoFactor: 'staff', requireTwoFactorSince: NOW - DAY }),
    expected: { kind: 'second_factor', methods: ['totp', 'recovery_code'] },
  },
  {
    rule: 'security keys for admins: an admin with a key may use only it (or a recovery code)',
    subject: agent({ role: 'admin', twoFactorEnabled: true, activeMethods: ['totp', 'webauthn'] }),
    policy: policy({ securityKeysForAdmins: true }),
    expected: { kind: 'second_factor', methods: ['webauthn', 'recovery_code'] },
  },
  {
    rule: 'security keys for admins: a trusted computer does not skip the key',
    subject: agent({ role: 'admin', twoFactorEnabled: true, activeMethods: ['webauthn'] }),
    policy: policy({ securityKeysForAdmins: true }),
    trustedDevice: true,
    expected: { kind: 'second_factor', methods: ['webauthn', 'recovery_code'] },
  },
  {
    rule: 'security keys for admins: an admin without 2FA enrols first',
    subject: agent({ role: 'admin' }),
    policy: policy({ securityKeysForAdmins: true }),
    expected: enrolment('security_key'),
  },
  { rule: 'no first factor yet: the flow asks for it', subject: twoFactor, proofs: [], expected: { kind: 'first_factor' } },

  // After the second factor (rows 4, 9, 12).
  {
    rule: 'row 4: the password and a passcode sign in, both claimed',
    subject: twoFactor,
    proofs: passcode('totp'),
    expected: withPasscode('totp', ['pwd', 'otp', 'mfa']),
  },
  {
    rule: 'a texted code is claimed as sms',
    subject: agent({ twoFactorEnabled: true, activeMethods: ['sms'] }),
    proofs: passcode('sms'),
    expected: withPasscode('sms', ['pwd', 'sms', 'mfa']),
  },
  {
    rule: 'a recovery code is a one-time code',
    subject: twoFactor,
    proofs: passcode('recovery_code'),
    expected: withPasscode('recovery_code', ['pwd', 'otp', 'mfa']),
  },
  {
    rule: 'an emailed code is a one-time code',
    subject: agent({ twoFactorEnabled: true, activeMethods: ['email'] }),
    proofs: passcode('email'),
    expected: withPasscode('email', ['pwd', 'otp', 'mfa']),
  },
  {
    rule: 'row 19: emailed codes, the only factor, count as none where the account requires security keys: enrol again',
    subject: agent({ twoFactorEnabled: true, activeMethods: ['email'] }),
    policy: policy({ securityKeysForAdmins: true }),
    expected: enrolment('required'),
  },
  {
    rule: 'row 19: emailed codes are not offered where the account requires security keys',
    subject: agent({ twoFactorEnabled: true, activeMethods: ['totp', 'email'] }),
    policy: policy({ securityKeysForAdmins: true }),
    expected: { kind: 'second_factor', methods: ['totp', 'recovery_code'] },
  },
  {
    rule: 'emailed codes are offered last among the factors',
    subject: agent({ twoFactorEnabled: true, activeMethods: ['email', 'sms', 'totp'] }),
    expected: { kind: 'second_factor', methods: ['totp', 'sms', 'email', 'recovery_code'] },
  },
  {
    rule: 'a security key is hardware, and phishing-resistant',
    subject: withKey,
    proofs: passcode('webauthn'),
    expected: withPasscode('webauthn', ['pwd', 'hwk', 'mfa']),
  },
  { rule: 'row 9: an admin-issued code leads to enrolling again', subject: twoFactor, proofs: passcode('admin_code'), expected: enrolment('admin_code', true) },
  {
    rule: 'row 9: once enrolled after an admin-issued code, the new factor signs in',
    subject: twoFactor,
    proofs: [...passcode('admin_code'), { kind: 'totp', at: NOW - 1000 }],
    expected: withPasscode('totp', ['pwd', 'otp', 'mfa']),
  },
  {
    rule: 'security keys for admins: a passcode from an admin without a key leads to adding one',
    subject: agent({ role: 'admin', twoFactorEnabled: true, activeMethods: ['totp'] }),
    policy: policy({ securityKeysForAdmins: true }),
    proofs: passcode('totp'),
    expected: enrolment('security_key'),
  },

  // What a caller demands (DESIGN.md, OpenID Connect: step-up).
  {
    rule: 'prompt=login: a trusted computer skips nothing',
    subject: twoFactor,
    trustedDevice: true,
    requirements: { promptLogin: true },
    expected: { kind: 'second_factor', methods: ['totp', 'recovery_code'] },
  },
  {
    rule: 'max_age: a trusted computer skips nothing',
    subject: twoFactor,
    trustedDevice: true,
    requirements: { maxAgeSeconds: 3600 },
    expected: { kind: 'second_factor', methods: ['totp', 'recovery_code'] },
  },
  {
    rule: 'max_age: a password older than it is asked for again',
    subject: twoFactor,
    proofs: [{ kind: 'password', at: NOW - 2 * 3600_000 }],
    requirements: { maxAgeSeconds: 3600 },
    expected: { kind: 'first_factor' },
  },
  {
    rule: 'phishing-resistant demanded: a person with a key is asked for it alone',
    subject: withKey,
    requirements: { acr: ACR.phishingResistant },
    expected: { kind: 'second_factor', methods: ['webauthn'] },
  },
  {
    rule: 'phishing-resistant demanded: a passcode already given steps up to the key',
    subject: withKey,
    proofs: passcode('totp'),
    requirements: { acr: ACR.phishingResistant },
    expected: { kind: 'second_factor', methods: ['webauthn'] },
  },
  {
    rule: 'phishing-resistant demanded: the key meets it',
    subject: withKey,
    proofs: [...passcode('totp'), { kind: 'webauthn', at: NOW - 1000 }],
    requirements: { acr: ACR.phishingResistant },
    expected: withPasscode('webauthn', ['pwd', 'otp', 'hwk', 'mfa']),
  },
  {
    rule: 'phishing-resistant demanded of a person with no key: unmet, never a lesser sign-in',
    subject: twoFactor,
    trustedDevice: true,
    requirements: { acr: ACR.phishingResistant },
    expected: { kind: 'unmet' },
  },
  { rule: 'two-factor demanded of a person without 2FA: unmet', subject: agent(), requirements: { acr: ACR.twoFactor }, expected: { kind: 'unmet' } },
  {
    rule: 'two-factor demanded: a trusted computer meets it',
    subject: twoFactor,
    trustedDevice: true,
    requirements: { acr: ACR.twoFactor },
    expected: signedIn({ acr: ACR.twoFactor, viaTrustedDevice: true }),
  },
];

describe('decideNextStep', () => {
  for (const row of rows) {
    it(row.rule, () => {
      assert.deepEqual(
        decideNextStep({
          proofs: row.proofs ?? [PASSWORD],
          requirements: { ...NO_REQUIREMENTS, ...row.requirements },
          subject: row.subject,
          policy: row.policy ?? policy(),
          trustedDevice: row.trustedDevice ?? false,
          now: NOW,
        }),
        row.expected,
      );
    });
  }
});
