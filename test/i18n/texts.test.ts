// Texts and emails in the recipient's language (DESIGN.md row 21): every language's
// texted code fits one segment (160 GSM-7 septets, or 70 UCS-2 units for Arabic and
// Japanese) with worst-case values, and a Japanese person gets Japanese texts and mail
// dates through the outbox.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LANGUAGES } from '../../src/domain/languages.js';
import { smsCodeText, smsLength } from '../../src/domain/sms-codes.js';
import { translatorFor } from '../../src/i18n/translator.js';
import { addUser, setUpAccount, signInToken, startTestApp, type TestApp } from '../support/harness.js';
import { freshUsNumber } from '../support/sms.js';

const CODE = '999999';
/** A typical sign-in host: the WebOTP line counts against the segment too. */
const HOST = 'id.example.com';

function text(language: (typeof LANGUAGES)[number], accountName: string): string {
  const t = translatorFor(language);
  return smsCodeText({ code: CODE, accountName, host: HOST, message: (account) => t.t('sms.code', { code: CODE, product: 'Tessera', account }) });
}

describe('texted codes in every language', () => {
  for (const language of LANGUAGES) {
    it(`${language}: one segment, the code and the WebOTP line intact, whatever the account name`, () => {
      for (const accountName of ['W'.repeat(100), 'ش'.repeat(100), '株'.repeat(100), 'Ünïcödé Sûppört Çø'.repeat(6)]) {
        const sms = text(language, accountName);
        const { units, segmentLimit } = smsLength(sms);
        assert.ok(units <= segmentLimit, `${language}: ${units} > ${segmentLimit}: ${sms}`);
        assert.ok(sms.endsWith(`\n\n@${HOST} #${CODE}`));
        assert.ok(sms.includes(CODE));
      }
    });

    it(`${language}: a 16-character account name is never shortened`, () => {
      const sms = text(language, 'Acme Support Ltd');
      assert.ok(sms.includes('Acme Support Ltd'), sms);
      if (language !== 'ar' && language !== 'ja') assert.equal(smsLength(sms).encoding, 'gsm7', `${language} stays GSM-7: ${sms}`);
    });
  }
});

describe('a Japanese person’s text and email', () => {
  let app: TestApp;
  let token: string;
  before(async () => {
    app = await startTestApp();
    await setUpAccount(app);
    await addUser(app, { account: 'acme', email: 'hana@acme.test' });
    token = await signInToken(app, { account: 'acme', email: 'hana@acme.test' });
    await app.api('PUT', '/api/v1/me/preferences', { token, body: { language: 'ja', time_zone: 'Asia/Tokyo' } });
  });
  after(() => app.close());

  it('the texted code is in Japanese, within 70 UCS-2 units', async () => {
    const phone = freshUsNumber();
    const started = await app.api('POST', '/api/v1/me/two-factor/sms', { token, body: { phone: phone.national } });
    assert.equal(started.statusCode, 200, started.body);
    const sms = (await app.outbox()).find((entry) => entry.channel === 'sms' && entry.to === phone.e164);
    assert.ok(sms);
    assert.match(sms.body, /^Tessera（Acme Support）の確認コード：\d{6}\n\n@localhost #\d{6}$/);
    assert.ok(smsLength(sms.body).units <= 70);
  });

  it('an email’s words and time are in Japanese, in Tokyo time', async () => {
    await app.api('PUT', '/api/v1/me/password', {
      token,
      body: { current_password: 'correct horse battery staple', new_password: 'violet lamp harbour 42 quietly' },
    });
    const mail = (await app.outbox()).find((entry) => entry.channel === 'email' && entry.to === 'hana@acme.test' && entry.purpose === 'password_changed');
    assert.ok(mail);
    assert.match(mail.body, /日時: 2026年11月28日 21:00 JST/);
    assert.equal(mail.subject, 'パスワードが変更されました — Tessera (Acme Support)');
    assert.match(mail.body, /^パスワードが変更されました。他のセッションはすべてサインアウトされました。\n/);
    assert.match(mail.body, /アカウント: Acme Support（短縮名: acme）/);
    assert.match(mail.body, /心当たりがない場合は、今すぐ http:\/\/localhost:\d+\/profile\/security でパスワードを変更し/);
    assert.doesNotMatch(mail.body, /Account:|When:|If this was not you/);
  });
});
