import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FACTORS, FACTOR_TYPES, SECOND_FACTOR_METHODS } from './factors.js';
import { FACTOR_MODULES } from '../services/factors/registry.js';

describe('the factor list', () => {
  it('every factor declares everything, and its module is registered under its type', () => {
    for (const factor of FACTORS) {
      assert.ok(factor.label && factor.labelInSentence && factor.signInOffer, factor.type);
      assert.ok(['otp', 'sms', 'hwk'].includes(factor.amr), factor.type);
      assert.equal(typeof factor.phishingResistant, 'boolean');
      const module = FACTOR_MODULES[factor.type];
      assert.equal(module.descriptor, factor, `${factor.type} is registered with its own descriptor`);
      assert.equal(typeof module.verify, 'function');
    }
    assert.deepEqual(Object.keys(FACTOR_MODULES).sort(), FACTORS.map((f) => f.type).sort());
  });

  it('orders are unique: security key, app, SMS, email, then recovery codes last', () => {
    assert.equal(new Set(FACTORS.map((f) => f.order)).size, FACTORS.length);
    assert.deepEqual(SECOND_FACTOR_METHODS, ['webauthn', 'totp', 'sms', 'email', 'recovery_code']);
    assert.deepEqual(FACTOR_TYPES, ['webauthn', 'totp', 'sms', 'email']);
  });

  it('amr per RFC 8176: otp for app, email and recovery codes, sms, hwk for a key; only the key resists phishing', () => {
    const amr = Object.fromEntries(FACTORS.map((f) => [f.type, f.amr]));
    assert.deepEqual(amr, { webauthn: 'hwk', totp: 'otp', sms: 'sms', email: 'otp', recovery_code: 'otp' });
    assert.deepEqual(
      FACTORS.filter((f) => f.phishingResistant).map((f) => f.type),
      ['webauthn'],
    );
  });
});
