// An admin sets the account's text-message settings through the security policy:
// the country national numbers are read in, a daily budget and a country allow-list.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STRONG_PASSWORD, addUser, setUpAccount, signInToken, startTestApp } from '../support/harness.js';

describe('text-message settings in the security policy', () => {
  it('validates, saves and applies country, daily budget and allow-list', async () => {
    const app = await startTestApp();
    try {
      const owner = (await setUpAccount(app)).token;
      const confirm = { method: 'password', code: STRONG_PASSWORD };
      for (const [body, field] of [
        [{ country: 'ZZ' }, 'country'],
        [{ sms_daily_budget: 0 }, 'sms_daily_budget'],
        [{ sms_allowed_countries: ['GB', 'XX'] }, 'sms_allowed_countries'],
      ] as const) {
        const refused = await app.api('PUT', '/api/v1/admin/security-policy', { token: owner, body: { ...body, ...confirm } });
        assert.equal(refused.statusCode, 400, JSON.stringify(body));
        assert.equal(refused.json().error.field, field);
      }
      const saved = await app.api('PUT', '/api/v1/admin/security-policy', {
        token: owner,
        body: { country: 'gb', sms_daily_budget: 50, sms_allowed_countries: ['gb', 'IE'], ...confirm },
      });
      assert.equal(saved.statusCode, 200, saved.body);
      assert.equal(saved.json().country, 'GB');
      assert.equal(saved.json().sms_daily_budget, 50);
      assert.deepEqual(saved.json().sms_allowed_countries, ['GB', 'IE']);
      const row = await app.runtime.deps.db.selectFrom('accounts').select(['country', 'sms_daily_budget', 'sms_allowed_countries']).executeTakeFirstOrThrow();
      assert.deepEqual(row, { country: 'GB', sms_daily_budget: 50, sms_allowed_countries: 'GB,IE' });

      await addUser(app, { account: 'acme', email: 'ann@acme.test' });
      const token = await signInToken(app, { account: 'acme', email: 'ann@acme.test' });
      const american = await app.api('POST', '/api/v1/me/two-factor/sms', { token, body: { phone: '+1 415 555 2671' } });
      assert.equal(american.statusCode, 400, american.body);
      assert.equal(american.json().error.code, 'phone_not_allowed');
      // A national number is read in the account's country (GB).
      const british = await app.api('POST', '/api/v1/me/two-factor/sms', { token, body: { phone: '07400 123456' } });
      assert.equal(british.statusCode, 200, british.body);
      assert.ok((await app.outbox()).some((m) => m.channel === 'sms' && m.to === '+447400123456'));

      const cleared = await app.api('PUT', '/api/v1/admin/security-policy', {
        token: owner,
        body: { sms_daily_budget: null, sms_allowed_countries: null, ...confirm },
      });
      assert.equal(cleared.json().sms_daily_budget, null);
      assert.equal(cleared.json().sms_allowed_countries, null);
    } finally {
      await app.close();
    }
  });
});
