// Admin actions that give or take power (SECURITY.md, admin actions): a role change,
// a suspension and an admin's invitation take the admin's fresh confirmation and a
// reason, and the person is emailed; an admin-issued code or a 2FA reset presumes the
// device lost, so every session and trusted computer of that person ends at once, and
// the person's passcode lock no longer stands between them and the code.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Authenticator } from '../support/authenticator.js';
import { STRONG_PASSWORD, addUser, dialects, setUpAccount, signIn, signInToken, startTestApp, type TestApp } from '../support/harness.js';

const PASSWORD_CONFIRMATION = { method: 'password', code: STRONG_PASSWORD };

for (const dialect of dialects()) {
  describe(`admin actions on ${dialect.name}`, { skip: dialect.skip }, () => {
    let app: TestApp;
    let ownerToken: string;

    before(async () => {
      app = await startTestApp({ dialect: dialect.name });
      ownerToken = (await setUpAccount(app)).token;
    });
    after(async () => app?.close());

    async function idOf(email: string): Promise<string> {
      const users = (await app.api('GET', '/api/v1/admin/users', { token: ownerToken })).json().users as { id: string; email: string }[];
      return users.find((u) => u.email === email)!.id;
    }

    async function withTotp(email: string): Promise<{ authenticator: Authenticator; token: string; trustedDevice: string }> {
      await addUser(app, { account: 'acme', email });
      const token = await signInToken(app, { account: 'acme', email });
      const started = (await app.api('POST', '/api/v1/me/two-factor/totp', { token })).json();
      const authenticator = new Authenticator(started.otpauth_uri);
      assert.equal(
        (await app.api('POST', '/api/v1/me/two-factor/totp/verify', { token, body: { code: authenticator.code(app.clock.now()) } })).statusCode,
        200,
      );
      app.clock.advance(30_000);
      const challenge = (await signIn(app, { account: 'acme', email })).json().challenge_token;
      const done = (
        await app.api('POST', '/api/v1/sign-in/two-factor', {
          body: { challenge_token: challenge, method: 'totp', code: authenticator.code(app.clock.now()), remember_device: true },
        })
      ).json();
      assert.equal(done.status, 'signed_in');
      return { authenticator, token: done.session_token, trustedDevice: done.trusted_device_token };
    }

    it("a role change or a suspension without the admin's confirmation or a reason is refused and changes nothing", async () => {
      await addUser(app, { account: 'acme', email: 'rita@acme.test' });
      const id = await idOf('rita@acme.test');
      for (const body of [{ role: 'admin' }, { suspended: true }, { role: 'admin', reason: 'promotion' }, { suspended: true, ...PASSWORD_CONFIRMATION }]) {
        const refused = await app.api('PATCH', `/api/v1/admin/users/${id}`, { token: ownerToken, body });
        assert.ok(refused.statusCode === 400 || refused.statusCode === 403, `${JSON.stringify(body)}: ${refused.statusCode}`);
        assert.ok(['confirmation_required', 'invalid_request'].includes(refused.json().error.code), refused.body);
      }
      const wrong = await app.api('PATCH', `/api/v1/admin/users/${id}`, {
        token: ownerToken,
        body: { role: 'admin', reason: 'promotion', method: 'password', code: 'not my password' },
      });
      assert.equal(wrong.statusCode, 401, wrong.body);
      const rita = (await app.api('GET', '/api/v1/admin/users', { token: ownerToken })).json().users.find((u: { id: string }) => u.id === id);
      assert.deepEqual([rita.role, rita.suspended], ['agent', false]);
    });

    it('with confirmation and a reason: promoted, then suspended; each audited with the reason and emailed to the person', async () => {
      await addUser(app, { account: 'acme', email: 'sam@acme.test' });
      const id = await idOf('sam@acme.test');
      const promoted = await app.api('PATCH', `/api/v1/admin/users/${id}`, {
        token: ownerToken,
        body: { role: 'admin', reason: 'team lead now', ...PASSWORD_CONFIRMATION },
      });
      assert.equal(promoted.statusCode, 200, promoted.body);
      assert.equal(promoted.json().role, 'admin');
      const suspended = await app.api('PATCH', `/api/v1/admin/users/${id}`, {
        token: ownerToken,
        body: { suspended: true, reason: 'left the company', ...PASSWORD_CONFIRMATION },
      });
      assert.equal(suspended.json().suspended, true);
      const events = await app.runtime.deps.db.selectFrom('audit_events').select(['type', 'reason']).where('subject_user_id', '=', id).execute();
      assert.deepEqual(
        events
          .filter((e) => e.type === 'role_changed' || e.type === 'user_suspended')
          .map((e) => [e.type, e.reason])
          .sort(),
        [
          ['role_changed', 'team lead now'],
          ['user_suspended', 'left the company'],
        ],
      );
      const mails = (await app.outbox()).filter((m) => m.to === 'sam@acme.test').map((m) => m.subject);
      assert.ok(
        mails.some((s) => /role was changed/i.test(s)),
        mails.join(' | '),
      );
      assert.ok(
        mails.some((s) => /suspended/i.test(s)),
        mails.join(' | '),
      );
    });

    it('inviting an admin needs the confirmation and a reason; inviting an agent does not', async () => {
      const bare = await app.api('POST', '/api/v1/admin/users', { token: ownerToken, body: { email: 'boss@acme.test', role: 'admin' } });
      assert.equal(bare.statusCode, 400, bare.body);
      const unconfirmed = await app.api('POST', '/api/v1/admin/users', {
        token: ownerToken,
        body: { email: 'boss@acme.test', role: 'admin', reason: 'new manager' },
      });
      assert.equal(unconfirmed.statusCode, 403, unconfirmed.body);
      assert.equal(unconfirmed.json().error.code, 'confirmation_required');
      assert.equal(
        (await app.outbox()).some((m) => m.to === 'boss@acme.test'),
        false,
        'no invitation went out',
      );
      const invited = await app.api('POST', '/api/v1/admin/users', {
        token: ownerToken,
        body: { email: 'boss@acme.test', role: 'admin', reason: 'new manager', ...PASSWORD_CONFIRMATION },
      });
      assert.equal(invited.statusCode, 200, invited.body);
      assert.equal((await app.api('POST', '/api/v1/admin/users', { token: ownerToken, body: { email: 'helper@acme.test', role: 'agent' } })).statusCode, 200);
    });

    it('an admin whose session skipped the passcode on a trusted computer must still give one', async () => {
      const admin = await withTotp('second.admin@acme.test');
      const adminId = await idOf('second.admin@acme.test');
      assert.equal(
        (await app.api('PATCH', `/api/v1/admin/users/${adminId}`, { token: ownerToken, body: { role: 'admin', reason: 'deputy', ...PASSWORD_CONFIRMATION } }))
          .statusCode,
        200,
      );
      const skipped = (
        await app.api('POST', '/api/v1/sign-in', {
          body: { account: 'acme', email: 'second.admin@acme.test', password: STRONG_PASSWORD, trusted_device_token: admin.trustedDevice },
        })
      ).json();
      assert.equal(skipped.status, 'signed_in', 'the trusted computer skipped the passcode');
      await addUser(app, { account: 'acme', email: 'target@acme.test' });
      const targetId = await idOf('target@acme.test');
      const refused = await app.api('PATCH', `/api/v1/admin/users/${targetId}`, { token: skipped.session_token, body: { suspended: true, reason: 'testing' } });
      assert.equal(refused.statusCode, 403);
      assert.equal(refused.json().error.code, 'confirmation_required');
      app.clock.advance(30_000);
      const confirmed = await app.api('PATCH', `/api/v1/admin/users/${targetId}`, {
        token: skipped.session_token,
        body: { suspended: true, reason: 'testing', method: 'totp', code: admin.authenticator.code(app.clock.now()) },
      });
      assert.equal(confirmed.statusCode, 200, confirmed.body);
    });

    it('two admins acting on each other at the same instant, each confirming with a passcode: no deadlock, no 500', async () => {
      const first = await withTotp('first.admin@acme.test');
      const second = await withTotp('second.peer@acme.test');
      const firstId = await idOf('first.admin@acme.test');
      const secondId = await idOf('second.peer@acme.test');
      for (const id of [firstId, secondId]) {
        assert.equal(
          (await app.api('PATCH', `/api/v1/admin/users/${id}`, { token: ownerToken, body: { role: 'admin', reason: 'co-admins', ...PASSWORD_CONFIRMATION } }))
            .statusCode,
          200,
        );
      }
      for (let round = 0; round < 4; round += 1) {
        app.clock.advance(30_000);
        const role = round % 2 === 0 ? 'agent' : 'admin';
        const answers = await Promise.all([
          app.api('PATCH', `/api/v1/admin/users/${secondId}`, {
            token: first.token,
            body: { role, reason: 'rotation', method: 'totp', code: first.authenticator.code(app.clock.now()) },
          }),
          app.api('PATCH', `/api/v1/admin/users/${firstId}`, {
            token: second.token,
            body: { role, reason: 'rotation', method: 'totp', code: second.authenticator.code(app.clock.now()) },
          }),
        ]);
        for (const answer of answers) assert.ok(answer.statusCode < 500, `round ${round}: ${answer.statusCode} ${answer.body}`);
        // Whoever was demoted first can no longer act: put both back for the next round.
        for (const id of [firstId, secondId])
          await app.api('PATCH', `/api/v1/admin/users/${id}`, { token: ownerToken, body: { role: 'admin', reason: 'co-admins', ...PASSWORD_CONFIRMATION } });
      }
    });

    it("an admin's code for someone without 2FA is refused before the admin's own recovery code is spent", async () => {
      const admin = await withTotp('careful.admin@acme.test');
      const adminId = await idOf('careful.admin@acme.test');
      assert.equal(
        (await app.api('PATCH', `/api/v1/admin/users/${adminId}`, { token: ownerToken, body: { role: 'admin', reason: 'helper', ...PASSWORD_CONFIRMATION } }))
          .statusCode,
        200,
      );
      await addUser(app, { account: 'acme', email: 'no.factor@acme.test' });
      const codes = (await app.runtime.deps.db.selectFrom('recovery_codes').select('id').where('user_id', '=', adminId).where('used_at', 'is', null).execute())
        .length;
      const started = await app.api('POST', '/api/v1/me/two-factor/recovery-codes', {
        token: admin.token,
        body: { method: 'totp', code: admin.authenticator.code(app.clock.now() + 30_000) },
      });
      assert.equal(started.statusCode, 200, started.body);
      const recoveryCode = started.json().recovery_codes[0] as string;
      const refused = await app.api('POST', `/api/v1/admin/users/${await idOf('no.factor@acme.test')}/recovery-code`, {
        token: admin.token,
        body: { reason: 'lost phone', method: 'recovery_code', code: recoveryCode },
      });
      assert.equal(refused.json().error.code, 'two_factor_not_enabled');
      assert.equal(
        (await app.api('GET', '/api/v1/me', { token: admin.token })).json().two_factor.recovery_codes_left,
        Math.max(codes, 10),
        'the code is not spent',
      );
    });

    it("an admin-issued code ends the person's sessions and trusted computers at once, and lifts their passcode lock", async () => {
      const victim = await withTotp('lost.phone@acme.test');
      const id = await idOf('lost.phone@acme.test');
      // Ten wrong passcodes lock the person.
      for (let i = 0; i < 10; i += 1) {
        const challenge = (await signIn(app, { account: 'acme', email: 'lost.phone@acme.test' })).json().challenge_token;
        await app.api('POST', '/api/v1/sign-in/two-factor', { body: { challenge_token: challenge, method: 'totp', code: '000000' } });
      }
      const person = await app.runtime.deps.db.selectFrom('users').select('passcode_locked_until').where('id', '=', id).executeTakeFirstOrThrow();
      assert.ok(person.passcode_locked_until! > app.clock.now(), 'locked');
      const issued = await app.api('POST', `/api/v1/admin/users/${id}/recovery-code`, {
        token: ownerToken,
        body: { reason: 'lost phone, called the desk', ...PASSWORD_CONFIRMATION },
      });
      assert.equal(issued.statusCode, 200, issued.body);
      assert.equal((await app.api('GET', '/api/v1/me', { token: victim.token })).statusCode, 401, 'the old session ended');
      const viaDevice = await app.api('POST', '/api/v1/sign-in', {
        body: { account: 'acme', email: 'lost.phone@acme.test', password: STRONG_PASSWORD, trusted_device_token: victim.trustedDevice },
      });
      assert.equal(viaDevice.json().status, 'two_factor_required', 'the trusted computer no longer skips anything');
      const used = await app.api('POST', '/api/v1/sign-in/two-factor', {
        body: { challenge_token: viaDevice.json().challenge_token, method: 'recovery_code', code: issued.json().code },
      });
      assert.equal(used.statusCode, 200, `the lock no longer stands in the way: ${used.body}`);
      assert.equal(used.json().status, 'two_factor_setup_required');
    });
  });
}
