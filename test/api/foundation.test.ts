import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  OTHER_STRONG_PASSWORD,
  STRONG_PASSWORD,
  addUser,
  createExtraAccount,
  dialects,
  expectErrorShape,
  linkFrom,
  setUpAccount,
  signIn,
  signInToken,
  startTestApp,
  tokenFromLink,
  type TestApp,
} from '../support/harness.js';
import { issueSetupLink } from '../../src/services/accounts.js';

for (const dialect of dialects()) {
  describe(`foundation flows on ${dialect.name}`, { skip: dialect.skip }, () => {
    let app: TestApp;
    let ownerToken: string;

    before(async () => {
      app = await startTestApp({ dialect: dialect.name });
      ownerToken = (await setUpAccount(app)).token;
    });
    after(async () => app?.close());

    it('the setup link created the account and its owner, signed in as an admin', async () => {
      const me = await app.api('GET', '/api/v1/me', { token: ownerToken });
      assert.equal(me.statusCode, 200);
      const body = me.json();
      assert.equal(body.email, 'owner@acme.test');
      assert.equal(body.role, 'admin');
      assert.deepEqual(body.account, { slug: 'acme', name: 'Acme Support' });
      assert.deepEqual(body.two_factor, { enabled: false, methods: [], preferred: null, recovery_codes_left: 0 });
    });

    it('no second setup link once an account exists', async () => {
      assert.equal(await issueSetupLink(app.runtime.deps), null);
    });

    it('signs in with account, email and password, matched case-insensitively', async () => {
      const response = await signIn(app, { account: 'ACME', email: 'Owner@Acme.TEST' });
      assert.equal(response.statusCode, 200);
      const body = response.json();
      assert.equal(body.status, 'signed_in');
      assert.match(body.session_token, /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
      assert.equal((await app.api('GET', '/api/v1/me', { token: body.session_token })).statusCode, 200);
    });

    it('answers unknown account, unknown email, wrong password and suspended person identically', async () => {
      await addUser(app, { account: 'acme', email: 'suspended@acme.test' });
      const agentId = (await app.api('GET', '/api/v1/admin/users', { token: ownerToken }))
        .json()
        .users.find((u: { email: string }) => u.email === 'suspended@acme.test').id;
      assert.equal(
        (
          await app.api('PATCH', `/api/v1/admin/users/${agentId}`, {
            token: ownerToken,
            body: { suspended: true, method: 'password', code: STRONG_PASSWORD, reason: 'test reason' },
          })
        ).statusCode,
        200,
      );
      const attempts = [
        { account: 'nope', email: 'owner@acme.test', password: STRONG_PASSWORD },
        { account: 'acme', email: 'nobody@acme.test', password: STRONG_PASSWORD },
        { account: 'acme', email: 'owner@acme.test', password: 'wrong password entirely' },
        { account: 'acme', email: 'suspended@acme.test', password: STRONG_PASSWORD },
      ];
      const answers = await Promise.all(attempts.map((attempt) => signIn(app, { ...attempt, ip: '198.51.100.7' })));
      for (const answer of answers) {
        assert.equal(answer.statusCode, 401);
        assert.deepEqual(answer.json(), answers[0]!.json());
        assert.equal(answer.json().error.code, 'invalid_credentials');
      }
    });

    it('sign-out ends the session at once', async () => {
      const token = await signInToken(app, { account: 'acme', email: 'owner@acme.test' });
      assert.equal((await app.api('POST', '/api/v1/sign-out', { token })).statusCode, 200);
      const me = await app.api('GET', '/api/v1/me', { token });
      assert.equal(me.statusCode, 401);
      expectErrorShape(me.json());
    });

    it('refuses a missing, malformed or forged bearer token', async () => {
      const valid = await signInToken(app, { account: 'acme', email: 'owner@acme.test' });
      const [id] = valid.split('.');
      for (const token of [undefined, 'garbage', `${id}.${'A'.repeat(43)}`]) {
        const response = await app.api('GET', '/api/v1/me', { token });
        assert.equal(response.statusCode, 401);
        assert.equal(response.json().error.code, 'unauthorized');
      }
    });

    it('sessions expire after the account lifetime (14 days by default)', async () => {
      const token = await signInToken(app, { account: 'acme', email: 'owner@acme.test' });
      app.clock.advance(14 * 24 * 60 * 60 * 1000 - 1000);
      assert.equal((await app.api('GET', '/api/v1/me', { token })).statusCode, 200);
      app.clock.advance(2000);
      assert.equal((await app.api('GET', '/api/v1/me', { token })).statusCode, 401);
      ownerToken = await signInToken(app, { account: 'acme', email: 'owner@acme.test' });
    });

    it('invites someone by email; the link sets their password and signs them in once', async () => {
      const invite = await app.api('POST', '/api/v1/admin/users', {
        token: ownerToken,
        body: { email: 'New.Agent@Acme.test', role: 'agent', name: 'Nia Agent' },
      });
      assert.equal(invite.statusCode, 200, invite.body);
      assert.equal(invite.json().invitation_pending, true);
      const mail = (await app.outbox()).find((m) => m.to === 'new.agent@acme.test');
      assert.ok(mail, 'invitation email in the outbox');
      assert.match(mail.subject, /invited/i);
      const token = tokenFromLink(linkFrom(mail.body, '/invitation'));
      const weak = await app.api('POST', '/api/v1/invitations/accept', { body: { token, password: 'password1' } });
      assert.equal(weak.statusCode, 400);
      assert.equal(weak.json().error.code, 'weak_password');
      const accepted = await app.api('POST', '/api/v1/invitations/accept', { body: { token, password: OTHER_STRONG_PASSWORD } });
      assert.equal(accepted.statusCode, 200, accepted.body);
      assert.equal(accepted.json().status, 'signed_in');
      const again = await app.api('POST', '/api/v1/invitations/accept', { body: { token, password: OTHER_STRONG_PASSWORD } });
      assert.equal(again.json().error.code, 'invalid_token');
      assert.equal((await signIn(app, { account: 'acme', email: 'new.agent@acme.test', password: OTHER_STRONG_PASSWORD })).json().status, 'signed_in');
    });

    it('an invitation link dies after 72 hours', async () => {
      await app.api('POST', '/api/v1/admin/users', { token: ownerToken, body: { email: 'late@acme.test', role: 'end_user' } });
      const mail = (await app.outbox()).find((m) => m.to === 'late@acme.test')!;
      const token = tokenFromLink(linkFrom(mail.body, '/invitation'));
      app.clock.advance(72 * 60 * 60 * 1000 + 1);
      const response = await app.api('POST', '/api/v1/invitations/accept', { body: { token, password: OTHER_STRONG_PASSWORD } });
      assert.equal(response.json().error.code, 'invalid_token');
      ownerToken = await signInToken(app, { account: 'acme', email: 'owner@acme.test' });
    });

    it('refuses a duplicate email in the same account, in any case', async () => {
      const response = await app.api('POST', '/api/v1/admin/users', { token: ownerToken, body: { email: 'OWNER@acme.test', role: 'agent' } });
      assert.equal(response.statusCode, 409);
      assert.equal(response.json().error.code, 'email_taken');
    });

    it('changing the password needs the current one and ends the other sessions', async () => {
      await addUser(app, { account: 'acme', email: 'changer@acme.test' });
      const first = await signInToken(app, { account: 'acme', email: 'changer@acme.test' });
      const second = await signInToken(app, { account: 'acme', email: 'changer@acme.test' });
      const wrong = await app.api('PUT', '/api/v1/me/password', {
        token: first,
        body: { current_password: 'not it at all', new_password: OTHER_STRONG_PASSWORD },
      });
      assert.equal(wrong.statusCode, 401);
      const weak = await app.api('PUT', '/api/v1/me/password', { token: first, body: { current_password: STRONG_PASSWORD, new_password: 'qwerty123' } });
      assert.equal(weak.json().error.code, 'weak_password');
      const changed = await app.api('PUT', '/api/v1/me/password', {
        token: first,
        body: { current_password: STRONG_PASSWORD, new_password: OTHER_STRONG_PASSWORD },
      });
      assert.equal(changed.statusCode, 200);
      assert.equal((await app.api('GET', '/api/v1/me', { token: first })).statusCode, 200);
      assert.equal((await app.api('GET', '/api/v1/me', { token: second })).statusCode, 401);
      assert.equal((await signIn(app, { account: 'acme', email: 'changer@acme.test', password: OTHER_STRONG_PASSWORD })).json().status, 'signed_in');
      const mails = (await app.outbox()).filter((m) => m.to === 'changer@acme.test');
      assert.ok(mails.some((m) => /password was changed/i.test(m.subject)));
    });

    it('resets a forgotten password by an emailed link, ending every session', async () => {
      await addUser(app, { account: 'acme', email: 'forgetful@acme.test' });
      const old = await signInToken(app, { account: 'acme', email: 'forgetful@acme.test' });
      const unknown = await app.api('POST', '/api/v1/password-reset', { body: { account: 'acme', email: 'ghost@acme.test' } });
      const known = await app.api('POST', '/api/v1/password-reset', { body: { account: 'acme', email: 'forgetful@acme.test' } });
      assert.deepEqual(unknown.json(), known.json());
      assert.equal((await app.outbox()).filter((m) => m.to === 'ghost@acme.test').length, 0);
      const mail = (await app.outbox()).find((m) => m.to === 'forgetful@acme.test' && /reset/i.test(m.subject))!;
      const token = tokenFromLink(linkFrom(mail.body, '/password/reset'));
      const done = await app.api('POST', '/api/v1/password-reset/complete', { body: { token, new_password: OTHER_STRONG_PASSWORD } });
      assert.equal(done.json().status, 'signed_in');
      assert.equal((await app.api('GET', '/api/v1/me', { token: old })).statusCode, 401);
      const reuse = await app.api('POST', '/api/v1/password-reset/complete', { body: { token, new_password: OTHER_STRONG_PASSWORD } });
      assert.equal(reuse.json().error.code, 'invalid_token');
    });

    it('admins change roles and suspend; suspension ends sessions; they cannot act on themselves or the owner', async () => {
      await addUser(app, { account: 'acme', email: 'second.admin@acme.test', role: 'admin' });
      await addUser(app, { account: 'acme', email: 'worker@acme.test', role: 'agent' });
      const users = (await app.api('GET', '/api/v1/admin/users', { token: ownerToken })).json().users as { id: string; email: string }[];
      const worker = users.find((u) => u.email === 'worker@acme.test')!;
      const owner = users.find((u) => u.email === 'owner@acme.test')!;
      const secondAdmin = await signInToken(app, { account: 'acme', email: 'second.admin@acme.test' });
      const workerToken = await signInToken(app, { account: 'acme', email: 'worker@acme.test' });
      assert.equal(
        (
          await app.api('PATCH', `/api/v1/admin/users/${worker.id}`, {
            token: secondAdmin,
            body: { role: 'end_user', method: 'password', code: STRONG_PASSWORD, reason: 'test reason' },
          })
        ).json().role,
        'end_user',
      );
      assert.equal(
        (
          await app.api('PATCH', `/api/v1/admin/users/${owner.id}`, {
            token: secondAdmin,
            body: { suspended: true, method: 'password', code: STRONG_PASSWORD, reason: 'test reason' },
          })
        ).statusCode,
        403,
      );
      assert.equal(
        (
          await app.api('PATCH', `/api/v1/admin/users/${owner.id}`, {
            token: ownerToken,
            body: { role: 'agent', method: 'password', code: STRONG_PASSWORD, reason: 'test reason' },
          })
        ).json().error.code,
        'cannot_change_self',
      );
      assert.equal(
        (
          await app.api('PATCH', `/api/v1/admin/users/${worker.id}`, {
            token: secondAdmin,
            body: { suspended: true, method: 'password', code: STRONG_PASSWORD, reason: 'test reason' },
          })
        ).json().suspended,
        true,
      );
      assert.equal((await app.api('GET', '/api/v1/me', { token: workerToken })).statusCode, 401);
      assert.equal((await app.api('GET', '/api/v1/admin/users', { token: workerToken })).statusCode, 401);
      const events = await app.runtime.deps.db.selectFrom('audit_events').select('type').where('subject_user_id', '=', worker.id).execute();
      assert.ok(events.some((e) => e.type === 'role_changed'));
      assert.ok(events.some((e) => e.type === 'user_suspended'));
    });

    it('non-admins cannot reach admin routes; another account sees none of our people', async () => {
      await addUser(app, { account: 'acme', email: 'plain@acme.test', role: 'agent' });
      const agent = await signInToken(app, { account: 'acme', email: 'plain@acme.test' });
      assert.equal((await app.api('GET', '/api/v1/admin/users', { token: agent })).statusCode, 403);
      await createExtraAccount(app, 'globex');
      await addUser(app, { account: 'globex', email: 'boss@globex.test', role: 'admin' });
      const otherAdmin = await signInToken(app, { account: 'globex', email: 'boss@globex.test' });
      const theirs = (await app.api('GET', '/api/v1/admin/users', { token: otherAdmin })).json().users as { email: string }[];
      assert.deepEqual(
        theirs.map((u) => u.email),
        ['boss@globex.test'],
      );
      const ours = (await app.api('GET', '/api/v1/admin/users', { token: ownerToken })).json().users as { id: string }[];
      const response = await app.api('PATCH', `/api/v1/admin/users/${ours[0]!.id}`, {
        token: otherAdmin,
        body: { suspended: true, method: 'password', code: STRONG_PASSWORD, reason: 'test reason' },
      });
      assert.equal(response.statusCode, 404);
    });

    it('the same email may exist in two accounts, each with its own password', async () => {
      await addUser(app, { account: 'globex', email: 'owner@acme.test', password: OTHER_STRONG_PASSWORD });
      assert.equal((await signIn(app, { account: 'globex', email: 'owner@acme.test', password: OTHER_STRONG_PASSWORD })).json().status, 'signed_in');
      assert.equal((await signIn(app, { account: 'globex', email: 'owner@acme.test', password: STRONG_PASSWORD })).statusCode, 401);
    });

    it('writes audit events for sign-in, sign-out, invitations and password changes', async () => {
      const types = new Set((await app.runtime.deps.db.selectFrom('audit_events').select('type').execute()).map((e) => e.type));
      for (const type of [
        'account_created',
        'user_created',
        'sign_in_succeeded',
        'sign_in_failed',
        'sign_out',
        'user_invited',
        'invitation_accepted',
        'password_changed',
        'password_reset',
        'role_changed',
        'user_suspended',
      ]) {
        assert.ok(types.has(type), `audit event ${type}`);
      }
    });
  });
}
