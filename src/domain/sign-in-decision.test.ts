// The second-factor decision, one row per rule (DESIGN.md rows 5, 8, 9 and 12).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decideAfterFirstFactor, type AccountTwoFactorPolicy, type NextStep, type SignInSubject } from './sign-in-decision.js';

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

const rows: { rule: string; subject: SignInSubject; policy?: AccountTwoFactorPolicy; trustedDevice?: boolean; expected: NextStep }[] = [
  { rule: 'no 2FA, not required: signed in', subject: agent(), expected: { kind: 'signed_in', viaTrustedDevice: false, enrolmentDeadline: null } },
  {
    rule: '2FA on: asked for a passcode, its methods in order, recovery codes last',
    subject: agent({ twoFactorEnabled: true, activeMethods: ['sms', 'totp', 'webauthn'] }),
    expected: { kind: 'two_factor_required', methods: ['webauthn', 'totp', 'sms', 'recovery_code'] },
  },
  {
    rule: 'row 5: a trusted computer skips the passcode, and says so',
    subject: agent({ twoFactorEnabled: true, activeMethods: ['totp'] }),
    trustedDevice: true,
    expected: { kind: 'signed_in', viaTrustedDevice: true, enrolmentDeadline: null },
  },
  {
    rule: 'a trusted computer means nothing to a person without 2FA',
    subject: agent(),
    trustedDevice: true,
    expected: { kind: 'signed_in', viaTrustedDevice: false, enrolmentDeadline: null },
  },
  {
    rule: 'fail closed: 2FA on with no usable method must enrol again, never the password alone',
    subject: agent({ twoFactorEnabled: true, activeMethods: [] }),
    expected: { kind: 'two_factor_setup_required' },
  },
  {
    rule: 'fail closed, even on a trusted computer',
    subject: agent({ twoFactorEnabled: true, activeMethods: [] }),
    trustedDevice: true,
    expected: { kind: 'two_factor_setup_required' },
  },
  {
    rule: 'row 9: after an admin reset, enrol again first',
    subject: agent({ twoFactorSetupRequired: true }),
    expected: { kind: 'two_factor_setup_required' },
  },
  {
    rule: 'row 8: staff required with no grace: enrol now',
    subject: agent(),
    policy: policy({ requireTwoFactor: 'staff', requireTwoFactorSince: NOW - DAY }),
    expected: { kind: 'two_factor_setup_required' },
  },
  {
    rule: 'row 8: within the grace period: signed in, with the deadline',
    subject: agent(),
    policy: policy({ requireTwoFactor: 'staff', requireTwoFactorSince: NOW - DAY, graceDays: 7 }),
    expected: { kind: 'signed_in', viaTrustedDevice: false, enrolmentDeadline: NOW + 6 * DAY },
  },
  {
    rule: 'row 8: end users are never forced',
    subject: agent({ role: 'end_user' }),
    policy: policy({ requireTwoFactor: 'staff', requireTwoFactorSince: NOW - DAY }),
    expected: { kind: 'signed_in', viaTrustedDevice: false, enrolmentDeadline: null },
  },
  {
    rule: 'row 8: a requirement met already changes nothing',
    subject: agent({ twoFactorEnabled: true, activeMethods: ['totp'] }),
    policy: policy({ requireTwoFactor: 'staff', requireTwoFactorSince: NOW - DAY }),
    expected: { kind: 'two_factor_required', methods: ['totp', 'recovery_code'] },
  },
  {
    rule: 'security keys for admins: an admin with a key may use only it (or a recovery code)',
    subject: agent({ role: 'admin', twoFactorEnabled: true, activeMethods: ['totp', 'webauthn'] }),
    policy: policy({ securityKeysForAdmins: true }),
    expected: { kind: 'two_factor_required', methods: ['webauthn', 'recovery_code'] },
  },
  {
    rule: 'security keys for admins: a trusted computer does not skip the key',
    subject: agent({ role: 'admin', twoFactorEnabled: true, activeMethods: ['webauthn'] }),
    policy: policy({ securityKeysForAdmins: true }),
    trustedDevice: true,
    expected: { kind: 'two_factor_required', methods: ['webauthn', 'recovery_code'] },
  },
  {
    rule: 'security keys for admins: an admin without 2FA enrols first',
    subject: agent({ role: 'admin' }),
    policy: policy({ securityKeysForAdmins: true }),
    expected: { kind: 'two_factor_setup_required' },
  },
];

describe('decideAfterFirstFactor', () => {
  for (const row of rows) {
    it(row.rule, () => {
      assert.deepEqual(
        decideAfterFirstFactor({ subject: row.subject, policy: row.policy ?? policy(), trustedDevice: row.trustedDevice ?? false, now: NOW }),
        row.expected,
      );
    });
  }
});
