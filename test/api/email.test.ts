// Email over SMTP, end to end: real flows through the API write their mail into the
// outbox, the worker delivers it to a real SMTP server running in this process, and
// the tests read what arrived. Also: SMTP down and back, and two workers on one
// database sending each mail once.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { translatorFor } from '../../src/i18n/translator.js';

/** How an English reader without a time zone sees a moment. */
const formatMoment = (time: number): string => translatorFor('en').moment(time);
import { Authenticator } from '../support/authenticator.js';
import {
  OTHER_STRONG_PASSWORD,
  STRONG_PASSWORD,
  addUser,
  dialects,
  linkFrom,
  setUpAccount,
  signIn,
  signInToken,
  startTestApp,
  tokenFromLink,
  type TestApp,
} from '../support/harness.js';
import { TestSmtpServer, type ReceivedMail } from '../support/smtp-server.js';
import { OutboxWorker } from '../../src/delivery/outbox-worker.js';
import { DevelopmentOutboxSender } from '../../src/delivery/senders.js';
import { SmtpSender } from '../../src/delivery/smtp-sender.js';
import { openStore } from '../../src/store/database.js';
import { enqueueMessage } from '../../src/store/outbox.js';

const PERIOD = 30_000;
const FROM = 'Acme Sign-in <sign-in@tessera.test>';
const REFUSED = 'bounce@acme.test';

/** The HTML part as a reader sees it: tags dropped, entities decoded. */
function htmlAsText(html: string): string {
  return html
    .replace(/<br>|<\/p>/g, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

/** Both parts of a notification name the account, the time, the browser and the IP,
 * and say what to do if it was not them. */
function assertDetails(mail: ReceivedMail, expected: { at: number; ip: string; notYou: RegExp }): void {
  assert.ok(mail.text, `a text part in "${mail.subject}"`);
  assert.ok(mail.html, `an HTML part in "${mail.subject}"`);
  for (const [name, part] of [
    ['text', mail.text],
    ['HTML', htmlAsText(mail.html)],
  ] as const) {
    assert.match(part, /Account: Acme Support \(short name: acme\)/, `${name} part of "${mail.subject}" names the account and its short name`);
    assert.ok(part.includes('/sign-in?account=acme'), `${name} part of "${mail.subject}" links to the sign-in with the account filled in`);
    assert.ok(part.includes(`When: ${formatMoment(expected.at)}`), `${name} part of "${mail.subject}" gives the time`);
    assert.match(part, /Browser: Chrome on Linux/, `${name} part of "${mail.subject}" names the browser`);
    assert.ok(part.includes(`IP address: ${expected.ip}`), `${name} part of "${mail.subject}" gives the IP`);
    assert.match(part, expected.notYou, `${name} part of "${mail.subject}" says what to do if it was not them`);
  }
}

function assertNoSecrets(mail: ReceivedMail, secrets: string[]): void {
  const parts = [mail.raw, mail.text ?? '', mail.html ?? '', mail.subject].map((part) => part.toLowerCase());
  for (const secret of secrets) {
    for (const part of parts) assert.ok(!part.includes(secret.toLowerCase()), `"${mail.subject}" must not contain a secret`);
  }
}

function only(mails: ReceivedMail[], subject: RegExp): ReceivedMail {
  const found = mails.filter((mail) => subject.test(mail.subject));
  assert.equal(found.length, 1, `exactly one mail matching ${subject}, got: ${mails.map((m) => m.subject).join(' | ')}`);
  return found[0]!;
}

async function userId(app: TestApp, token: string): Promise<string> {
  return (await app.api('GET', '/api/v1/me', { token })).json().id;
}

for (const dialect of dialects()) {
  describe(`email over SMTP on ${dialect.name}`, { skip: dialect.skip, timeout: 180_000 }, () => {
    let smtp: TestSmtpServer;
    let app: TestApp;
    let ownerToken: string;
    /** Every recovery code, seed and passcode these tests handle: no mail may hold one. */
    const secrets: string[] = [];

    const startSmtp = (port?: number) => TestSmtpServer.start({ port, refuseRecipient: (address) => address === REFUSED });

    before(async () => {
      smtp = await startSmtp();
      app = await startTestApp({ dialect: dialect.name, env: { TESSERA_SMTP_URL: smtp.url, TESSERA_SMTP_FROM: FROM } });
      ownerToken = (await setUpAccount(app)).token;
    });
    after(async () => {
      await app?.close();
      await smtp?.close();
    });

    const drain = async () => {
      await app.runtime.deps.background.settle(); // a password reset's mail is written after its answer
      return app.runtime.worker.drain();
    };

    it('an invitation goes to the invitee from TESSERA_SMTP_FROM, with a working link; its content is erased once sent', async () => {
      const at = app.clock.now();
      const invite = await app.api('POST', '/api/v1/admin/users', {
        token: ownerToken,
        ip: '203.0.113.10',
        body: { email: 'Nia@Acme.test', role: 'agent', name: 'Nia Agent' },
      });
      assert.equal(invite.statusCode, 200, invite.body);
      const row = await app.runtime.deps.db.selectFrom('outbox_messages').selectAll().where('purpose', '=', 'invitation').executeTakeFirstOrThrow();
      assert.equal(row.status, 'pending');
      assert.equal(smtp.mailsTo('nia@acme.test').length, 0, 'nothing is sent inside the request');

      assert.ok((await drain()) >= 1);
      const mail = only(smtp.mailsTo('nia@acme.test'), /invited/);
      assert.deepEqual(mail.envelopeTo, ['nia@acme.test']);
      assert.equal(mail.envelopeFrom, 'sign-in@tessera.test');
      assert.match(mail.headers.get('from') ?? '', /^"?Acme Sign-in"? <sign-in@tessera\.test>$/);
      assert.equal(mail.headers.get('to'), 'nia@acme.test');
      assert.equal(mail.subject, 'You are invited — Tessera (Acme Support)');
      assert.equal(mail.headers.get('auto-submitted'), 'auto-generated');
      assert.equal(mail.headers.get('message-id'), `<${row.id}@tessera.test>`);
      assert.match(mail.headers.get('content-type') ?? '', /^multipart\/alternative/);
      assertDetails(mail, { at, ip: '203.0.113.10', notYou: /If you did not expect this invitation, you can ignore this email/ });

      const link = linkFrom(mail.text!, '/invitation');
      assert.ok(mail.html!.includes(`href="${link.replace(/&/g, '&amp;')}"`), 'the HTML part links to the same place');
      const accepted = await app.api('POST', '/api/v1/invitations/accept', { body: { token: tokenFromLink(link), password: OTHER_STRONG_PASSWORD } });
      assert.equal(accepted.json().status, 'signed_in', accepted.body);

      const sent = await app.runtime.deps.db.selectFrom('outbox_messages').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
      assert.equal(sent.status, 'sent');
      assert.equal(sent.sent_at, app.clock.now());
      assert.equal(sent.payload_ciphertext, null, 'after a real send, the database holds no link');
    });

    it('a password reset mails a link; completing it mails "your password was changed"', async () => {
      await addUser(app, { account: 'acme', email: 'forgetful@acme.test' });
      const at = app.clock.now();
      const asked = await app.api('POST', '/api/v1/password-reset', { ip: '198.51.100.20', body: { account: 'acme', email: 'forgetful@acme.test' } });
      assert.equal(asked.statusCode, 200);
      await drain();
      const reset = only(smtp.mailsTo('forgetful@acme.test'), /Reset your password/);
      assertDetails(reset, { at, ip: '198.51.100.20', notYou: /If you did not ask for this, ignore this email/ });
      assert.match(reset.text!, /still be asked for a passcode/);
      const token = tokenFromLink(linkFrom(reset.text!, '/password/reset'));

      app.clock.advance(60_000);
      const doneAt = app.clock.now();
      const done = await app.api('POST', '/api/v1/password-reset/complete', { ip: '198.51.100.21', body: { token, new_password: OTHER_STRONG_PASSWORD } });
      assert.equal(done.json().status, 'signed_in', done.body);
      await drain();
      const changed = only(smtp.mailsTo('forgetful@acme.test'), /password was changed/);
      assertDetails(changed, { at: doneAt, ip: '198.51.100.21', notYou: /If this was not you, change your password now/ });
    });

    it('a password change mails "your password was changed"', async () => {
      await addUser(app, { account: 'acme', email: 'changer@acme.test' });
      const token = await signInToken(app, { account: 'acme', email: 'changer@acme.test' });
      const at = app.clock.now();
      const changed = await app.api('PUT', '/api/v1/me/password', {
        token,
        ip: '192.0.2.30',
        body: { current_password: STRONG_PASSWORD, new_password: OTHER_STRONG_PASSWORD },
      });
      assert.equal(changed.statusCode, 200, changed.body);
      await drain();
      const mail = only(smtp.mailsTo('changer@acme.test'), /password was changed/);
      assertDetails(mail, { at, ip: '192.0.2.30', notYou: /If this was not you, change your password now at http:\/\/localhost:\d+\/profile\/security/ });
      assert.ok(!mail.raw.includes(OTHER_STRONG_PASSWORD) && !mail.raw.includes(STRONG_PASSWORD), 'no password in the mail');
    });

    it('2FA on, recovery codes used (count left, warning at 3), new codes, 2FA off: one mail each, never a code or a seed', async () => {
      await addUser(app, { account: 'acme', email: 'tia@acme.test' });
      const ip = '203.0.113.77';
      const token = await signInToken(app, { account: 'acme', email: 'tia@acme.test' });
      const userMails = () => smtp.mailsTo('tia@acme.test');

      // Enable with the authenticator app, through the API.
      const started = await app.api('POST', '/api/v1/me/two-factor/totp', { token, ip });
      assert.equal(started.statusCode, 200, started.body);
      const authenticator = Authenticator.fromQrCode(started.json().qr_code);
      secrets.push(started.json().secret);
      const enabledAt = app.clock.now();
      const enableCode = authenticator.code(enabledAt);
      const verified = await app.api('POST', '/api/v1/me/two-factor/totp/verify', { token, ip, body: { code: enableCode } });
      assert.equal(verified.statusCode, 200, verified.body);
      const recoveryCodes = verified.json().recovery_codes as string[];
      secrets.push(enableCode, ...recoveryCodes);
      await drain();
      assertDetails(only(userMails(), /Two-factor authentication is on/), { at: enabledAt, ip, notYou: /If this was not you, change your password now/ });

      // Seven recovery codes used, one sign-in each: the mail counts down to 3 and warns.
      for (let used = 1; used <= 7; used += 1) {
        app.clock.advance(PERIOD);
        const challenge = (await signIn(app, { account: 'acme', email: 'tia@acme.test', ip })).json();
        assert.equal(challenge.status, 'two_factor_required');
        const usedAt = app.clock.now();
        const answer = await app.api('POST', '/api/v1/sign-in/two-factor', {
          ip,
          body: { challenge_token: challenge.challenge_token, method: 'recovery_code', code: recoveryCodes[used - 1] },
        });
        assert.equal(answer.json().status, 'signed_in', answer.body);
        await drain();
        const left = 10 - used;
        const mails = userMails().filter((mail) => /recovery code was used/i.test(mail.subject));
        assert.equal(mails.length, used, 'one mail per recovery code used');
        const mail = mails[used - 1]!;
        assert.match(mail.text!, new RegExp(`${left} recovery codes are left`));
        assert.match(htmlAsText(mail.html!), new RegExp(`${left} recovery codes are left`));
        if (left <= 3) {
          assert.match(mail.subject, /only 3 left/);
          assert.match(mail.text!, /Only 3 recovery codes are left\. Make a new set at http:\/\/localhost:\d+\/profile\/security/);
        } else {
          assert.doesNotMatch(mail.text!, /Only \d/);
        }
        if (used === 1) assertDetails(mail, { at: usedAt, ip, notYou: /If this was not you, change your password now/ });
      }

      // A new set, confirmed with a fresh passcode.
      app.clock.advance(PERIOD);
      const regeneratedAt = app.clock.now();
      const regenerateCode = authenticator.code(regeneratedAt);
      const made = await app.api('POST', '/api/v1/me/two-factor/recovery-codes', { token, ip, body: { method: 'totp', code: regenerateCode } });
      assert.equal(made.statusCode, 200, made.body);
      secrets.push(regenerateCode, ...(made.json().recovery_codes as string[]));
      await drain();
      const regenerated = only(userMails(), /New recovery codes/);
      assertDetails(regenerated, { at: regeneratedAt, ip, notYou: /If this was not you/ });
      assert.match(regenerated.text!, /profile\/security/, 'links to the page, not the codes');

      // Off, with a passcode.
      app.clock.advance(PERIOD);
      const disabledAt = app.clock.now();
      const disableCode = authenticator.code(disabledAt);
      const off = await app.api('DELETE', '/api/v1/me/two-factor', { token, ip, body: { method: 'totp', code: disableCode } });
      assert.equal(off.statusCode, 200, off.body);
      secrets.push(disableCode);
      await drain();
      assertDetails(only(userMails(), /Two-factor authentication is off/), { at: disabledAt, ip, notYou: /If this was not you, change your password now/ });

      for (const mail of userMails()) assertNoSecrets(mail, secrets);
    });

    it('no mail sent so far holds a recovery code, a seed or a passcode; each has both parts', async () => {
      assert.ok(smtp.mails.length >= 14, `mails so far: ${smtp.mails.length}`);
      assert.ok(secrets.length >= 24, 'the secrets handled above');
      for (const mail of smtp.mails) {
        assert.ok(mail.text && mail.html, `"${mail.subject}" has a text and an HTML part`);
        assert.match(mail.text, /^Account: Acme Support \(short name: acme\)$/m);
        assertNoSecrets(mail, secrets);
      }
      // Every outbox row that was delivered by SMTP has lost its payload.
      const rows = await app.runtime.deps.db.selectFrom('outbox_messages').select(['status', 'payload_ciphertext']).where('channel', '=', 'email').execute();
      for (const row of rows.filter((r) => r.status === 'sent')) assert.equal(row.payload_ciphertext, null);
    });

    it('SMTP down: the action succeeds, the mail waits with its attempts counted; SMTP back: it arrives exactly once', async () => {
      await addUser(app, { account: 'acme', email: 'patient@acme.test' });
      const token = await signInToken(app, { account: 'acme', email: 'patient@acme.test' });
      const id = await userId(app, token);
      const port = smtp.port;
      await smtp.close();

      const changed = await app.api('PUT', '/api/v1/me/password', { token, body: { current_password: STRONG_PASSWORD, new_password: OTHER_STRONG_PASSWORD } });
      assert.equal(changed.statusCode, 200, 'the action does not wait for the mail');
      const row = () =>
        app.runtime.deps.db
          .selectFrom('outbox_messages')
          .selectAll()
          .where('user_id', '=', id)
          .where('purpose', '=', 'password_changed')
          .executeTakeFirstOrThrow();

      assert.equal(await drain(), 0);
      let waiting = await row();
      assert.equal(waiting.status, 'pending');
      assert.equal(waiting.attempts, 1);
      assert.match(waiting.last_error ?? '', /ECONNREFUSED/);
      assert.equal(waiting.next_attempt_at, app.clock.now() + 1000, 'first retry after 1 s');
      assert.notEqual(waiting.payload_ciphertext, null, 'the content is kept until it is sent');

      assert.equal(await drain(), 0);
      assert.equal((await row()).attempts, 1, 'not retried before its backoff');
      app.clock.advance(1000);
      assert.equal(await drain(), 0);
      waiting = await row();
      assert.equal(waiting.attempts, 2);
      assert.equal(waiting.next_attempt_at, app.clock.now() + 2000, 'then after 2 s');

      smtp = await startSmtp(port);
      assert.equal(await drain(), 0, 'still backing off');
      assert.equal(smtp.mails.length, 0);
      app.clock.advance(2000);
      assert.equal(await drain(), 1);
      assert.equal(await drain(), 0);
      const mails = smtp.mailsTo('patient@acme.test');
      assert.equal(mails.length, 1, 'exactly once');
      assert.match(mails[0]!.subject, /password was changed/);
      const sent = await row();
      assert.equal(sent.status, 'sent');
      assert.equal(sent.attempts, 2, 'the failed attempts stay counted');
      assert.equal(sent.payload_ciphertext, null);
    });

    it('a mail the SMTP server refuses waits for its retry without holding back the others', async () => {
      for (const email of [REFUSED, 'after.bounce@acme.test']) {
        const invite = await app.api('POST', '/api/v1/admin/users', { token: ownerToken, body: { email, role: 'end_user' } });
        assert.equal(invite.statusCode, 200, invite.body);
      }
      assert.equal(await drain(), 1);
      assert.equal(smtp.mailsTo('after.bounce@acme.test').length, 1);
      assert.equal(smtp.mailsTo(REFUSED).length, 0);
      const refused = await app.runtime.deps.db
        .selectFrom('outbox_messages')
        .selectAll()
        .where('purpose', '=', 'invitation')
        .where('status', '=', 'pending')
        .executeTakeFirstOrThrow();
      assert.equal(refused.attempts, 1);
      assert.match(refused.last_error ?? '', /550/);
    });
  });

  describe(`admin help, sign-in locks, new and trusted computers, email codes over SMTP on ${dialect.name}`, { skip: dialect.skip, timeout: 120_000 }, () => {
    let smtp: TestSmtpServer;
    let app: TestApp;
    let ownerToken: string;
    const ownerConfirm = { method: 'password', code: STRONG_PASSWORD };
    const drain = async () => {
      await app.runtime.deps.background.settle(); // a password reset's mail is written after its answer
      return app.runtime.worker.drain();
    };

    before(async () => {
      smtp = await TestSmtpServer.start();
      app = await startTestApp({ dialect: dialect.name, env: { TESSERA_SMTP_URL: smtp.url } });
      ownerToken = (await setUpAccount(app)).token;
    });
    after(async () => {
      await app?.close();
      await smtp?.close();
    });

    async function enrolled(email: string): Promise<{ id: string; authenticator: Authenticator; secrets: string[] }> {
      await addUser(app, { account: 'acme', email });
      const token = await signInToken(app, { account: 'acme', email });
      const started = (await app.api('POST', '/api/v1/me/two-factor/totp', { token })).json();
      const authenticator = new Authenticator(started.otpauth_uri);
      const code = authenticator.code(app.clock.now());
      const verified = await app.api('POST', '/api/v1/me/two-factor/totp/verify', { token, body: { code } });
      assert.equal(verified.statusCode, 200, verified.body);
      return { id: await userId(app, token), authenticator, secrets: [started.secret, code, ...verified.json().recovery_codes] };
    }

    it('an admin-issued recovery code: the person is told who, until when and what to do, never the code', async () => {
      const lost = await enrolled('lost@acme.test');
      const at = app.clock.now();
      const issued = await app.api('POST', `/api/v1/admin/users/${lost.id}/recovery-code`, {
        token: ownerToken,
        ip: '192.0.2.44',
        body: { reason: 'Lost phone', ...ownerConfirm },
      });
      assert.equal(issued.statusCode, 200, issued.body);
      await drain();
      const mail = only(smtp.mailsTo('lost@acme.test'), /recovery code for you/);
      assertDetails(mail, { at, ip: '192.0.2.44', notYou: /If you did not ask for this, tell your account admin at once/ });
      assert.match(mail.text!, /Olive Owner, an admin of Acme Support, issued a one-time recovery code/);
      assert.ok(mail.text!.includes(`until ${formatMoment(at + 60 * 60_000)}`), 'says until when it works');
      assertNoSecrets(mail, [issued.json().code, ...lost.secrets]);
    });

    it('an admin reset of 2FA is mailed; the email confirmation code that follows is the one passcode a mail may hold', async () => {
      const reset = await enrolled('reset@acme.test');
      const at = app.clock.now();
      const done = await app.api('DELETE', `/api/v1/admin/users/${reset.id}/two-factor`, {
        token: ownerToken,
        ip: '192.0.2.45',
        body: { reason: 'New phone', ...ownerConfirm },
      });
      assert.equal(done.statusCode, 200, done.body);
      await drain();
      const resetMail = only(smtp.mailsTo('reset@acme.test'), /was reset/);
      assertDetails(resetMail, { at, ip: '192.0.2.45', notYou: /If you did not ask for this, tell your account admin at once/ });
      assertNoSecrets(resetMail, reset.secrets);

      const next = (await signIn(app, { account: 'acme', email: 'reset@acme.test', ip: '192.0.2.46' })).json();
      assert.equal(next.status, 'two_factor_setup_required', JSON.stringify(next));
      const askedAt = app.clock.now();
      assert.equal((await app.api('POST', '/api/v1/me/email-confirmation', { token: next.session_token, ip: '192.0.2.46' })).statusCode, 200);
      await drain();
      const codeMail = only(smtp.mailsTo('reset@acme.test'), /confirmation code/);
      assertDetails(codeMail, { at: askedAt, ip: '192.0.2.46', notYou: /someone knows your password: change it now/ });
      const code = /Your confirmation code is (\d{6})\./.exec(codeMail.text!)?.[1];
      assert.ok(code, 'the code is in the text part');
      assert.ok(htmlAsText(codeMail.html!).includes(`Your confirmation code is ${code}.`), 'and in the HTML part');
      const verified = await app.api('POST', '/api/v1/me/email-confirmation/verify', { token: next.session_token, body: { code } });
      assert.equal(verified.statusCode, 200, verified.body);
      assertNoSecrets(codeMail, reset.secrets);
    });

    it('ten wrong passwords pause sign-in and mail the person once, never the passwords tried', async () => {
      await addUser(app, { account: 'acme', email: 'guessed@acme.test' });
      const tried: string[] = [];
      let lockedAt = 0;
      for (let i = 0; i < 11; i += 1) {
        const guess = `wrong guess number ${i} ${'x'.repeat(i)}`;
        tried.push(guess);
        lockedAt = app.clock.now();
        const answer = await signIn(app, { account: 'acme', email: 'guessed@acme.test', password: guess, ip: '198.51.100.99' });
        assert.equal(answer.statusCode, 401);
      }
      await drain();
      const mail = only(smtp.mailsTo('guessed@acme.test'), /Sign-in paused/);
      assertDetails(mail, { at: lockedAt, ip: '198.51.100.99', notYou: /If these were not your attempts, someone may be guessing your password/ });
      assertNoSecrets(mail, tried);
    });

    it('a sign-in from a computer not seen before, trusted in the same step, is mailed once with its browser and IP', async () => {
      const ivy = await enrolled('ivy@acme.test');
      const safari = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15';
      app.clock.advance(PERIOD);
      const at = app.clock.now();
      const challenge = await app.api('POST', '/api/v1/sign-in', {
        ip: '198.51.100.5',
        headers: { 'user-agent': safari },
        body: { account: 'acme', email: 'ivy@acme.test', password: STRONG_PASSWORD },
      });
      assert.equal(challenge.json().status, 'two_factor_required', challenge.body);
      const code = ivy.authenticator.code(at);
      const done = await app.api('POST', '/api/v1/sign-in/two-factor', {
        ip: '198.51.100.5',
        headers: { 'user-agent': safari },
        body: { challenge_token: challenge.json().challenge_token, method: 'totp', code, remember_device: true },
      });
      assert.equal(done.json().status, 'signed_in', done.body);
      assert.ok(done.json().trusted_device_token);
      await drain();
      // A new computer trusted in the same sign-in is one mail, not two.
      assert.equal(smtp.mailsTo('ivy@acme.test').filter((m) => /computer/.test(m.subject)).length, 1);
      for (const subject of [/new computer, now trusted/]) {
        const mail = only(smtp.mailsTo('ivy@acme.test'), subject);
        assert.ok(mail.text && mail.html);
        for (const part of [mail.text, htmlAsText(mail.html)]) {
          assert.match(part, /Account: Acme Support/);
          assert.ok(part.includes(`When: ${formatMoment(at)}`));
          assert.match(part, /Browser: Safari on macOS/);
          assert.match(part, /IP address: 198\.51\.100\.5/);
          assert.match(part, /If this was not you, change your password now/);
        }
        assertNoSecrets(mail, [...ivy.secrets, code, done.json().trusted_device_token, done.json().session_token]);
      }
    });
  });

  describe(`two workers on one ${dialect.name} database`, { skip: dialect.skip, timeout: 120_000 }, () => {
    let smtp: TestSmtpServer;
    let app: TestApp;
    let second: ReturnType<typeof openStore>;

    before(async () => {
      // A little delay per mail widens the window in which the workers overlap.
      smtp = await TestSmtpServer.start({ delayInMilliseconds: 3 });
      app = await startTestApp({ dialect: dialect.name, env: { TESSERA_SMTP_URL: smtp.url } });
      second = openStore(app.config.databaseUrl);
    });
    after(async () => {
      await second?.close();
      await app?.close();
      await smtp?.close();
    });

    it('draining at the same time, each with its own connection, they send each mail exactly once', async (t) => {
      const { keys, deps } = app.runtime;
      const workers = [
        app.runtime.worker,
        new OutboxWorker({
          db: second.db,
          dialect: second.dialect,
          keys,
          now: app.clock.now,
          senders: { email: new SmtpSender({ url: smtp.url, from: FROM }), sms: new DevelopmentOutboxSender(), backchannel: new DevelopmentOutboxSender() },
        }),
        new OutboxWorker({
          db: second.db,
          dialect: second.dialect,
          keys,
          now: app.clock.now,
          senders: { email: new SmtpSender({ url: smtp.url, from: FROM }), sms: new DevelopmentOutboxSender(), backchannel: new DevelopmentOutboxSender() },
        }),
      ];
      let total = 0;
      for (let round = 0; round < 3; round += 1) {
        const recipients = Array.from({ length: 20 }, (_, i) => `r${round}-${i}@acme.test`);
        for (const to of recipients) {
          await enqueueMessage(
            deps.db,
            keys,
            { accountId: null, userId: null, channel: 'email', purpose: 'test', payload: { to, subject: `for ${to}`, text: 'hello', html: '<p>hello</p>' } },
            app.clock.now(),
          );
        }
        const sentBy = await Promise.all(workers.map((worker) => worker.drain()));
        t.diagnostic(`round ${round}: sent by each worker ${sentBy.join(' + ')}`);
        total += recipients.length;
        assert.equal(
          sentBy.reduce((a, b) => a + b, 0),
          recipients.length,
          `round ${round}: sent counts ${sentBy.join(' + ')}`,
        );
        for (const to of recipients) assert.equal(smtp.mailsTo(to).length, 1, `${to} got exactly one mail`);
        assert.equal(smtp.mails.length, total);
      }
      const rows = await deps.db.selectFrom('outbox_messages').select(['status', 'payload_ciphertext', 'attempts']).execute();
      assert.equal(rows.length, total);
      for (const row of rows) {
        assert.equal(row.status, 'sent');
        assert.equal(row.attempts, 0);
        assert.equal(row.payload_ciphertext, null);
      }
    });
  });
}
