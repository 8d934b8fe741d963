// Every template: both parts, the account, time, browser and IP, what to do if it
// was not you; escaping in the HTML part; the recovery-code count and its warning.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mails, type Mail, type MailContext } from '../../src/delivery/email-templates.js';
import { translatorFor } from '../../src/i18n/translator.js';

const context: MailContext = {
  t: translatorFor('en'),
  productName: 'Tessera',
  accountName: 'Acme <b>Support</b> & Co',
  accountSlug: 'acme-support',
  baseUrl: 'https://id.acme.test',
  at: Date.UTC(2026, 10, 28, 12, 0, 0),
  browser: 'Firefox on Windows',
  ip: '203.0.113.9',
};

const all: [string, Mail][] = [
  ['invitation', mails.invitation(context, { inviterName: 'Olive <Owner>', link: 'https://id.acme.test/invitation?token=a.b&x=1' })],
  ['passwordReset', mails.passwordReset(context, { link: 'https://id.acme.test/password/reset?token=a.b' })],
  ['passwordChanged', mails.passwordChanged(context)],
  ['signInLocked', mails.signInLocked(context)],
  ['twoFactorEnabled', mails.twoFactorEnabled(context, { method: 'totp' })],
  ['twoFactorDisabled', mails.twoFactorDisabled(context)],
  ['recoveryCodeUsed', mails.recoveryCodeUsed(context, { left: 5 })],
  ['recoveryCodesRegenerated', mails.recoveryCodesRegenerated(context)],
  ['twoFactorResetByAdmin', mails.twoFactorResetByAdmin(context, { adminName: 'Olive Owner' })],
  ['recoveryCodeIssuedByAdmin', mails.recoveryCodeIssuedByAdmin(context, { adminName: 'Olive Owner', expiresAt: context.at + 3_600_000 })],
  ['emailConfirmationCode', mails.emailConfirmationCode(context, { code: '123456', expiresInMinutes: 10 })],
  ['newComputer', mails.newComputer(context)],
  ['computerTrusted', mails.computerTrusted(context)],
];

describe('email templates', () => {
  it('each names the product and account in the subject, and has both parts with the details', () => {
    for (const [name, mail] of all) {
      assert.ok(mail.subject.endsWith('— Tessera (Acme <b>Support</b> & Co)'), `${name} subject`);
      for (const line of ['Account: Acme <b>Support</b> & Co', 'When: 28 Nov 2026, 12:00 UTC', 'Browser: Firefox on Windows', 'IP address: 203.0.113.9']) {
        assert.ok(mail.text.includes(line), `${name} text: ${line}`);
      }
      assert.ok(mail.html.includes('Account: Acme &lt;b&gt;Support&lt;/b&gt; &amp; Co'), `${name} HTML escapes the account name`);
      assert.ok(!mail.html.includes('<b>'), `${name} HTML has no injected tag`);
      assert.match(mail.text, /If (this was not you|you did not|these were not|you are not)/, `${name} says what to do if it was not them`);
    }
  });

  it('links in the HTML part only to this server; the invitation link is escaped in its attribute', () => {
    const invitation = all[0]![1];
    assert.ok(invitation.html.includes('<a href="https://id.acme.test/invitation?token=a.b&amp;x=1">Set your password</a>'));
    assert.ok(invitation.html.includes('Olive &lt;Owner&gt;'));
    const changed = mails.passwordChanged(context);
    assert.ok(changed.html.includes('<a href="https://id.acme.test/profile/security">https://id.acme.test/profile/security</a>'));
    const elsewhere = mails.passwordChanged({ ...context, baseUrl: 'https://other.test' });
    assert.equal((elsewhere.html.match(/<a /g) ?? []).length, 1, 'a link to the configured base URL only');
  });

  it('a used recovery code says how many are left, with a warning at 3 or fewer', () => {
    const five = mails.recoveryCodeUsed(context, { left: 5 });
    assert.match(five.text, /5 recovery codes are left\./);
    assert.doesNotMatch(five.text, /Only|No recovery/);
    assert.equal(five.subject.startsWith('A recovery code was used —'), true);
    const four = mails.recoveryCodeUsed(context, { left: 4 });
    assert.doesNotMatch(four.text, /Only/);
    const three = mails.recoveryCodeUsed(context, { left: 3 });
    assert.match(three.subject, /^A recovery code was used; only 3 left/);
    assert.match(three.text, /Only 3 recovery codes are left\. Make a new set at https:\/\/id\.acme\.test\/profile\/security\./);
    const one = mails.recoveryCodeUsed(context, { left: 1 });
    assert.match(one.text, /1 recovery code is left\./);
    const none = mails.recoveryCodeUsed(context, { left: 0 });
    assert.match(none.subject, /none left/);
    assert.match(none.text, /No recovery codes are left\. Make a new set now/);
  });

  it('only the email confirmation mail carries a code', () => {
    for (const [name, mail] of all) {
      if (name === 'emailConfirmationCode') assert.match(mail.text, /Your confirmation code is 123456\./);
      else assert.doesNotMatch(mail.text, /\b\d{6}\b/, name);
    }
  });
});

describe('email templates in the recipient’s language', () => {
  const german: MailContext = { ...context, t: translatorFor('de', 'Europe/Berlin') };
  const arabic: MailContext = { ...context, t: translatorFor('ar') };

  it('German: the words, the details, the plural of what is left, the time in Berlin; <html lang="de" dir="ltr">', () => {
    const mail = mails.recoveryCodeUsed(german, { left: 2 });
    assert.match(mail.subject, /^Ein Wiederherstellungscode wurde verwendet; nur noch 2 übrig — Tessera \(Acme <b>Support<\/b> & Co\)$/);
    assert.match(mail.text, /Zur Anmeldung wurde ein Wiederherstellungscode verwendet\. 2 Wiederherstellungscodes sind übrig\./);
    assert.match(mail.text, /Nur noch 2 Wiederherstellungscodes sind übrig\. Erstellen Sie unter https:\/\/id\.acme\.test\/profile\/security neue\./);
    assert.match(mail.text, /Konto: Acme <b>Support<\/b> & Co \(Kurzname: acme-support\)/);
    assert.match(mail.text, /Zeitpunkt: 28\. Nov\. 2026, 13:00 MEZ/);
    assert.match(mail.text, /Falls Sie das nicht waren, ändern Sie jetzt Ihr Passwort/);
    assert.ok(mail.html.startsWith('<!doctype html><html lang="de" dir="ltr"><body'));
    assert.ok(mail.html.includes('<a href="https://id.acme.test/profile/security">https://id.acme.test/profile/security</a>'), 'our link stays a link');
    assert.ok(!mail.html.includes('<b>'), 'the account name is escaped');
    const enabled = mails.twoFactorEnabled(german, { method: 'totp' });
    assert.match(enabled.text, /mit einer Authentifizierungs-App aktiviert\./);
  });

  it('Arabic: right to left, its words and plural forms', () => {
    const mail = mails.passwordChanged(arabic);
    assert.ok(mail.html.startsWith('<!doctype html><html lang="ar" dir="rtl"><body'));
    assert.match(mail.subject, /^تم تغيير كلمة المرور — /);
    assert.match(mail.text, /الحساب: Acme <b>Support<\/b> & Co/);
    assert.match(mail.text, /إذا لم تكن أنت، فغيّر كلمة المرور الآن من https:\/\/id\.acme\.test\/profile\/security وأبلغ مشرف حسابك\./);
    assert.match(mails.recoveryCodeUsed(arabic, { left: 2 }).text, /تبقّى رمزا استرداد/);
    assert.match(mails.emailedCode(arabic, { code: '123456', expiresInMinutes: 10, use: 'sign_in' }).text, /رمزك هو 123456\./);
  });

  it('English is unchanged: the role and the method read as before', () => {
    assert.match(mails.roleChanged(context, { adminName: 'Olive', role: 'end_user' }).text, /changed your role to end user\./);
    assert.match(mails.twoFactorEnabled(context, { method: 'webauthn' }).text, /^Two-factor authentication was turned on with a security key\./);
    assert.match(
      mails.emailedCode(context, { code: '123456', expiresInMinutes: 10, use: 'enrolment' }).text,
      /Enter it to turn on emailed codes for two-factor authentication\. It works for 10 minutes\./,
    );
  });
});
