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
  ['twoFactorEnabled', mails.twoFactorEnabled(context, { method: 'an authenticator app' })],
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
