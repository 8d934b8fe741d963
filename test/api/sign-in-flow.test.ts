// The sign-in flow as a person goes through it: every way in leaves one flow row with
// the proofs it was given, and the session it ends in records the flow and what it
// proved (amr, acr). The decision itself is unit-tested in
// src/domain/sign-in-decision.test.ts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Authenticator } from '../support/authenticator.js';
import { STRONG_PASSWORD, addUser, dialects, setUpAccount, signIn, signInToken, startTestApp, type TestApp } from '../support/harness.js';
import { hashSecret } from '../../src/crypto/tokens.js';

const PASSWORD_CONFIRMATION = { method: 'password', code: STRONG_PASSWORD };

for (const dialect of dialects()) {
  describe(`the sign-in flow on ${dialect.name}`, { skip: dialect.skip }, () => {
    let app: TestApp;
    let ownerToken: string;

    before(async () => {
      app = await startTestApp({ dialect: dialect.name });
      ownerToken = (await setUpAccount(app)).token;
    });
    after(async () => app?.close());

    async function userId(email: string): Promise<string> {
      return (await app.runtime.deps.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow()).id;
    }

    /** The session behind a token, with the flow that made it. */
    async function sessionOf(token: string) {
      const id = token.split('.')[0]!;
      const session = await app.runtime.deps.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      const flow = session.flow_id
        ? await app.runtime.deps.db.selectFrom('sign_in_flows').selectAll().where('id', '=', session.flow_id).executeTakeFirstOrThrow()
        : undefined;
      return { session, flow, proofs: flow ? (JSON.parse(flow.proofs) as { kind: string; at: number }[]).map((proof) => proof.kind) : [] };
    }

    async function withTotp(email: string): Promise<Authenticator> {
      await addUser(app, { account: 'acme', email });
      const token = await signInToken(app, { account: 'acme', email });
      const started = (await app.api('POST', '/api/v1/me/two-factor/totp', { token })).json();
      const authenticator = new Authenticator(started.otpauth_uri);
      const verified = await app.api('POST', '/api/v1/me/two-factor/totp/verify', { token, body: { code: authenticator.code(app.clock.now()) } });
      assert.equal(verified.statusCode, 200, verified.body);
      return authenticator;
    }

    it('a password alone: one finished flow, and a session that claims the password only', async () => {
      await addUser(app, { account: 'acme', email: 'plain@acme.test' });
      const token = await signInToken(app, { account: 'acme', email: 'plain@acme.test' });
      const { session, flow, proofs } = await sessionOf(token);
      assert.equal(flow?.state, 'done');
      assert.equal(flow?.user_id, await userId('plain@acme.test'));
      assert.deepEqual(proofs, ['password']);
      assert.deepEqual(JSON.parse(session.amr!), ['pwd']);
      assert.equal(session.acr, 'urn:tessera:acr:password');
    });

    it('password and passcode: the challenge token is the flow, and the session claims both', async () => {
      const authenticator = await withTotp('two@acme.test');
      app.clock.advance(30_000);
      const started = await signIn(app, { account: 'acme', email: 'two@acme.test' });
      assert.equal(started.json().status, 'two_factor_required');
      const challengeToken = started.json().challenge_token as string;
      const [flowId, secret] = challengeToken.split('.');
      const waiting = await app.runtime.deps.db.selectFrom('sign_in_flows').selectAll().where('id', '=', flowId!).executeTakeFirstOrThrow();
      assert.equal(waiting.state, 'second_factor');
      assert.equal(waiting.secret_hash, hashSecret(secret!), 'only a hash of the secret is stored');
      assert.deepEqual(
        (JSON.parse(waiting.proofs) as { kind: string }[]).map((proof) => proof.kind),
        ['password'],
      );
      const done = await app.api('POST', '/api/v1/sign-in/two-factor', {
        body: { challenge_token: challengeToken, method: 'totp', code: authenticator.code(app.clock.now()), remember_device: true },
      });
      assert.equal(done.json().status, 'signed_in', done.body);
      const { session, flow, proofs } = await sessionOf(done.json().session_token);
      assert.equal(flow?.id, flowId);
      assert.equal(flow?.state, 'done');
      assert.deepEqual(proofs, ['password', 'totp']);
      assert.deepEqual(JSON.parse(session.amr!), ['pwd', 'otp', 'mfa']);
      assert.equal(session.acr, 'urn:tessera:acr:two-factor');
      assert.ok(session.passcode_verified_at !== null);
      // The flow is spent: its token finishes nothing again.
      const again = await app.api('POST', '/api/v1/sign-in/two-factor', {
        body: { challenge_token: challengeToken, method: 'totp', code: authenticator.code(app.clock.now()) },
      });
      assert.equal(again.json().error.code, 'invalid_challenge');

      // A trusted computer stands in for the passcode, but is never claimed as one.
      const trusted = await app.api('POST', '/api/v1/sign-in', {
        body: { account: 'acme', email: 'two@acme.test', password: STRONG_PASSWORD, trusted_device_token: done.json().trusted_device_token },
      });
      assert.equal(trusted.json().status, 'signed_in', trusted.body);
      const viaDevice = await sessionOf(trusted.json().session_token);
      assert.deepEqual(viaDevice.proofs, ['password', 'trusted_device']);
      assert.deepEqual(JSON.parse(viaDevice.session.amr!), ['pwd']);
      assert.equal(viaDevice.session.acr, 'urn:tessera:acr:two-factor');
      assert.equal(viaDevice.session.passcode_verified_at, null);
    });

    it('an admin-issued code continues the flow into enrolment, and the new factor finishes it', async () => {
      await withTotp('lost@acme.test');
      const id = await userId('lost@acme.test');
      const issued = await app.api('POST', `/api/v1/admin/users/${id}/recovery-code`, {
        token: ownerToken,
        body: { reason: 'lost phone', ...PASSWORD_CONFIRMATION },
      });
      assert.equal(issued.statusCode, 200, issued.body);
      const challenge = (await signIn(app, { account: 'acme', email: 'lost@acme.test' })).json().challenge_token;
      const used = await app.api('POST', '/api/v1/sign-in/two-factor', {
        body: { challenge_token: challenge, method: 'recovery_code', code: issued.json().code },
      });
      assert.equal(used.json().status, 'two_factor_setup_required', used.body);
      const setupToken = used.json().session_token as string;
      const setup = await sessionOf(setupToken);
      assert.equal(setup.session.kind, 'setup');
      assert.equal(setup.flow?.state, 'enrolment');
      assert.deepEqual(setup.proofs, ['password', 'admin_code']);
      assert.equal(setup.session.amr, null, 'a setup-only session claims nothing');

      const started = (await app.api('POST', '/api/v1/me/two-factor/totp', { token: setupToken })).json();
      const authenticator = new Authenticator(started.otpauth_uri);
      const verified = await app.api('POST', '/api/v1/me/two-factor/totp/verify', { token: setupToken, body: { code: authenticator.code(app.clock.now()) } });
      assert.equal(verified.statusCode, 200, verified.body);
      const full = await sessionOf(verified.json().session_token);
      assert.equal(full.session.kind, 'full');
      assert.equal(full.flow?.id, setup.flow?.id, 'the same flow, continued');
      assert.equal(full.flow?.state, 'done');
      assert.deepEqual(full.proofs, ['password', 'admin_code', 'totp']);
      assert.deepEqual(JSON.parse(full.session.amr!), ['pwd', 'otp', 'mfa']);
      assert.equal((await app.api('GET', '/api/v1/me', { token: setupToken })).statusCode, 401, 'the setup-only session is gone');
    });

    it('a forced enrolment continues the flow: the emailed code and the new factor are its proofs', async () => {
      await addUser(app, { account: 'acme', email: 'forced@acme.test' });
      // The owner has no second factor yet: the password confirms the change.
      const on = await app.api('PUT', '/api/v1/admin/security-policy', {
        token: ownerToken,
        body: { require_two_factor: 'staff', ...PASSWORD_CONFIRMATION },
      });
      assert.equal(on.statusCode, 200, on.body);
      try {
        const started = await signIn(app, { account: 'acme', email: 'forced@acme.test' });
        assert.equal(started.json().status, 'two_factor_setup_required', started.body);
        const setupToken = started.json().session_token as string;
        const setup = await sessionOf(setupToken);
        assert.equal(setup.flow?.state, 'enrolment');
        assert.deepEqual(setup.proofs, ['password']);
        assert.equal(setup.session.email_confirmed_at, null, 'a password alone does not prove the address');

        assert.equal((await app.api('POST', '/api/v1/me/email-confirmation', { token: setupToken })).statusCode, 200);
        const mail = (await app.outbox()).find((m) => m.to === 'forced@acme.test' && /confirmation code/i.test(m.subject))!;
        const confirmed = await app.api('POST', '/api/v1/me/email-confirmation/verify', {
          token: setupToken,
          body: { code: /\b(\d{6})\b/.exec(mail.body)![1]! },
        });
        assert.equal(confirmed.statusCode, 200, confirmed.body);
        assert.deepEqual((await sessionOf(setupToken)).proofs, ['password', 'email_confirmation']);

        const totp = (await app.api('POST', '/api/v1/me/two-factor/totp', { token: setupToken })).json();
        const authenticator = new Authenticator(totp.otpauth_uri);
        const verified = await app.api('POST', '/api/v1/me/two-factor/totp/verify', {
          token: setupToken,
          body: { code: authenticator.code(app.clock.now()) },
        });
        assert.equal(verified.statusCode, 200, verified.body);
        const full = await sessionOf(verified.json().session_token);
        assert.equal(full.flow?.id, setup.flow?.id);
        assert.equal(full.flow?.state, 'done');
        assert.deepEqual(full.proofs, ['password', 'email_confirmation', 'totp']);
        assert.deepEqual(JSON.parse(full.session.amr!), ['pwd', 'otp', 'mfa']);
        assert.equal(full.session.acr, 'urn:tessera:acr:two-factor');
      } finally {
        const off = await app.api('PUT', '/api/v1/admin/security-policy', {
          token: ownerToken,
          body: { require_two_factor: 'off', ...PASSWORD_CONFIRMATION },
        });
        assert.equal(off.statusCode, 200, off.body);
      }
    });

    it("an admin's reset of 2FA ends the person's flows still open", async () => {
      await withTotp('open@acme.test');
      app.clock.advance(30_000);
      const challenge = (await signIn(app, { account: 'acme', email: 'open@acme.test' })).json().challenge_token as string;
      const id = await userId('open@acme.test');
      const reset = await app.api('DELETE', `/api/v1/admin/users/${id}/two-factor`, {
        token: ownerToken,
        body: { reason: 'new phone', ...PASSWORD_CONFIRMATION },
      });
      assert.equal(reset.statusCode < 300, true, reset.body);
      const flow = await app.runtime.deps.db.selectFrom('sign_in_flows').select('state').where('id', '=', challenge.split('.')[0]!).executeTakeFirstOrThrow();
      assert.equal(flow.state, 'expired');
    });
  });
}
