// Signing in with a passkey alone (DESIGN.md row 18, issue "passkey sign-in"): through
// the API, with a software authenticator that can leave out user verification, name
// another user, or sign for a cloned counter, which a real browser cannot be made to do.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  STRONG_PASSWORD,
  addUser,
  createExtraAccount,
  dialects,
  expectErrorShape,
  setUpAccount,
  signIn,
  signInToken,
  startTestApp,
  type TestApp,
} from '../support/harness.js';
import { SoftwareSecurityKey } from '../support/security-key.js';
import { startPasskeySignIn, finishPasskeySignIn } from '../../src/services/passkeys.js';
import { insertApp } from '../../src/store/apps.js';

function authenticatorFor(app: TestApp): SoftwareSecurityKey {
  const url = new URL(app.config.baseUrl);
  return new SoftwareSecurityKey(url.origin, url.hostname);
}

for (const dialect of dialects()) {
  describe(`passkey sign-in on ${dialect.name}`, { skip: dialect.skip }, () => {
    let app: TestApp;
    let ownerToken: string;

    before(async () => {
      app = await startTestApp({ dialect: dialect.name });
      ownerToken = (await setUpAccount(app)).token;
    });
    after(async () => app?.close());

    const userId = async (email: string) =>
      (await app.runtime.deps.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow()).id;

    /** A person with a passkey (or, `passkey: false`, a plain security key). */
    async function withPasskey(email: string, input: { account?: string; role?: 'admin' | 'agent' | 'end_user'; passkey?: boolean } = {}) {
      await addUser(app, { account: input.account ?? 'acme', email, role: input.role ?? 'agent' });
      const token = await signInToken(app, { account: input.account ?? 'acme', email });
      const passkey = input.passkey !== false;
      const started = await app.api('POST', '/api/v1/me/two-factor/webauthn/registration/options', { token, body: { passkey } });
      assert.equal(started.statusCode, 200, started.body);
      const options = started.json().options;
      const authenticator = authenticatorFor(app);
      const added = await app.api('POST', '/api/v1/me/two-factor/webauthn/registration', {
        token,
        body: { credential: authenticator.register(options), passkey },
      });
      assert.equal(added.statusCode, 200, added.body);
      return { token, authenticator, options, key: added.json().key };
    }

    async function passkeySignIn(authenticator: SoftwareSecurityKey, overrides: Parameters<SoftwareSecurityKey['assert']>[1] = {}) {
      const started = await app.api('POST', '/api/v1/sign-in/passkey/options', { body: {} });
      assert.equal(started.statusCode, 200, started.body);
      const { flow_token: flowToken, options } = started.json();
      const credential = authenticator.assert(options, overrides);
      const done = await app.api('POST', '/api/v1/sign-in/passkey/verify', { body: { flow_token: flowToken, credential } });
      return { done, flowToken, credential, options };
    }

    it('adds a passkey (discoverable, user verification, an opaque user handle) and signs in with it alone', async () => {
      const { authenticator, options, key } = await withPasskey('pia@acme.test');
      assert.equal(options.authenticatorSelection.residentKey, 'required');
      assert.equal(options.authenticatorSelection.userVerification, 'required');
      assert.equal(Buffer.from(options.user.id, 'base64url').toString('utf8'), await userId('pia@acme.test'), 'the user handle is the id');
      assert.ok(!Buffer.from(options.user.id, 'base64url').toString('utf8').includes('@'), 'never the email');
      assert.equal(key.passkey, true);

      const { done, options: signInOptions } = await passkeySignIn(authenticator);
      assert.deepEqual(signInOptions.allowCredentials ?? [], [], 'the browser offers the passkeys it has');
      assert.equal(signInOptions.userVerification, 'required');
      assert.equal(done.statusCode, 200, done.body);
      assert.equal(done.json().status, 'signed_in');
      const session = await app.runtime.deps.db
        .selectFrom('sessions')
        .selectAll()
        .where('id', '=', String(done.json().session_token).split('.')[0]!)
        .executeTakeFirstOrThrow();
      assert.deepEqual(JSON.parse(session.amr!), ['hwk', 'user', 'mfa']);
      assert.equal(session.acr, 'urn:tessera:acr:phishing-resistant');
      const me = await app.api('GET', '/api/v1/me', { token: done.json().session_token });
      assert.equal(me.json().email ?? me.json().user?.email, 'pia@acme.test');
    });

    it('the challenge works once and only for its flow; a replay, another flow or a wrong signature is refused', async () => {
      const { authenticator } = await withPasskey('rex@acme.test');
      const { done, flowToken, credential } = await passkeySignIn(authenticator);
      assert.equal(done.statusCode, 200);
      const replay = await app.api('POST', '/api/v1/sign-in/passkey/verify', { body: { flow_token: flowToken, credential } });
      assert.equal(replay.statusCode, 401);
      expectErrorShape(replay.json());

      const other = (await app.api('POST', '/api/v1/sign-in/passkey/options', { body: {} })).json();
      const elsewhere = await app.api('POST', '/api/v1/sign-in/passkey/verify', { body: { flow_token: other.flow_token, credential } });
      assert.equal(elsewhere.statusCode, 400, 'signed for another challenge');

      const forged = (await app.api('POST', '/api/v1/sign-in/passkey/options', { body: {} })).json();
      const signed = authenticator.assert(forged.options) as { response: { signature: string } };
      signed.response.signature = Buffer.from('not a signature').toString('base64url');
      const wrong = await app.api('POST', '/api/v1/sign-in/passkey/verify', { body: { flow_token: forged.flow_token, credential: signed } });
      assert.equal(wrong.statusCode, 400);
      const failures = await app.runtime.deps.db.selectFrom('audit_events').select('details').where('type', '=', 'passcode_failed').execute();
      assert.ok(
        failures.some((row) => JSON.parse(row.details ?? '{}').method === 'passkey'),
        'counted on the one failure counter',
      );
    });

    it('a passkey that only proved presence falls back to the password, where it still counts as the second factor', async () => {
      const { authenticator } = await withPasskey('uma@acme.test');
      const { done } = await passkeySignIn(authenticator, { userVerified: false });
      assert.equal(done.statusCode, 401);
      assert.equal(done.json().error.code, 'passkey_not_verified');
      const password = await signIn(app, { account: 'acme', email: 'uma@acme.test' });
      assert.equal(password.json().status, 'two_factor_required');
      assert.ok(password.json().methods.includes('webauthn'));
    });

    it('only passkeys sign in alone: a security key added as such, a removed passkey, a suspended person or another user handle are refused', async () => {
      const { authenticator: key } = await withPasskey('kai@acme.test', { passkey: false });
      assert.equal((await passkeySignIn(key)).done.statusCode, 400, 'a security key stays a second factor');

      const { authenticator: named } = await withPasskey('ned@acme.test');
      assert.equal((await passkeySignIn(named, { userHandle: Buffer.from(await userId('kai@acme.test')).toString('base64url') })).done.statusCode, 400);

      const { authenticator: suspendedKey } = await withPasskey('sue@acme.test');
      const suspended = await app.api('PATCH', `/api/v1/admin/users/${await userId('sue@acme.test')}`, {
        token: ownerToken,
        body: { suspended: true, reason: 'Left', method: 'password', code: STRONG_PASSWORD },
      });
      assert.equal(suspended.statusCode, 200, suspended.body);
      assert.equal((await passkeySignIn(suspendedKey)).done.statusCode, 400);

      const { authenticator: resetKey } = await withPasskey('ray@acme.test');
      const reset = await app.api('DELETE', `/api/v1/admin/users/${await userId('ray@acme.test')}/two-factor`, {
        token: ownerToken,
        body: { reason: 'Lost phone', method: 'password', code: STRONG_PASSWORD },
      });
      assert.equal(reset.statusCode, 200, reset.body);
      assert.equal((await passkeySignIn(resetKey)).done.statusCode, 400, 'a 2FA reset removes the passkey too');
    });

    it('starting passkey sign-ins is limited per address (each is a flow)', async () => {
      const ip = '198.51.100.23';
      const answers = [];
      for (let i = 0; i < 121; i += 1) answers.push((await app.api('POST', '/api/v1/sign-in/passkey/options', { body: {}, ip })).statusCode);
      assert.equal(answers.filter((status) => status === 200).length, 120);
      assert.equal(answers.at(-1), 429);
    });

    it('a cloned passkey (its counter going backwards) is refused and reported', async () => {
      const { authenticator } = await withPasskey('cal@acme.test');
      assert.equal((await passkeySignIn(authenticator, { signCount: 5 })).done.statusCode, 200);
      const cloned = await passkeySignIn(authenticator, { signCount: 3 });
      assert.equal(cloned.done.statusCode, 400);
      const reported = await app.runtime.deps.db.selectFrom('audit_events').select('type').where('type', '=', 'security_key_counter_mismatch').execute();
      assert.ok(reported.length >= 1);
    });

    it('the 2FA overview shows who has passkeys: a label on the people page, `passkeys` in the JSON and last in the CSV', async () => {
      await withPasskey('paula@acme.test');
      await withPasskey('keith@acme.test', { passkey: false });
      type Listed = { email: string; two_factor: { methods: string[]; passkeys: number } };
      const users = (await app.api('GET', '/api/v1/admin/users', { token: ownerToken })).json().users as Listed[];
      const twoFactorOf = (email: string) => users.find((user) => user.email === email)!.two_factor;
      assert.deepEqual(twoFactorOf('paula@acme.test').methods, ['webauthn'], 'a passkey is a webauthn key among the methods');
      assert.equal(twoFactorOf('paula@acme.test').passkeys, 1);
      assert.equal(twoFactorOf('keith@acme.test').passkeys, 0, 'a security key is no passkey');
      assert.equal(users.find((user) => user.email === 'owner@acme.test')?.two_factor.passkeys ?? 0, 0);

      const cookie = `tessera_session=${encodeURIComponent(ownerToken)}`;
      for (const csv of [
        (await app.api('GET', '/api/v1/admin/users?format=csv', { token: ownerToken })).body,
        (await app.inject({ method: 'GET', url: '/admin/users.csv', headers: { cookie } })).body,
      ]) {
        assert.match(csv, /^"email","name","role","suspended","two_factor","methods","last_passcode_at","recovery_codes_left","passkeys"\r\n/);
        assert.match(csv, /"paula@acme\.test",[^\r\n]*,"webauthn",[^\r\n]*,"10","1"\r\n/);
        assert.match(csv, /"keith@acme\.test",[^\r\n]*,"webauthn",[^\r\n]*,"10","0"\r\n/);
      }

      const page = await app.inject({ method: 'GET', url: '/admin/users', headers: { cookie } });
      assert.equal(page.statusCode, 200);
      const rowOf = (email: string) => page.body.split('<tr>').find((row) => row.includes(email))!;
      assert.match(rowOf('paula@acme.test'), /<span class="badge">Passkey<\/span>/);
      assert.doesNotMatch(rowOf('keith@acme.test'), /Passkey</);
      const person = await app.inject({ method: 'GET', url: `/admin/users/${await userId('paula@acme.test')}`, headers: { cookie } });
      assert.match(person.body, /<span class="badge">Passkey<\/span>/, "and on the person's own page");
    });

    it('refused on the sign-in page of a host guarded by forward-auth, the person sees that page again, its account fixed', async () => {
      const acme = await app.runtime.deps.db.selectFrom('accounts').select('id').where('slug', '=', 'acme').executeTakeFirstOrThrow();
      const now = app.runtime.deps.now();
      await insertApp(app.runtime.deps.db, {
        id: 'guarded-wiki',
        account_id: acme.id,
        name: 'Wiki',
        kind: 'proxy',
        redirect_uris: '[]',
        post_logout_redirect_uris: '[]',
        backchannel_logout_uri: null,
        host: 'wiki.acme.test',
        first_party: 1,
        allowed_roles: JSON.stringify(['admin', 'agent']),
        required_acr: null,
        secret_hash: null,
        created_by_user_id: null,
        created_at: now,
        updated_at: now,
      });
      const rd = encodeURIComponent('http://wiki.acme.test/page');
      const page = await app.inject({ method: 'GET', url: `/sign-in?rd=${rd}` });
      assert.match(page.body, /Sign in to wiki\.acme\.test/);
      assert.ok(page.body.includes(`action="/sign-in/passkey?rd=${rd}"`), 'the passkey form keeps the guarded address');
      const cookie = [page.headers['set-cookie']]
        .flat()
        .map((line) => String(line).split(';')[0])
        .join('; ');
      const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
      const refused = await app.inject({
        method: 'POST',
        url: `/sign-in/passkey?rd=${rd}`,
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ _csrf: csrf, flow_token: 'not.a-flow', credential: '{}' }).toString(),
      });
      assert.equal(refused.statusCode, 401);
      assert.match(refused.body, /<h1>Sign in to wiki\.acme\.test<\/h1>/);
      assert.match(refused.body, /<input type="hidden" name="account" value="acme">/);
      assert.ok(refused.body.includes(`action="/sign-in/passkey?rd=${rd}"`));
    });

    it('meets "security keys for admins"; an account can turn passkey-only sign-in off; a passkey of account A never signs into account B', async () => {
      const { authenticator: admin, token: adaToken } = await withPasskey('ada@acme.test', { role: 'admin' });
      const confirmOptions = (await app.api('POST', '/api/v1/me/two-factor/webauthn/confirmation/options', { token: adaToken })).json().options;
      const required = await app.api('PUT', '/api/v1/admin/security-policy', {
        token: adaToken,
        body: { require_security_keys_for_admins: true, method: 'webauthn', code: JSON.stringify(admin.assert(confirmOptions)) },
      });
      assert.equal(required.statusCode, 200, required.body);
      const asAdmin = (await passkeySignIn(admin)).done.json();
      assert.equal(asAdmin.status, 'signed_in', 'the passkey is the key admins must use');

      // Requiring keys signed every other admin out; Ada confirms with her passkey.
      const withKey = async () => {
        const options = (await app.api('POST', '/api/v1/me/two-factor/webauthn/confirmation/options', { token: adaToken })).json().options;
        return { method: 'webauthn', code: JSON.stringify(admin.assert(options)) };
      };
      const off = await app.api('PUT', '/api/v1/admin/security-policy', { token: adaToken, body: { passkey_sign_in: false, ...(await withKey()) } });
      assert.equal(off.statusCode, 200, off.body);
      assert.equal(off.json().passkey_sign_in, false);
      const refused = await passkeySignIn(admin);
      assert.equal(refused.done.statusCode, 400);
      assert.match(refused.done.json().error.message, /does not allow signing in with a passkey alone/);
      const on = await app.api('PUT', '/api/v1/admin/security-policy', { token: adaToken, body: { passkey_sign_in: true, ...(await withKey()) } });
      assert.equal(on.statusCode, 200, on.body);

      await createExtraAccount(app, 'beta');
      const betaId = (await app.runtime.deps.db.selectFrom('accounts').select('id').where('slug', '=', 'beta').executeTakeFirstOrThrow()).id;
      const context = { ip: '127.0.0.1', userAgent: null };
      const started = await startPasskeySignIn(app.runtime.deps, { accountId: betaId }, context);
      assert.ok(started.ok);
      const acrossAccounts = await finishPasskeySignIn(
        app.runtime.deps,
        { flowToken: started.value.flowToken, credential: admin.assert(started.value.options) },
        context,
      );
      assert.equal(acrossAccounts.ok, false, "a flow fixed to account B refuses account A's passkey");
    });
  });
}
