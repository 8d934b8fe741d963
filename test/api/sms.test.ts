// Text-message passcodes through the API (DESIGN.md rows 2, 4 and 14; SECURITY.md,
// SMS lines): enrolment with a validated E.164 number, codes (6 digits, 10 minutes,
// single use, hashed, bound, voided by a resend, counted on the one failure counter),
// the sign-in send with its cooldown, confirmations with method "sms", adding and
// changing a factor, the preferred method, and a provider failure that costs nothing.
// Quotas have their own suite (sms-quotas.test.ts).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PermanentDeliveryError } from '../../src/delivery/senders.js';
import { Authenticator } from '../support/authenticator.js';
import { STRONG_PASSWORD, addUser, dialects, setUpAccount, signIn, signInToken, startTestApp, type TestApp } from '../support/harness.js';
import { CountingSmsSender, freshUsNumber, latestCode, textsTo, tickBeforeTexts } from '../support/sms.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;

async function user(app: TestApp, email: string): Promise<string> {
  await addUser(app, { account: 'acme', email });
  return signInToken(app, { account: 'acme', email });
}

/** Turns SMS on for a person without 2FA; returns the number and the recovery codes. */
async function enrolSms(app: TestApp, token: string, phone = freshUsNumber()): Promise<{ phone: ReturnType<typeof freshUsNumber>; recoveryCodes: string[] }> {
  const started = await app.api('POST', '/api/v1/me/two-factor/sms', { token, body: { phone: phone.national } });
  assert.equal(started.statusCode, 200, started.body);
  const verified = await app.api('POST', '/api/v1/me/two-factor/sms/verify', { token, body: { code: await latestCode(app, phone.e164) } });
  assert.equal(verified.statusCode, 200, verified.body);
  return { phone, recoveryCodes: verified.json().recovery_codes };
}

async function challengeFor(app: TestApp, email: string): Promise<{ challenge_token: string; methods: string[]; preferred: string }> {
  const response = await signIn(app, { account: 'acme', email });
  assert.equal(response.json().status, 'two_factor_required', response.body);
  return response.json();
}

function secondStep(app: TestApp, challengeToken: string, method: string, code: string) {
  return app.api('POST', '/api/v1/sign-in/two-factor', { body: { challenge_token: challengeToken, method, code } });
}

async function failureCount(app: TestApp, email: string): Promise<number> {
  const row = await app.runtime.deps.db.selectFrom('users').select('failed_passcode_count').where('email', '=', email).executeTakeFirstOrThrow();
  return row.failed_passcode_count;
}

function otherCode(code: string): string {
  return code === '000000' ? '111111' : '000000';
}

for (const dialect of dialects()) {
  describe(`text-message passcodes on ${dialect.name}`, { skip: dialect.skip }, () => {
    let app: TestApp;

    before(async () => {
      app = tickBeforeTexts(await startTestApp({ dialect: dialect.name }));
      await setUpAccount(app);
    });
    after(async () => app?.close());

    it('validates the number and keeps it as E.164, reading national numbers in the account country (US) or the chosen one', async () => {
      const token = await user(app, 'val@acme.test');
      const refused = async (body: Record<string, unknown>, pattern: RegExp) => {
        const answer = await app.api('POST', '/api/v1/me/two-factor/sms', { token, body });
        assert.equal(answer.statusCode, 400, answer.body);
        assert.equal(answer.json().error.code, 'invalid_request');
        assert.equal(answer.json().error.field, body.country === 'ZZ' ? 'country' : 'phone');
        assert.match(answer.json().error.message, pattern);
      };
      await refused({ phone: '12' }, /not a valid phone number/);
      await refused({ phone: 'call me maybe' }, /digits only/);
      await refused({ phone: '+1 201 555 01234' }, /not a valid phone number/);
      await refused({ phone: '+44 20 7946 0000' }, /cannot receive text messages/); // a London landline
      await refused({ phone: '+1 900 555 0123' }, /cannot receive text messages/); // premium rate: pumping bait
      await refused({ phone: '07400 123456', country: 'ZZ' }, /country/);
      await refused({ phone: '07400 123456' }, /not a valid phone number in United States/);
      assert.equal((await textsTo(app, '+447400123456')).length, 0);

      const national = await app.api('POST', '/api/v1/me/two-factor/sms', { token, body: { phone: '07400 123456', country: 'GB' } });
      assert.equal(national.statusCode, 200, national.body);
      assert.deepEqual(Object.keys(national.json()).sort(), ['expires_at', 'phone', 'replaces_number', 'resend_after_seconds', 'status']);
      assert.equal(national.json().phone, '•••• ••• 56');
      assert.equal((await textsTo(app, '+447400123456')).length, 1, 'texted to the E.164 number');

      app.clock.advance(30 * SECOND);
      const us = await app.api('POST', '/api/v1/me/two-factor/sms', { token, body: { phone: '(202) 555-0142' } });
      assert.equal(us.statusCode, 200, us.body);
      assert.equal((await textsTo(app, '+12025550142')).length, 1, 'a national number in the account country (US)');
      const pending = (await app.api('GET', '/api/v1/me/two-factor/sms', { token })).json();
      assert.equal(pending.enrolled, null);
      assert.equal(pending.pending.phone, '•••• ••• 42');
      assert.equal(pending.pending.delivery, 'queued');
    });

    it('texts a 6-digit code in the WebOTP form; the code is never in an answer; a wrong code does not enable; the right one does', async () => {
      const token = await user(app, 'ann@acme.test');
      const phone = freshUsNumber();
      const started = await app.api('POST', '/api/v1/me/two-factor/sms', { token, body: { phone: phone.national } });
      assert.equal(started.statusCode, 200, started.body);
      const [text, ...older] = await textsTo(app, phone.e164);
      assert.equal(older.length, 0);
      const code = /^(\d{6}) /.exec(text!.body)![1]!;
      assert.equal(text!.body, `${code} is your Tessera (Acme Support) verification code.\n\n@localhost #${code}`);
      assert.ok(!started.body.includes(code), 'the code is not in the answer');
      assert.ok(!(await app.api('GET', '/api/v1/me/two-factor/sms', { token })).body.includes(code));

      const wrong = await app.api('POST', '/api/v1/me/two-factor/sms/verify', { token, body: { code: otherCode(code) } });
      assert.equal(wrong.statusCode, 400);
      assert.equal(wrong.json().error.code, 'invalid_code');
      assert.equal(await failureCount(app, 'ann@acme.test'), 1, 'a wrong code counts on the one failure counter');
      assert.equal((await app.api('GET', '/api/v1/me', { token })).json().two_factor.enabled, false);

      const verified = await app.api('POST', '/api/v1/me/two-factor/sms/verify', { token, body: { code: `${code.slice(0, 3)} ${code.slice(3)}` } });
      assert.equal(verified.statusCode, 200, verified.body);
      assert.equal(verified.json().recovery_codes.length, 10);
      assert.equal(await failureCount(app, 'ann@acme.test'), 0);
      const me = (await app.api('GET', '/api/v1/me', { token })).json();
      assert.deepEqual(me.two_factor, { enabled: true, methods: ['sms'], preferred: 'sms', recovery_codes_left: 10 });
      assert.deepEqual((await app.api('GET', '/api/v1/me/two-factor/sms', { token })).json(), {
        enrolled: { phone: `•••• ••• ${phone.lastDigits}` },
        pending: null,
      });
      const again = await app.api('POST', '/api/v1/me/two-factor/sms/verify', { token, body: { code } });
      assert.equal(again.statusCode, 400, 'nothing pending any more');

      // Stored encrypted, only the last two digits in clear, the code as an HMAC.
      const row = await app.runtime.deps.db
        .selectFrom('two_factor_methods')
        .selectAll()
        .where('type', '=', 'sms')
        .where('phone_last_digits', '=', phone.lastDigits)
        .executeTakeFirstOrThrow();
      assert.match(row.phone_ciphertext!, /^v2\.k[a-z0-9]+\./);
      assert.ok(!JSON.stringify(row).includes(phone.e164.slice(2)));
      assert.ok(!JSON.stringify(row).includes(code));
      const mail = (await app.outbox()).find((m) => m.to === 'ann@acme.test' && /two-factor/i.test(m.subject));
      assert.ok(mail, 'the person is emailed that 2FA is on');
      assert.ok(!mail.body.includes(code));
    });

    it('signs in with a texted code: the API never texts on its own; first send at once, "send again" after 30 s voids the old code', async () => {
      const token = await user(app, 'bob@acme.test');
      const { phone } = await enrolSms(app, token);
      const before = (await textsTo(app, phone.e164)).length;
      const c = await challengeFor(app, 'bob@acme.test');
      assert.deepEqual(c.methods, ['sms', 'recovery_code']);
      assert.equal(c.preferred, 'sms');
      assert.equal((await textsTo(app, phone.e164)).length, before, 'no text before one is asked for');
      const status0 = await app.api('POST', '/api/v1/sign-in/sms/status', { body: { challenge_token: c.challenge_token } });
      assert.equal(status0.json().delivery, 'none');

      const noCodeYet = await secondStep(app, c.challenge_token, 'sms', '123456');
      assert.equal(noCodeYet.statusCode, 400);
      assert.match(noCodeYet.json().error.message, /Text me a code/);
      assert.equal(await failureCount(app, 'bob@acme.test'), 0, 'nothing to guess, nothing counted');

      const sent = await app.api('POST', '/api/v1/sign-in/sms', { body: { challenge_token: c.challenge_token } });
      assert.equal(sent.statusCode, 200, sent.body);
      assert.equal(sent.json().phone, `•••• ••• ${phone.lastDigits}`);
      assert.equal(sent.json().resend_after_seconds, 30);
      const first = await latestCode(app, phone.e164);
      assert.ok(!sent.body.includes(first));

      const tooSoon = await app.api('POST', '/api/v1/sign-in/sms', { body: { challenge_token: c.challenge_token } });
      assert.equal(tooSoon.statusCode, 429);
      assert.equal(tooSoon.json().error.code, 'sms_rate_limited');
      assert.equal(tooSoon.headers['retry-after'], '30');
      app.clock.advance(20 * SECOND);
      assert.equal((await app.api('POST', '/api/v1/sign-in/sms', { body: { challenge_token: c.challenge_token } })).headers['retry-after'], '10');
      app.clock.advance(10 * SECOND);
      const resent = await app.api('POST', '/api/v1/sign-in/sms', { body: { challenge_token: c.challenge_token } });
      assert.equal(resent.statusCode, 200, resent.body);
      const second = await latestCode(app, phone.e164);
      assert.equal((await textsTo(app, phone.e164)).length, before + 2);

      if (first !== second) {
        const stale = await secondStep(app, c.challenge_token, 'sms', first);
        assert.equal(stale.statusCode, 400, 'a resend voids the previous code');
        assert.equal(await failureCount(app, 'bob@acme.test'), 1);
      }
      const done = await secondStep(app, c.challenge_token, 'sms', second);
      assert.equal(done.json().status, 'signed_in', done.body);
      assert.equal(await failureCount(app, 'bob@acme.test'), 0);
      // Bound to its challenge and single use: the same code opens no other sign-in.
      const other = await challengeFor(app, 'bob@acme.test');
      assert.equal((await secondStep(app, other.challenge_token, 'sms', second)).statusCode, 400);
    });

    it('a texted code lasts 10 minutes, and a challenge never accepts it twice (20 parallel submissions: one success)', async () => {
      const token = await user(app, 'cat@acme.test');
      const { phone } = await enrolSms(app, token);
      assert.equal((await app.api('POST', '/api/v1/me/two-factor/sms/send', { token })).statusCode, 200);
      const lateCode = await latestCode(app, phone.e164);
      app.clock.advance(10 * MINUTE + 1);
      const expired = await app.api('POST', '/api/v1/me/two-factor/recovery-codes', { token, body: { method: 'sms', code: lateCode } });
      assert.equal(expired.statusCode, 400, expired.body);
      assert.match(expired.json().error.message, /expired/);

      const c = await challengeFor(app, 'cat@acme.test');
      await app.api('POST', '/api/v1/sign-in/sms', { body: { challenge_token: c.challenge_token } });
      const code = await latestCode(app, phone.e164);
      const answers = await Promise.all(Array.from({ length: 20 }, () => secondStep(app, c.challenge_token, 'sms', code)));
      assert.equal(answers.filter((a) => a.statusCode === 200).length, 1);
    });

    it('wrong texted codes count on the shared counter with the other factors, and lock', async () => {
      const token = await user(app, 'lock@acme.test');
      const { phone, recoveryCodes } = await enrolSms(app, token);
      for (let i = 0; i < 5; i += 1) await secondStep(app, (await challengeFor(app, 'lock@acme.test')).challenge_token, 'recovery_code', 'aaaa-bbbb-cccc-dddd');
      assert.equal(await failureCount(app, 'lock@acme.test'), 5);
      const c = await challengeFor(app, 'lock@acme.test');
      await app.api('POST', '/api/v1/sign-in/sms', { body: { challenge_token: c.challenge_token } });
      const code = await latestCode(app, phone.e164);
      for (let i = 0; i < 4; i += 1) assert.equal((await secondStep(app, c.challenge_token, 'sms', otherCode(code))).statusCode, 400);
      assert.equal(await failureCount(app, 'lock@acme.test'), 9);
      const tenth = await secondStep(app, c.challenge_token, 'sms', otherCode(code));
      assert.equal(tenth.statusCode, 429);
      const locked = await secondStep(app, (await challengeFor(app, 'lock@acme.test')).challenge_token, 'recovery_code', recoveryCodes[0]!);
      assert.equal(locked.json().error.code, 'two_factor_locked', 'the lock holds for every factor');
    });

    it('a confirmation with method "sms": /sms/send texts the enrolled number; the code works once', async () => {
      const token = await user(app, 'conf@acme.test');
      const { phone } = await enrolSms(app, token);
      const sent = await app.api('POST', '/api/v1/me/two-factor/sms/send', { token });
      assert.equal(sent.statusCode, 200, sent.body);
      const code = await latestCode(app, phone.e164);
      const [text] = await textsTo(app, phone.e164);
      assert.match(text!.body, /verification code\.\n\n@localhost #\d{6}$/);
      const made = await app.api('POST', '/api/v1/me/two-factor/recovery-codes', { token, body: { method: 'sms', code } });
      assert.equal(made.statusCode, 200, made.body);
      const replay = await app.api('POST', '/api/v1/me/two-factor/recovery-codes', { token, body: { method: 'sms', code } });
      assert.equal(replay.statusCode, 400, 'single use');
      // A code texted for a sign-in is no confirmation code, and the other way round.
      const c = await challengeFor(app, 'conf@acme.test');
      app.clock.advance(30 * SECOND);
      await app.api('POST', '/api/v1/me/two-factor/sms/send', { token });
      assert.equal((await secondStep(app, c.challenge_token, 'sms', await latestCode(app, phone.e164))).statusCode, 400);
      // Someone without SMS cannot ask for one.
      const plain = await user(app, 'plain@acme.test');
      assert.equal((await app.api('POST', '/api/v1/me/two-factor/sms/send', { token: plain })).statusCode, 409);
    });

    it("adding SMS to the app needs a current passcode and the new number's code; then the preferred method can be chosen", async () => {
      const token = await user(app, 'both@acme.test');
      const started = (await app.api('POST', '/api/v1/me/two-factor/totp', { token })).json();
      const authenticator = new Authenticator(started.otpauth_uri);
      assert.equal(
        (await app.api('POST', '/api/v1/me/two-factor/totp/verify', { token, body: { code: authenticator.code(app.clock.now()) } })).statusCode,
        200,
      );
      const phone = freshUsNumber();
      const bare = await app.api('POST', '/api/v1/me/two-factor/sms', { token, body: { phone: phone.national } });
      assert.equal(bare.statusCode, 403);
      assert.equal(bare.json().error.code, 'confirmation_required');
      const byPassword = await app.api('POST', '/api/v1/me/two-factor/sms', {
        token,
        body: { phone: phone.national, method: 'password', code: STRONG_PASSWORD },
      });
      assert.equal(byPassword.statusCode, 403);
      assert.equal((await textsTo(app, phone.e164)).length, 0, 'nothing texted without a confirmation');
      app.clock.advance(30 * SECOND);
      const confirmed = await app.api('POST', '/api/v1/me/two-factor/sms', {
        token,
        body: { phone: phone.national, method: 'totp', code: authenticator.code(app.clock.now()) },
      });
      assert.equal(confirmed.statusCode, 200, confirmed.body);
      assert.equal(confirmed.json().replaces_number, false);
      const verified = await app.api('POST', '/api/v1/me/two-factor/sms/verify', { token, body: { code: await latestCode(app, phone.e164) } });
      assert.equal(verified.statusCode, 200, verified.body);
      assert.equal(verified.json().recovery_codes, undefined, 'not the first factor: the recovery codes stay');
      let me = (await app.api('GET', '/api/v1/me', { token })).json();
      assert.deepEqual(me.two_factor.methods, ['totp', 'sms']);
      assert.equal(me.two_factor.preferred, 'totp', 'the first factor stays preferred');
      assert.equal((await challengeFor(app, 'both@acme.test')).preferred, 'totp');

      const bad = await app.api('PUT', '/api/v1/me/two-factor/preferred', { token, body: { method: 'webauthn' } });
      assert.equal(bad.statusCode, 400);
      const chosen = await app.api('PUT', '/api/v1/me/two-factor/preferred', { token, body: { method: 'sms' } });
      assert.equal(chosen.statusCode, 200, chosen.body);
      me = (await app.api('GET', '/api/v1/me', { token })).json();
      assert.equal(me.two_factor.preferred, 'sms');
      const c = await challengeFor(app, 'both@acme.test');
      assert.deepEqual(c.methods, ['totp', 'sms', 'recovery_code']);
      assert.equal(c.preferred, 'sms');
    });

    it('adding the app to SMS needs a confirmation too', async () => {
      const token = await user(app, 'smsfirst@acme.test');
      const { phone } = await enrolSms(app, token);
      const bare = await app.api('POST', '/api/v1/me/two-factor/totp', { token });
      assert.equal(bare.statusCode, 403);
      assert.equal(bare.json().error.code, 'confirmation_required');
      app.clock.advance(30 * SECOND);
      await app.api('POST', '/api/v1/me/two-factor/sms/send', { token });
      const started = await app.api('POST', '/api/v1/me/two-factor/totp', { token, body: { method: 'sms', code: await latestCode(app, phone.e164) } });
      assert.equal(started.statusCode, 200, started.body);
      const authenticator = new Authenticator(started.json().otpauth_uri);
      assert.equal(
        (await app.api('POST', '/api/v1/me/two-factor/totp/verify', { token, body: { code: authenticator.code(app.clock.now()) } })).statusCode,
        200,
      );
      assert.deepEqual((await app.api('GET', '/api/v1/me', { token })).json().two_factor.methods, ['totp', 'sms'], 'in the order they are offered');
    });

    it("changing the number: a current passcode, then the new number's code; the old number stops working and trusted computers are forgotten", async () => {
      const token = await user(app, 'move@acme.test');
      const { phone: oldPhone, recoveryCodes } = await enrolSms(app, token);
      const c = await challengeFor(app, 'move@acme.test');
      await app.api('POST', '/api/v1/sign-in/sms', { body: { challenge_token: c.challenge_token } });
      const trusted = await app.api('POST', '/api/v1/sign-in/two-factor', {
        body: { challenge_token: c.challenge_token, method: 'sms', code: await latestCode(app, oldPhone.e164), remember_device: true },
      });
      assert.ok(trusted.json().trusted_device_token);
      const newPhone = freshUsNumber();
      assert.equal((await app.api('POST', '/api/v1/me/two-factor/sms', { token, body: { phone: newPhone.national } })).statusCode, 403);
      const started = await app.api('POST', '/api/v1/me/two-factor/sms', {
        token,
        body: { phone: newPhone.national, method: 'recovery_code', code: recoveryCodes[0] },
      });
      assert.equal(started.statusCode, 200, started.body);
      assert.equal(started.json().replaces_number, true);
      // Until the new code comes back, the old number is still the factor.
      assert.equal((await app.api('GET', '/api/v1/me/two-factor/sms', { token })).json().enrolled.phone, `•••• ••• ${oldPhone.lastDigits}`);
      const verified = await app.api('POST', '/api/v1/me/two-factor/sms/verify', { token, body: { code: await latestCode(app, newPhone.e164) } });
      assert.equal(verified.statusCode, 200, verified.body);
      assert.equal((await app.api('GET', '/api/v1/me/two-factor/sms', { token })).json().enrolled.phone, `•••• ••• ${newPhone.lastDigits}`);
      const next = await app.api('POST', '/api/v1/sign-in', {
        body: { account: 'acme', email: 'move@acme.test', password: STRONG_PASSWORD, trusted_device_token: trusted.json().trusted_device_token },
      });
      assert.equal(next.json().status, 'two_factor_required', 'the trusted computer was forgotten');
      const before = (await textsTo(app, oldPhone.e164)).length;
      await app.api('POST', '/api/v1/sign-in/sms', { body: { challenge_token: next.json().challenge_token } });
      assert.equal((await textsTo(app, oldPhone.e164)).length, before, 'the old number gets nothing');
      assert.equal((await textsTo(app, newPhone.e164)).length, 2);
      const types = new Set((await app.runtime.deps.db.selectFrom('audit_events').select('type').execute()).map((e) => e.type));
      for (const type of ['sms_code_sent', 'two_factor_phone_replaced', 'two_factor_preferred_changed']) assert.ok(types.has(type), `audit ${type}`);
    });

    it('the challenge token is the only way to have a sign-in code texted, and a bad one texts nothing', async () => {
      for (const token of ['', 'nonsense', 'A'.repeat(22) + '.' + 'B'.repeat(43)]) {
        const answer = await app.api('POST', '/api/v1/sign-in/sms', { body: { challenge_token: token } });
        assert.ok([400, 401].includes(answer.statusCode), answer.body);
      }
      // A person with only the app has no number to text.
      const token = await user(app, 'apponly@acme.test');
      const started = (await app.api('POST', '/api/v1/me/two-factor/totp', { token })).json();
      await app.api('POST', '/api/v1/me/two-factor/totp/verify', { token, body: { code: new Authenticator(started.otpauth_uri).code(app.clock.now()) } });
      const c = await challengeFor(app, 'apponly@acme.test');
      assert.equal((await app.api('POST', '/api/v1/sign-in/sms', { body: { challenge_token: c.challenge_token } })).statusCode, 400);
      // A session token is not a challenge token.
      assert.equal((await app.api('POST', '/api/v1/sign-in/sms', { body: { challenge_token: token } })).statusCode, 401);
    });

    it('no code and no phone number in a log line', async () => {
      const all = (await app.outbox()).filter((m) => m.channel === 'sms');
      assert.ok(all.length > 10);
      const logs = app.logs.join('\n');
      for (const message of all) {
        const code = /^(\d{6})/.exec(message.body)![1]!;
        assert.ok(!logs.includes(`#${code}`) && !logs.includes(`${code} is your`), 'a code in the logs');
        assert.ok(!logs.includes(message.to), 'a phone number in the logs');
      }
    });
  });
}

describe('a provider failure costs no attempt, and the person is told (sqlite)', () => {
  let app: TestApp;
  const failing = new CountingSmsSender(() => {
    throw new PermanentDeliveryError('Twilio answered HTTP 400 (Twilio error 21610)');
  });

  before(async () => {
    app = tickBeforeTexts(await startTestApp({ runtime: { senders: { sms: failing } } }));
    await setUpAccount(app);
  });
  after(async () => app?.close());

  it('a text that could not be sent: status "failed", a code submitted then answers sms_not_delivered without counting', async () => {
    await addUser(app, { account: 'acme', email: 'down@acme.test' });
    const token = await signInToken(app, { account: 'acme', email: 'down@acme.test' });
    const phone = freshUsNumber();
    await app.api('POST', '/api/v1/me/two-factor/sms', { token, body: { phone: phone.national } });
    await app.runtime.worker.drain();
    const pending = (await app.api('GET', '/api/v1/me/two-factor/sms', { token })).json().pending;
    assert.equal(pending.delivery, 'failed');
    const enrol = await app.api('POST', '/api/v1/me/two-factor/sms/verify', { token, body: { code: await latestCode(app, phone.e164) } });
    assert.equal(enrol.statusCode, 409);
    assert.equal(enrol.json().error.code, 'sms_not_delivered');
    assert.match(enrol.json().error.message, /could not send a text/i);
    assert.equal((await app.api('GET', '/api/v1/me', { token })).json().two_factor.enabled, false, 'an undelivered code is void');

    // Turn SMS on directly (as if the text had arrived), then sign in while the provider is down.
    await app.runtime.deps.db.updateTable('outbox_messages').set({ status: 'sent' }).where('channel', '=', 'sms').execute();
    assert.equal((await app.api('POST', '/api/v1/me/two-factor/sms/verify', { token, body: { code: await latestCode(app, phone.e164) } })).statusCode, 200);
    const c = (await signIn(app, { account: 'acme', email: 'down@acme.test' })).json();
    await app.api('POST', '/api/v1/sign-in/sms', { body: { challenge_token: c.challenge_token } });
    const queued = await app.api('POST', '/api/v1/sign-in/sms/status', { body: { challenge_token: c.challenge_token } });
    assert.equal(queued.json().delivery, 'queued');
    await app.runtime.worker.drain();
    const status = await app.api('POST', '/api/v1/sign-in/sms/status', { body: { challenge_token: c.challenge_token } });
    assert.equal(status.json().delivery, 'failed');
    for (let i = 0; i < 12; i += 1) {
      const answer = await app.api('POST', '/api/v1/sign-in/two-factor', {
        body: { challenge_token: c.challenge_token, method: 'sms', code: String(100000 + i) },
      });
      assert.equal(answer.json().error.code, 'sms_not_delivered');
    }
    assert.equal(await failureCount(app, 'down@acme.test'), 0, 'no attempt counted');
    const row = await app.runtime.deps.db
      .selectFrom('sign_in_flows')
      .select(['attempts', 'state'])
      .where('user_id', '=', (await app.runtime.deps.db.selectFrom('users').select('id').where('email', '=', 'down@acme.test').executeTakeFirstOrThrow()).id)
      .orderBy('created_at', 'desc')
      .executeTakeFirstOrThrow();
    assert.deepEqual(row, { attempts: 0, state: 'second_factor' });
    assert.ok(failing.received.length >= 2, 'the provider was tried');
  });
});

describe('text messages switched off (TESSERA_SMS_PROVIDER=off)', () => {
  it('refuses to start SMS enrolment, and writes no text', async () => {
    const app = await startTestApp({ env: { TESSERA_SMS_PROVIDER: 'off' } });
    try {
      const { token } = await setUpAccount(app);
      const answer = await app.api('POST', '/api/v1/me/two-factor/sms', { token, body: { phone: '+12015550100' } });
      assert.equal(answer.statusCode, 409);
      assert.equal(answer.json().error.code, 'sms_unavailable');
      assert.equal((await app.outbox()).filter((m) => m.channel === 'sms').length, 0);
    } finally {
      await app.close();
    }
  });
});

describe('phone numbers at rest', () => {
  it('the SQLite files hold neither the phone number nor a texted code', async () => {
    const app = tickBeforeTexts(await startTestApp());
    try {
      await setUpAccount(app);
      await addUser(app, { account: 'acme', email: 'rest@acme.test' });
      const token = await signInToken(app, { account: 'acme', email: 'rest@acme.test' });
      const phone = { national: '07400 123456', e164: '+447400123456' };
      await app.api('POST', '/api/v1/me/two-factor/sms', { token, body: { phone: phone.national, country: 'GB' } });
      const enrolCode = await latestCode(app, phone.e164);
      await app.api('POST', '/api/v1/me/two-factor/sms/verify', { token, body: { code: enrolCode } });
      const c = (await signIn(app, { account: 'acme', email: 'rest@acme.test' })).json();
      await app.api('POST', '/api/v1/sign-in/sms', { body: { challenge_token: c.challenge_token } });
      const signInCode = await latestCode(app, phone.e164);
      const secrets = [phone.e164, phone.e164.slice(1), '7400123456', '7400 123456', `#${signInCode}`, `${signInCode} is your`, `#${enrolCode}`];
      const dataDir = app.config.dataDir;
      const dump = readdirSync(dataDir)
        .filter((name) => name.startsWith('tessera.db'))
        .map((name) => readFileSync(join(dataDir, name)).toString('latin1'))
        .join('\n');
      for (const secret of secrets) assert.ok(!dump.includes(secret), `the database files contain ${secret.slice(0, 3)}…`);
      assert.ok(dump.includes('v2.k'), 'ciphertext is there');
    } finally {
      await app.close();
    }
  });
});
