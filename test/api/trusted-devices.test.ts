import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Authenticator } from '../support/authenticator.js';
import { OTHER_STRONG_PASSWORD, STRONG_PASSWORD, addUser, dialects, setUpAccount, signInToken, startTestApp, type TestApp } from '../support/harness.js';

const DAY = 24 * 60 * 60 * 1000;

interface Person {
  email: string;
  authenticator: Authenticator;
  recoveryCodes: string[];
}

async function personWith2fa(app: TestApp, email: string): Promise<Person> {
  await addUser(app, { account: 'acme', email });
  const token = await signInToken(app, { account: 'acme', email });
  const started = (await app.api('POST', '/api/v1/me/two-factor/totp', { token })).json();
  const authenticator = new Authenticator(started.otpauth_uri);
  const verified = (await app.api('POST', '/api/v1/me/two-factor/totp/verify', { token, body: { code: authenticator.code(app.clock.now()) } })).json();
  return { email, authenticator, recoveryCodes: verified.recovery_codes };
}

function passwordStep(app: TestApp, email: string, trustedDeviceToken?: string, password = STRONG_PASSWORD) {
  return app.api('POST', '/api/v1/sign-in', {
    body: { account: 'acme', email, password, ...(trustedDeviceToken ? { trusted_device_token: trustedDeviceToken } : {}) },
  });
}

/** Signs in with a fresh passcode; returns the session and (when remembered) device tokens. */
async function fullSignIn(app: TestApp, person: Person, remember: boolean): Promise<{ session: string; device: string | undefined }> {
  app.clock.advance(30_000);
  const challenge = (await passwordStep(app, person.email)).json().challenge_token;
  const done = await app.api('POST', '/api/v1/sign-in/two-factor', {
    body: { challenge_token: challenge, method: 'totp', code: person.authenticator.code(app.clock.now()), remember_device: remember },
  });
  assert.equal(done.json().status, 'signed_in', done.body);
  return { session: done.json().session_token, device: done.json().trusted_device_token };
}

for (const dialect of dialects()) {
  describe(`trusted computers and sessions on ${dialect.name}`, { skip: dialect.skip }, () => {
    let app: TestApp;
    let ownerToken: string;

    before(async () => {
      app = await startTestApp({ dialect: dialect.name });
      ownerToken = (await setUpAccount(app)).token;
    });
    after(async () => app?.close());

    it('remember_device skips the passcode next time, rotating the token on every use', async () => {
      const ann = await personWith2fa(app, 'ann@acme.test');
      const { device } = await fullSignIn(app, ann, true);
      assert.match(device!, /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
      const skipped = await passwordStep(app, ann.email, device);
      assert.equal(skipped.json().status, 'signed_in', skipped.body);
      const rotated = skipped.json().trusted_device_token as string;
      assert.ok(rotated && rotated !== device, 'a used token is rotated');
      const me = await app.api('GET', '/api/v1/me', { token: skipped.json().session_token });
      assert.equal(me.statusCode, 200);
      // The old token is spent.
      assert.equal((await passwordStep(app, ann.email, device)).json().status, 'two_factor_required');
      assert.equal((await passwordStep(app, ann.email, rotated)).json().status, 'signed_in');
      // The device token is still no password: a wrong password fails as always.
      assert.equal((await passwordStep(app, ann.email, rotated, 'not the password at all')).statusCode, 401);
    });

    it('without remember_device the passcode is asked every time', async () => {
      const bob = await personWith2fa(app, 'bob@acme.test');
      const { device } = await fullSignIn(app, bob, false);
      assert.equal(device, undefined);
      assert.equal((await passwordStep(app, bob.email)).json().status, 'two_factor_required');
    });

    it("another person's token, a forged token and a revoked token all lead to the passcode", async () => {
      const cat = await personWith2fa(app, 'cat@acme.test');
      const dan = await personWith2fa(app, 'dan@acme.test');
      const catDevice = (await fullSignIn(app, cat, true)).device!;
      assert.equal((await passwordStep(app, dan.email, catDevice)).json().status, 'two_factor_required');
      const [id] = catDevice.split('.');
      assert.equal((await passwordStep(app, cat.email, `${id}.${'B'.repeat(43)}`)).json().status, 'two_factor_required');
      const { session, device } = await fullSignIn(app, cat, true);
      const listed = (await app.api('GET', '/api/v1/me/trusted-devices', { token: session })).json().trusted_devices as {
        id: string;
        browser: string;
        current: boolean;
      }[];
      assert.ok(listed.length >= 1);
      const current = listed.find((d) => d.current)!;
      assert.equal(current.id, device!.split('.')[0]);
      assert.equal(current.browser, 'Chrome on Linux');
      assert.equal((await app.api('DELETE', `/api/v1/me/trusted-devices/${current.id}`, { token: session })).statusCode, 204);
      assert.equal((await passwordStep(app, cat.email, device)).json().status, 'two_factor_required');
    });

    it('trust expires server-side after the account period, whatever the cookie says', async () => {
      const eve = await personWith2fa(app, 'eve@acme.test');
      const { device } = await fullSignIn(app, eve, true);
      app.clock.advance(29 * DAY);
      const inside = await passwordStep(app, eve.email, device);
      assert.equal(inside.json().status, 'signed_in');
      app.clock.advance(DAY + 1000);
      assert.equal((await passwordStep(app, eve.email, inside.json().trusted_device_token)).json().status, 'two_factor_required');
      ownerToken = await signInToken(app, { account: 'acme', email: 'owner@acme.test' });
    });

    for (const [event, act] of [
      [
        'a password change',
        async (person: Person, session: string) => {
          const changed = await app.api('PUT', '/api/v1/me/password', {
            token: session,
            body: { current_password: STRONG_PASSWORD, new_password: OTHER_STRONG_PASSWORD },
          });
          assert.equal(changed.statusCode, 200);
          void person;
        },
      ],
      [
        'a password reset',
        async (person: Person) => {
          await app.api('POST', '/api/v1/password-reset', { body: { account: 'acme', email: person.email } });
          const mail = (await app.outbox()).find((m) => m.to === person.email && /reset/i.test(m.subject))!;
          const token = new URL(/http\S+token=\S+/.exec(mail.body)![0]).searchParams.get('token')!;
          assert.equal((await app.api('POST', '/api/v1/password-reset/complete', { body: { token, new_password: OTHER_STRONG_PASSWORD } })).statusCode, 200);
        },
      ],
      [
        'turning 2FA off',
        async (person: Person, session: string) => {
          const off = await app.api('DELETE', '/api/v1/me/two-factor', { token: session, body: { method: 'recovery_code', code: person.recoveryCodes[0] } });
          assert.equal(off.statusCode, 200, off.body);
        },
      ],
      [
        'an admin reset of 2FA',
        async (person: Person) => {
          const users = (await app.api('GET', '/api/v1/admin/users', { token: ownerToken })).json().users as { id: string; email: string }[];
          const id = users.find((u) => u.email === person.email)!.id;
          const reset = await app.api('DELETE', `/api/v1/admin/users/${id}/two-factor`, {
            token: ownerToken,
            body: { reason: 'new phone', method: 'password', code: STRONG_PASSWORD },
          });
          assert.equal(reset.statusCode, 200, reset.body);
        },
      ],
      [
        'an admin-issued recovery code',
        async (person: Person) => {
          const users = (await app.api('GET', '/api/v1/admin/users', { token: ownerToken })).json().users as { id: string; email: string }[];
          const id = users.find((u) => u.email === person.email)!.id;
          const issued = await app.api('POST', `/api/v1/admin/users/${id}/recovery-code`, {
            token: ownerToken,
            body: { reason: 'lost phone', method: 'password', code: STRONG_PASSWORD },
          });
          const challenge = (await passwordStep(app, person.email)).json().challenge_token;
          const used = await app.api('POST', '/api/v1/sign-in/two-factor', {
            body: { challenge_token: challenge, method: 'recovery_code', code: issued.json().code },
          });
          assert.equal(used.json().status, 'two_factor_setup_required', used.body);
        },
      ],
      [
        'a suspension',
        async (person: Person) => {
          const users = (await app.api('GET', '/api/v1/admin/users', { token: ownerToken })).json().users as { id: string; email: string }[];
          const id = users.find((u) => u.email === person.email)!.id;
          assert.equal(
            (
              await app.api('PATCH', `/api/v1/admin/users/${id}`, {
                token: ownerToken,
                body: { suspended: true, method: 'password', code: STRONG_PASSWORD, reason: 'test reason' },
              })
            ).statusCode,
            200,
          );
          assert.equal(
            (
              await app.api('PATCH', `/api/v1/admin/users/${id}`, {
                token: ownerToken,
                body: { suspended: false, method: 'password', code: STRONG_PASSWORD, reason: 'test reason' },
              })
            ).statusCode,
            200,
          );
        },
      ],
    ] as const) {
      it(`${event} voids every trusted computer`, async () => {
        const person = await personWith2fa(app, `void-${event.replace(/\W+/g, '-').toLowerCase()}@acme.test`);
        const { session, device } = await fullSignIn(app, person, true);
        await act(person, session);
        const password = event.startsWith('a password') ? OTHER_STRONG_PASSWORD : STRONG_PASSWORD;
        const next = await passwordStep(app, person.email, device, password);
        if (event.startsWith('an admin')) {
          // No factor left: the next sign-in must enrol again, not skip anything.
          assert.equal(next.json().status, 'two_factor_setup_required', `after ${event}: ${next.body}`);
        } else if (event === 'turning 2FA off') {
          // No 2FA, so no passcode to skip: the point is that the device is forgotten.
          assert.equal(next.json().trusted_device_token, undefined);
        } else {
          assert.equal(next.json().status, 'two_factor_required', `after ${event}: ${next.body}`);
        }
        const rows = await app.runtime.deps.db.selectFrom('trusted_devices').select('id').where('id', '=', device!.split('.')[0]!).execute();
        assert.equal(rows.length, 0);
      });
    }

    it('a session that skipped the passcode must still give one for a sensitive action', async () => {
      const fay = await personWith2fa(app, 'fay@acme.test');
      const { device } = await fullSignIn(app, fay, true);
      const trustedSession = (await passwordStep(app, fay.email, device)).json().session_token;
      for (const [method, url] of [
        ['DELETE', '/api/v1/me/two-factor'],
        ['POST', '/api/v1/me/two-factor/recovery-codes'],
      ] as const) {
        const bare = await app.api(method, url, { token: trustedSession, body: {} });
        assert.equal(bare.statusCode, 400, bare.body);
        const withPassword = await app.api(method, url, { token: trustedSession, body: { method: 'password', code: STRONG_PASSWORD } });
        assert.equal(withPassword.statusCode, 403);
        assert.equal(withPassword.json().error.code, 'confirmation_required');
      }
      app.clock.advance(30_000);
      const regenerated = await app.api('POST', '/api/v1/me/two-factor/recovery-codes', {
        token: trustedSession,
        body: { method: 'totp', code: fay.authenticator.code(app.clock.now()) },
      });
      assert.equal(regenerated.statusCode, 200);
    });

    it('lists active sessions with browser and IP, revokes one, and signs out everywhere else', async () => {
      await addUser(app, { account: 'acme', email: 'gus@acme.test' });
      const a = await signInToken(app, { account: 'acme', email: 'gus@acme.test' });
      const b = await signInToken(app, { account: 'acme', email: 'gus@acme.test' });
      const c = await signInToken(app, { account: 'acme', email: 'gus@acme.test' });
      const sessions = (await app.api('GET', '/api/v1/me/sessions', { token: a })).json().sessions as {
        id: string;
        browser: string;
        ip: string;
        current: boolean;
        last_seen_at: string;
      }[];
      assert.equal(sessions.length, 3);
      assert.equal(sessions.filter((s) => s.current).length, 1);
      assert.equal(sessions[0]!.browser, 'Chrome on Linux');
      assert.match(sessions[0]!.ip, /^127\./);
      assert.match(sessions[0]!.last_seen_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      const bId = b.split('.')[0]!;
      assert.equal((await app.api('DELETE', `/api/v1/me/sessions/${bId}`, { token: a })).statusCode, 204);
      assert.equal((await app.api('GET', '/api/v1/me', { token: b })).statusCode, 401);
      assert.equal((await app.api('DELETE', '/api/v1/me/sessions/nope', { token: a })).statusCode, 404);
      assert.equal((await app.api('DELETE', '/api/v1/me/sessions', { token: a })).statusCode, 204);
      assert.equal((await app.api('GET', '/api/v1/me', { token: c })).statusCode, 401);
      assert.equal((await app.api('GET', '/api/v1/me', { token: a })).statusCode, 200);
    });

    it('admins set the two durations separately; "stay signed in for" applies to open sessions too', async () => {
      const policy = (await app.api('GET', '/api/v1/admin/security-policy', { token: ownerToken })).json();
      assert.deepEqual(policy, {
        require_two_factor: 'off',
        require_two_factor_since: null,
        grace_days: 0,
        session_days: 14,
        trusted_device_days: 30,
        country: 'US',
        sms_daily_budget: null,
        sms_allowed_countries: null,
        require_security_keys_for_admins: false,
        passkey_sign_in: true,
      });
      const noConfirmation = await app.api('PUT', '/api/v1/admin/security-policy', { token: ownerToken, body: { session_days: 3 } });
      assert.equal(noConfirmation.statusCode, 403);
      assert.equal(noConfirmation.json().error.code, 'confirmation_required');
      const outOfBounds = await app.api('PUT', '/api/v1/admin/security-policy', {
        token: ownerToken,
        body: { session_days: 91, method: 'password', code: STRONG_PASSWORD },
      });
      assert.equal(outOfBounds.json().error.field, 'session_days');
      const wrongPassword = await app.api('PUT', '/api/v1/admin/security-policy', {
        token: ownerToken,
        body: { session_days: 3, method: 'password', code: 'nope nope nope' },
      });
      assert.equal(wrongPassword.statusCode, 401);
      const agentToken = await signInToken(app, { account: 'acme', email: 'gus@acme.test' });
      assert.equal(
        (await app.api('PUT', '/api/v1/admin/security-policy', { token: agentToken, body: { session_days: 3, method: 'password', code: STRONG_PASSWORD } }))
          .statusCode,
        403,
      );
      const changed = await app.api('PUT', '/api/v1/admin/security-policy', {
        token: ownerToken,
        body: { session_days: 3, trusted_device_days: 0, method: 'password', code: STRONG_PASSWORD },
      });
      assert.equal(changed.statusCode, 200, changed.body);
      assert.equal(changed.json().session_days, 3);
      assert.equal(changed.json().trusted_device_days, 0);
      app.clock.advance(3 * DAY + 1000);
      assert.equal((await app.api('GET', '/api/v1/me', { token: agentToken })).statusCode, 401, 'shortened lifetime applies to open sessions');
      ownerToken = await signInToken(app, { account: 'acme', email: 'owner@acme.test' });
      // 0 days: always ask; remember_device gives no token.
      const hal = await personWith2fa(app, 'hal@acme.test');
      const { device } = await fullSignIn(app, hal, true);
      assert.equal(device, undefined);
      const restored = await app.api('PUT', '/api/v1/admin/security-policy', {
        token: ownerToken,
        body: { session_days: 14, trusted_device_days: 30, method: 'password', code: STRONG_PASSWORD },
      });
      assert.equal(restored.statusCode, 200);
    });

    it('a sign-in from a computer not seen before is audited and emailed; a known one is not', async () => {
      await addUser(app, { account: 'acme', email: 'ivy@acme.test' });
      const userAgent = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 Firefox/120.0';
      const signInFrom = (ip: string, agent: string) =>
        app.api('POST', '/api/v1/sign-in', {
          body: { account: 'acme', email: 'ivy@acme.test', password: STRONG_PASSWORD },
          ip,
          headers: { 'user-agent': agent },
        });
      await signInFrom('203.0.113.10', userAgent); // first ever: no mail
      await signInFrom('203.0.113.77', userAgent); // same browser, same /24: known
      const mailsBefore = (await app.outbox()).filter((m) => m.to === 'ivy@acme.test' && /new computer/i.test(m.subject)).length;
      assert.equal(mailsBefore, 0);
      await signInFrom('198.51.100.5', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15');
      const mails = (await app.outbox()).filter((m) => m.to === 'ivy@acme.test' && /new computer/i.test(m.subject));
      assert.equal(mails.length, 1);
      assert.match(mails[0]!.body, /Safari on macOS/);
      assert.match(mails[0]!.body, /198\.51\.100\.5/);
      const events = await app.runtime.deps.db.selectFrom('audit_events').select('type').where('type', '=', 'new_device_sign_in').execute();
      assert.ok(events.length >= 1);
    });
  });
}
