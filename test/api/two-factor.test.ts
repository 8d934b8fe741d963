import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Authenticator } from '../support/authenticator.js';
import { STRONG_PASSWORD, addUser, dialects, setUpAccount, signIn, signInToken, startTestApp, type TestApp } from '../support/harness.js';

const PERIOD = 30_000;

async function enrol(app: TestApp, token: string): Promise<{ authenticator: Authenticator; recoveryCodes: string[]; secret: string }> {
  const started = await app.api('POST', '/api/v1/me/two-factor/totp', { token });
  assert.equal(started.statusCode, 200, started.body);
  const { secret, otpauth_uri, qr_code } = started.json();
  const authenticator = Authenticator.fromQrCode(qr_code);
  assert.equal(authenticator.uri, otpauth_uri);
  const verified = await app.api('POST', '/api/v1/me/two-factor/totp/verify', { token, body: { code: authenticator.code(app.clock.now()) } });
  assert.equal(verified.statusCode, 200, verified.body);
  return { authenticator, recoveryCodes: verified.json().recovery_codes, secret };
}

async function challenge(app: TestApp, email: string, ip?: string): Promise<string> {
  const response = await signIn(app, { account: 'acme', email, ip });
  const body = response.json();
  assert.equal(body.status, 'two_factor_required', response.body);
  return body.challenge_token;
}

function secondStep(app: TestApp, challengeToken: string, method: string, code: string, ip?: string) {
  return app.api('POST', '/api/v1/sign-in/two-factor', { body: { challenge_token: challengeToken, method, code }, ip });
}

for (const dialect of dialects()) {
  describe(`authenticator-app 2FA on ${dialect.name}`, { skip: dialect.skip }, () => {
    let app: TestApp;
    let ownerToken: string;

    before(async () => {
      app = await startTestApp({ dialect: dialect.name });
      ownerToken = (await setUpAccount(app)).token;
    });
    after(async () => app?.close());

    it('enrols from the QR code: issuer "<product> (<account>)", the email as account, SHA1/6/30', async () => {
      await addUser(app, { account: 'acme', email: 'ann@acme.test' });
      const token = await signInToken(app, { account: 'acme', email: 'ann@acme.test' });
      const started = (await app.api('POST', '/api/v1/me/two-factor/totp', { token })).json();
      assert.match(started.secret, /^[A-Z2-7]{32}$/);
      const authenticator = Authenticator.fromQrCode(started.qr_code);
      assert.equal(authenticator.totp.issuer, 'Tessera (Acme Support)');
      assert.equal(authenticator.totp.label, 'ann@acme.test');
      assert.equal(authenticator.totp.algorithm, 'SHA1');
      assert.equal(authenticator.totp.digits, 6);
      assert.equal(authenticator.totp.period, 30);
      assert.equal(authenticator.totp.secret.base32, started.secret);
      const wrong = await app.api('POST', '/api/v1/me/two-factor/totp/verify', {
        token,
        body: { code: '000000' === authenticator.code(app.clock.now()) ? '111111' : '000000' },
      });
      assert.equal(wrong.statusCode, 400);
      assert.equal((await app.api('GET', '/api/v1/me', { token })).json().two_factor.enabled, false, 'not on before a correct code');
      const code = authenticator.code(app.clock.now());
      const verified = await app.api('POST', '/api/v1/me/two-factor/totp/verify', { token, body: { code: `${code.slice(0, 3)} ${code.slice(3)}` } });
      assert.equal(verified.statusCode, 200, verified.body);
      const codes = verified.json().recovery_codes as string[];
      assert.equal(codes.length, 10);
      for (const c of codes) assert.match(c, /^[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}$/);
      const me = (await app.api('GET', '/api/v1/me', { token })).json();
      assert.deepEqual(me.two_factor, { enabled: true, methods: ['totp'], preferred: 'totp', recovery_codes_left: 10 });
      const again = await app.api('POST', '/api/v1/me/two-factor/totp', { token });
      assert.equal(again.statusCode, 409, 'the seed is never handed out again once active');
      assert.ok(!JSON.stringify(me).includes(started.secret));
    });

    it('an abandoned enrolment expires after 15 minutes', async () => {
      await addUser(app, { account: 'acme', email: 'slow@acme.test' });
      const token = await signInToken(app, { account: 'acme', email: 'slow@acme.test' });
      const authenticator = Authenticator.fromQrCode((await app.api('POST', '/api/v1/me/two-factor/totp', { token })).json().qr_code);
      app.clock.advance(15 * 60 * 1000 + 1);
      const late = await app.api('POST', '/api/v1/me/two-factor/totp/verify', { token, body: { code: authenticator.code(app.clock.now()) } });
      assert.equal(late.statusCode, 400);
      assert.match(late.json().error.message, /expired/);
    });

    it('signs in with password then passcode; no session before the passcode; the same code never works twice', async () => {
      await addUser(app, { account: 'acme', email: 'bob@acme.test' });
      const { authenticator } = await enrol(app, await signInToken(app, { account: 'acme', email: 'bob@acme.test' }));
      app.clock.advance(PERIOD);
      const first = await signIn(app, { account: 'acme', email: 'bob@acme.test' });
      const body = first.json();
      assert.equal(body.status, 'two_factor_required');
      assert.deepEqual(body.methods, ['totp', 'recovery_code']);
      assert.equal(body.session_token, undefined);
      // The challenge token opens nothing but the second step.
      assert.equal((await app.api('GET', '/api/v1/me', { token: body.challenge_token })).statusCode, 401);
      assert.equal((await app.api('POST', '/api/v1/me/two-factor/totp', { token: body.challenge_token })).statusCode, 401);
      const code = authenticator.code(app.clock.now());
      const done = await secondStep(app, body.challenge_token, 'totp', code);
      assert.equal(done.statusCode, 200, done.body);
      assert.equal(done.json().status, 'signed_in');
      assert.equal((await app.api('GET', '/api/v1/me', { token: done.json().session_token })).statusCode, 200);
      // The challenge is single use, and the code is spent.
      assert.equal((await secondStep(app, body.challenge_token, 'totp', code)).json().error.code, 'invalid_challenge');
      const replay = await secondStep(app, await challenge(app, 'bob@acme.test'), 'totp', code);
      assert.equal(replay.statusCode, 400);
      assert.equal(replay.json().error.code, 'invalid_code');
    });

    it('the admin list shows the last sign-in: written by the right passcode, not by the password or a wrong code', async () => {
      await addUser(app, { account: 'acme', email: 'lena@acme.test' });
      const { authenticator } = await enrol(app, await signInToken(app, { account: 'acme', email: 'lena@acme.test' }));
      const lastSignIn = async () => {
        const users = (await app.api('GET', '/api/v1/admin/users', { token: ownerToken })).json().users as { email: string; last_sign_in_at: string | null }[];
        return users.find((u) => u.email === 'lena@acme.test')!.last_sign_in_at;
      };
      const before = await lastSignIn();
      app.clock.advance(5 * PERIOD);
      const token = await challenge(app, 'lena@acme.test');
      assert.equal((await secondStep(app, token, 'totp', authenticator.code(app.clock.now() + 10 * PERIOD))).statusCode, 400);
      assert.equal(await lastSignIn(), before, 'neither the password nor a wrong code is a sign-in');
      assert.equal((await secondStep(app, token, 'totp', authenticator.code(app.clock.now()))).json().status, 'signed_in');
      assert.equal(await lastSignIn(), new Date(app.clock.now()).toISOString());
    });

    it('accepts codes one step early or late, refuses two steps away (fake clock on step boundaries)', async () => {
      await addUser(app, { account: 'acme', email: 'clock@acme.test' });
      app.clock.time = Math.ceil(app.clock.time / PERIOD) * PERIOD + 10 * PERIOD;
      const { authenticator } = await enrol(app, await signInToken(app, { account: 'acme', email: 'clock@acme.test' }));
      for (const steps of [-2, 2]) {
        app.clock.advance(5 * PERIOD);
        app.clock.time = Math.floor(app.clock.time / PERIOD) * PERIOD;
        const refused = await secondStep(app, await challenge(app, 'clock@acme.test'), 'totp', authenticator.code(app.clock.now(), steps));
        assert.equal(refused.statusCode, 400, `T${steps > 0 ? '+' : ''}${steps} refused`);
      }
      for (const steps of [-1, 0, 1]) {
        app.clock.advance(5 * PERIOD);
        app.clock.time = Math.floor(app.clock.time / PERIOD) * PERIOD; // exactly on a boundary
        const accepted = await secondStep(app, await challenge(app, 'clock@acme.test'), 'totp', authenticator.code(app.clock.now(), steps));
        assert.equal(accepted.json().status, 'signed_in', `T${steps >= 0 ? '+' : ''}${steps} accepted: ${accepted.body}`);
      }
      app.clock.advance(5 * PERIOD);
      app.clock.time = Math.floor(app.clock.time / PERIOD) * PERIOD - 1; // the last millisecond of a step
      const edge = await secondStep(app, await challenge(app, 'clock@acme.test'), 'totp', authenticator.code(app.clock.now(), 1));
      assert.equal(edge.json().status, 'signed_in');
    });

    it('30 concurrent submissions of one code on 30 challenges give exactly one session', async () => {
      await addUser(app, { account: 'acme', email: 'race@acme.test' });
      const { authenticator } = await enrol(app, await signInToken(app, { account: 'acme', email: 'race@acme.test' }));
      app.clock.advance(PERIOD);
      const challenges = [];
      for (let i = 0; i < 30; i += 1) challenges.push(await challenge(app, 'race@acme.test'));
      const code = authenticator.code(app.clock.now());
      const answers = await Promise.all(challenges.map((c) => secondStep(app, c, 'totp', code)));
      assert.equal(answers.filter((a) => a.statusCode === 200).length, 1);
      for (const a of answers.filter((x) => x.statusCode !== 200)) assert.ok([400, 429].includes(a.statusCode), a.body);
    });

    it('recovery codes: forgiving input, single use, 30 concurrent uses of one give one success', async () => {
      await addUser(app, { account: 'acme', email: 'rc@acme.test' });
      const { recoveryCodes } = await enrol(app, await signInToken(app, { account: 'acme', email: 'rc@acme.test' }));
      const messy = ` ${recoveryCodes[0]!.toUpperCase().replace(/-/g, ' ').replace(/0/g, 'O').replace(/1/g, 'l')} `;
      const used = await secondStep(app, await challenge(app, 'rc@acme.test'), 'recovery_code', messy);
      assert.equal(used.json().status, 'signed_in', used.body);
      const reused = await secondStep(app, await challenge(app, 'rc@acme.test'), 'recovery_code', recoveryCodes[0]!);
      assert.equal(reused.json().error.code, 'invalid_code');
      const mail = (await app.outbox()).find((m) => m.to === 'rc@acme.test' && /recovery code was used/i.test(m.subject));
      assert.ok(mail);
      assert.match(mail.body, /9 recovery codes are left/);
      for (const code of recoveryCodes) assert.ok(!mail.body.includes(code), 'no recovery code in a mail');
      const challenges = [];
      for (let i = 0; i < 30; i += 1) challenges.push(await challenge(app, 'rc@acme.test'));
      const answers = await Promise.all(challenges.map((c) => secondStep(app, c, 'recovery_code', recoveryCodes[1]!)));
      assert.equal(answers.filter((a) => a.statusCode === 200).length, 1);
    });

    it('locks after 10 wrong codes across challenges: the right code is refused while locked, 429 with Retry-After', async () => {
      await addUser(app, { account: 'acme', email: 'lock@acme.test' });
      const { authenticator } = await enrol(app, await signInToken(app, { account: 'acme', email: 'lock@acme.test' }));
      app.clock.advance(PERIOD);
      let last;
      for (let i = 0; i < 10; i += 1) {
        // A new challenge every 2 attempts: the counter is the person's, not the challenge's.
        const c = await challenge(app, 'lock@acme.test');
        last = await secondStep(app, c, 'recovery_code', 'aaaa-bbbb-cccc-dddd');
      }
      assert.equal(last!.statusCode, 429);
      assert.ok(Number(last!.headers['retry-after']) > 0);
      const right = await secondStep(app, await challenge(app, 'lock@acme.test'), 'totp', authenticator.code(app.clock.now()));
      assert.equal(right.statusCode, 429);
      assert.equal(right.json().error.code, 'two_factor_locked');
      assert.ok(right.json().error.retry_after_seconds > 0 && right.json().error.retry_after_seconds <= 15 * 60);
      app.clock.advance(15 * 60 * 1000 + PERIOD);
      const after = await secondStep(app, await challenge(app, 'lock@acme.test'), 'totp', authenticator.code(app.clock.now()));
      assert.equal(after.json().status, 'signed_in', after.body);
    });

    it('the lock grows on repeat, and 10 parallel wrong codes count exactly 10', async () => {
      await addUser(app, { account: 'acme', email: 'grow@acme.test' });
      await enrol(app, await signInToken(app, { account: 'acme', email: 'grow@acme.test' }));
      const challenges = [];
      for (let i = 0; i < 10; i += 1) challenges.push(await challenge(app, 'grow@acme.test'));
      await Promise.all(challenges.map((c) => secondStep(app, c, 'totp', '123456')));
      const first = await secondStep(app, await challenge(app, 'grow@acme.test'), 'totp', '123456');
      const firstWait = first.json().error.retry_after_seconds as number;
      assert.equal(first.statusCode, 429);
      assert.ok(firstWait > 14 * 60 && firstWait <= 15 * 60, `first lock ${firstWait}s`);
      app.clock.advance(15 * 60 * 1000 + 1);
      for (let i = 0; i < 10; i += 1) await secondStep(app, await challenge(app, 'grow@acme.test'), 'totp', '123456');
      const second = await secondStep(app, await challenge(app, 'grow@acme.test'), 'totp', '123456');
      assert.ok(second.json().error.retry_after_seconds > 29 * 60, 'the second lock is longer');
    });

    it('a challenge allows 5 attempts, then the person signs in again', async () => {
      await addUser(app, { account: 'acme', email: 'cap@acme.test' });
      await enrol(app, await signInToken(app, { account: 'acme', email: 'cap@acme.test' }));
      const c = await challenge(app, 'cap@acme.test');
      for (let i = 0; i < 5; i += 1) assert.equal((await secondStep(app, c, 'totp', '000001')).json().error.code, 'invalid_code');
      assert.equal((await secondStep(app, c, 'totp', '000001')).json().error.code, 'invalid_challenge');
    });

    it('a challenge expires after 10 minutes', async () => {
      await addUser(app, { account: 'acme', email: 'late@acme.test' });
      const { authenticator } = await enrol(app, await signInToken(app, { account: 'acme', email: 'late@acme.test' }));
      const c = await challenge(app, 'late@acme.test');
      app.clock.advance(10 * 60 * 1000 + 1);
      assert.equal((await secondStep(app, c, 'totp', authenticator.code(app.clock.now()))).json().error.code, 'invalid_challenge');
    });

    it('new recovery codes need a current passcode; the old set dies; the user is emailed', async () => {
      await addUser(app, { account: 'acme', email: 'regen@acme.test' });
      const token = await signInToken(app, { account: 'acme', email: 'regen@acme.test' });
      const { authenticator, recoveryCodes } = await enrol(app, token);
      assert.equal((await app.api('POST', '/api/v1/me/two-factor/recovery-codes', { token, body: {} })).statusCode, 400);
      const withPassword = await app.api('POST', '/api/v1/me/two-factor/recovery-codes', { token, body: { method: 'password', code: STRONG_PASSWORD } });
      assert.equal(withPassword.json().error.code, 'confirmation_required');
      app.clock.advance(PERIOD);
      const made = await app.api('POST', '/api/v1/me/two-factor/recovery-codes', {
        token,
        body: { method: 'totp', code: authenticator.code(app.clock.now()) },
      });
      assert.equal(made.statusCode, 200, made.body);
      const fresh = made.json().recovery_codes as string[];
      assert.equal(fresh.length, 10);
      assert.equal((await secondStep(app, await challenge(app, 'regen@acme.test'), 'recovery_code', recoveryCodes[2]!)).json().error.code, 'invalid_code');
      assert.equal((await secondStep(app, await challenge(app, 'regen@acme.test'), 'recovery_code', fresh[0]!)).json().status, 'signed_in');
      assert.ok((await app.outbox()).some((m) => m.to === 'regen@acme.test' && /new recovery codes/i.test(m.subject)));
    });

    it('turning 2FA off needs a passcode or a recovery code, not the password', async () => {
      await addUser(app, { account: 'acme', email: 'off@acme.test' });
      const token = await signInToken(app, { account: 'acme', email: 'off@acme.test' });
      const { recoveryCodes } = await enrol(app, token);
      const byPassword = await app.api('DELETE', '/api/v1/me/two-factor', { token, body: { method: 'password', code: STRONG_PASSWORD } });
      assert.equal(byPassword.statusCode, 403);
      const wrong = await app.api('DELETE', '/api/v1/me/two-factor', { token, body: { method: 'recovery_code', code: 'zzzz-zzzz-zzzz-zzzz' } });
      assert.equal(wrong.statusCode, 400);
      const off = await app.api('DELETE', '/api/v1/me/two-factor', { token, body: { method: 'recovery_code', code: recoveryCodes[5]! } });
      assert.equal(off.statusCode, 200, off.body);
      assert.equal((await app.api('GET', '/api/v1/me', { token })).json().two_factor.enabled, false);
      assert.equal((await signIn(app, { account: 'acme', email: 'off@acme.test' })).json().status, 'signed_in');
      assert.ok((await app.outbox()).some((m) => m.to === 'off@acme.test' && /is off/i.test(m.subject)));
    });

    it('a password reset still ends at the passcode page', async () => {
      await addUser(app, { account: 'acme', email: 'reset@acme.test' });
      const { authenticator } = await enrol(app, await signInToken(app, { account: 'acme', email: 'reset@acme.test' }));
      await app.api('POST', '/api/v1/password-reset', { body: { account: 'acme', email: 'reset@acme.test' } });
      const mail = (await app.outbox()).find((m) => m.to === 'reset@acme.test' && /reset/i.test(m.subject))!;
      const token = new URL(/http\S+\/password\/reset\?token=\S+/.exec(mail.body)![0]).searchParams.get('token')!;
      const reset = await app.api('POST', '/api/v1/password-reset/complete', { body: { token, new_password: 'an entirely new passphrase' } });
      assert.equal(reset.json().status, 'two_factor_required', reset.body);
      assert.equal(reset.json().session_token, undefined);
      app.clock.advance(PERIOD);
      const done = await secondStep(app, reset.json().challenge_token, 'totp', authenticator.code(app.clock.now()));
      assert.equal(done.json().status, 'signed_in');
      assert.equal((await app.api('GET', '/api/v1/me', { token: done.json().session_token })).json().two_factor.enabled, true, 'the reset did not disable 2FA');
    });

    it('audit events for enrolment, failures, recovery codes, regeneration, disable and lock', async () => {
      const types = new Set((await app.runtime.deps.db.selectFrom('audit_events').select('type').execute()).map((e) => e.type));
      for (const type of [
        'two_factor_enrolment_started',
        'two_factor_enabled',
        'passcode_failed',
        'recovery_code_used',
        'recovery_codes_regenerated',
        'two_factor_disabled',
        'passcode_locked',
        'sign_in_password_accepted',
      ]) {
        assert.ok(types.has(type), `audit event ${type}`);
      }
      void ownerToken;
    });
  });
}
