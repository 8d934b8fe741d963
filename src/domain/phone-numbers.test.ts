import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { countryOptions, isCountryAllowed, maskPhoneNumber, normalizePhoneNumber, parseCountryList } from './phone-numbers.js';

describe('phone numbers', () => {
  it('normalises international and national forms to E.164, keeping only the last 2 digits aside', () => {
    const cases: [string, string | null, string, string][] = [
      ['+44 7400 123456', null, '+447400123456', 'GB'],
      ['0044 7400-123-456', 'US', '+447400123456', 'GB'],
      ['07400 123456', 'GB', '+447400123456', 'GB'],
      ['(201) 555-0123', 'US', '+12015550123', 'US'],
      ['201.555.0123', 'US', '+12015550123', 'US'],
      ['06 12 34 56 78', 'FR', '+33612345678', 'FR'],
    ];
    for (const [raw, country, e164, iso] of cases) {
      const result = normalizePhoneNumber(raw, country);
      assert.ok(result.ok, `${raw}: ${JSON.stringify(result)}`);
      assert.deepEqual(result.value, { e164, country: iso, lastDigits: e164.slice(-2) });
    }
  });

  it('refuses what is not a textable number, with the field and a reason', () => {
    for (const [raw, country, reason] of [
      ['', 'US', /Enter your mobile/],
      ['12', 'US', /not a valid/],
      ['+1 201 555 01234', null, /not a valid/],
      ['07400 123456', 'US', /not a valid phone number in United States/],
      ['call me', 'US', /digits only/],
      ['+1 201 555 0123 ext. 5', 'US', /digits only/],
      ['+'.padEnd(60, '1'), 'US', /digits only/],
      ['+44 20 7946 0000', null, /cannot receive text messages/],
      ['+1 800 555 0123', null, /cannot receive text messages/],
      ['+1 900 555 0123', null, /cannot receive text messages/],
    ] as const) {
      const result = normalizePhoneNumber(raw, country);
      assert.equal(result.ok, false, raw);
      if (!result.ok) {
        assert.equal(result.failure.field, 'phone');
        assert.match(result.failure.message ?? '', reason, raw);
      }
    }
    assert.equal(normalizePhoneNumber(42, 'US').ok, false);
  });

  it('masks a number as "•••• ••• 23"', () => {
    assert.equal(maskPhoneNumber('23'), '•••• ••• 23');
    assert.equal(maskPhoneNumber(null), '•••• ••• ••');
  });

  it('reads an account allow-list forgivingly; null allows every country', () => {
    assert.equal(parseCountryList(null), null);
    assert.equal(parseCountryList('  '), null);
    assert.deepEqual(parseCountryList('gb, IE;fr ZZ gb'), ['GB', 'IE', 'FR']);
    assert.ok(isCountryAllowed('GB', ['GB']));
    assert.ok(!isCountryAllowed('US', ['GB']));
    assert.ok(isCountryAllowed('US', null));
    assert.deepEqual(
      countryOptions(['IE', 'GB']).map((o) => [o.code, o.name, o.callingCode]),
      [
        ['IE', 'Ireland', '353'],
        ['GB', 'United Kingdom', '44'],
      ],
    );
  });
});
