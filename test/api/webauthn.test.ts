import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Authenticator } from '../support/authenticator.js';
import { STRONG_PASSWORD, addUser, dialects, expectErrorShape, setUpAccount, signIn, signInToken, startTestApp, type TestApp } from '../support/harness.js';
import { SoftwareSecurityKey } from '../support/security-key.js';

interface Enrolled {
  token: string;
  key: SoftwareSecurityKey;
  recoveryCodes: string[];
}

function keyFor(app: TestApp): SoftwareSecurityKey {
  const url = new URL(app.config.baseUrl);
  return new SoftwareSecurityKey(url.origin, url.hostname);
}

async function addKey(app: TestApp, token: string, key: SoftwareSecurityKey, confirmation?: { method: string; code: string }, name = 'YubiKey 5C') {
  const options = await app.api('POST', '/api/v1/me/two-factor/webauthn/registration/options', { token, body: confirmation ?? {} });
  assert.equal(options.statusCode, 200, options.body);
  const credential = key.register(options.json().options);
  return app.api('POST', '/api/v1/me/two-factor/webauthn/registration', { token, body: { name, credential } });
}

async function enrolKey(app: TestApp, email: string): Promise<Enrolled> {
  await addUser(app, { account: 'acme', email });
  const token = await signInToken(app, { account: 'acme', email });
  const key = keyFor(app);
  const added = await addKey(app, token, key);
  assert.equal(added.statusCode, 200, added.body);
  return { token, key, recoveryCodes: added.json().recovery_codes };
}

async function challengeFor(app: TestApp, email: string): Promise<{ token: string; methods: string[]; preferred: string }> {
  const response = await signIn(app, { account: 'acme', email });
  const body = response.json();
  assert.equal(body.status, 'two_factor_required', response.body);
  return { token: body.challenge_token, methods: body.methods, preferred: body.preferred };
}

async function signInOptions(app: TestApp, challengeToken: string) {
  const response = await app.api('POST', '/api/v1/sign-in/webauthn/options', { body: { challenge_token: challengeToken } });
  assert.equal(response.statusCode, 200, response.body);
  return response.json().options;
}

function verify(app: TestApp, challengeToken: string, credential: unknown) {
  return app.api('POST', '/api/v1/sign-in/webauthn/verify', { body: { challenge_token: challengeToken, credential } });
}

async function confirmationWithKey(app: TestApp, token: string, key: SoftwareSecurityKey): Promise<{ method: string; code: string }> {
  const options = await app.api('POST', '/api/v1/me/two-factor/webauthn/confirmation/options', { token });
  assert.equal(options.statusCode, 200, options.body);
  return { method: 'webauthn', code: JSON.stringify(key.assert(options.json().options)) };
}

for (const dialect of dialects()) {
  describe(`security keys (WebAuthn) on ${dialect.name}`, { skip: dialect.skip }, () => {
    let app: TestApp;

    before(async () => {
      app = await startTestApp({ dialect: dialect.name });
      await setUpAccount(app);
    });
    after(async () => app?.close());

    it('adds a key as the first factor: recovery codes once, the key listed with its name, 2FA on', async () => {
      const { token, recoveryCodes } = await enrolKey(app, 'kim@acme.test');
      assert.equal(recoveryCodes.length, 10);
      const me = (await app.api('GET', '/api/v1/me', { token })).json();
      assert.equal(me.two_factor.enabled, true);
      assert.deepEqual(me.two_factor.methods, ['webauthn']);
      const keys = (await app.api('GET', '/api/v1/me/two-factor/webauthn', { token })).json().keys;
      assert.equal(keys.length, 1);
      assert.equal(keys[0].name, 'YubiKey 5C');
      assert.equal(keys[0].last_used_at, keys[0].created_at, 'adding it was its first use');
      assert.equal(keys[0].backed_up, false);
      assert.deepEqual(keys[0].transports, ['usb']);
      assert.match(keys[0].created_at, /^\d{4}-\d\d-\d\dT/);
    });

    it('signs in with the key, offered first; the key is marked as used', async () => {
      const { key } = await enrolKey(app, 'lee@acme.test');
      app.clock.advance(60_000);
      const challenge = await challengeFor(app, 'lee@acme.test');
      assert.deepEqual(challenge.methods, ['webauthn', 'recovery_code']);
      assert.equal(challenge.preferred, 'webauthn');
      const options = await signInOptions(app, challenge.token);
      assert.equal(options.rpId, new URL(app.config.baseUrl).hostname);
      assert.equal(options.userVerification, 'preferred');
      assert.deepEqual(
        options.allowCredentials.map((c: { id: string }) => c.id),
        [key.id],
      );
      const signedIn = await verify(app, challenge.token, key.assert(options));
      assert.equal(signedIn.statusCode, 200, signedIn.body);
      assert.equal(signedIn.json().status, 'signed_in');
      const keys = (await app.api('GET', '/api/v1/me/two-factor/webauthn', { token: signedIn.json().session_token })).json().keys;
      assert.equal(keys[0].last_used_at, new Date(app.clock.now()).toISOString());
    });

    it('refuses a replayed assertion, on the same sign-in and on a new one', async () => {
      const { key } = await enrolKey(app, 'max@acme.test');
      const first = await challengeFor(app, 'max@acme.test');
      const assertion = key.assert(await signInOptions(app, first.token));
      assert.equal((await verify(app, first.token, assertion)).statusCode, 200);
      const again = await verify(app, first.token, assertion);
      assert.equal(again.statusCode, 401, 'the challenge is done');
      const second = await challengeFor(app, 'max@acme.test');
      await signInOptions(app, second.token);
      const replayed = await verify(app, second.token, assertion);
      assert.equal(replayed.statusCode, 400, replayed.body);
      expectErrorShape(replayed.json());
      assert.equal(replayed.json().error.code, 'invalid_code');
      // The options were used up by the failed try: a fresh signature needs fresh options.
      const late = await verify(app, second.token, key.assert({ challenge: 'x'.repeat(43) }));
      assert.equal(late.statusCode, 400);
      const good = await verify(app, second.token, key.assert(await signInOptions(app, second.token)));
      assert.equal(good.statusCode, 200, good.body);
    });

    it('refuses a signature made for another origin or another RP ID, and without options first', async () => {
      const { key } = await enrolKey(app, 'ned@acme.test');
      const challenge = await challengeFor(app, 'ned@acme.test');
      const wrongOrigin = await verify(app, challenge.token, key.assert(await signInOptions(app, challenge.token), { origin: 'https://acme-support.example' }));
      assert.equal(wrongOrigin.statusCode, 400, wrongOrigin.body);
      const wrongRp = await verify(app, challenge.token, key.assert(await signInOptions(app, challenge.token), { rpId: 'acme-support.example' }));
      assert.equal(wrongRp.statusCode, 400, wrongRp.body);
      const noOptions = await verify(app, challenge.token, key.assert({ challenge: 'AAAA' }));
      assert.equal(noOptions.statusCode, 400, noOptions.body);
      const audit = await app.runtime.deps.db.selectFrom('audit_events').select(['type', 'details']).where('type', '=', 'passcode_failed').execute();
      assert.ok(audit.filter((e) => e.details?.includes('webauthn')).length >= 3, 'each refused signature is a failed passcode');
    });

    it('refuses a cloned key whose signature counter went backwards', async () => {
      const { key } = await enrolKey(app, 'ola@acme.test');
      const first = await challengeFor(app, 'ola@acme.test');
      assert.equal((await verify(app, first.token, key.assert(await signInOptions(app, first.token), { signCount: 10 }))).statusCode, 200);
      const second = await challengeFor(app, 'ola@acme.test');
      const cloned = await verify(app, second.token, key.assert(await signInOptions(app, second.token), { signCount: 5 }));
      assert.equal(cloned.statusCode, 400, cloned.body);
      const events = await app.runtime.deps.db.selectFrom('audit_events').select(['details']).where('type', '=', 'security_key_counter_mismatch').execute();
      assert.equal(events.length, 1);
      assert.deepEqual(JSON.parse(events[0]!.details!).received, 5);
      const mails = (await app.outbox()).filter((m) => m.to === 'ola@acme.test').map((m) => m.subject);
      assert.ok(
        mails.some((subject) => subject.startsWith('Your security key may have been copied')),
        mails.join('; '),
      );
    });

    it('a key whose counter is always 0 signs in again and again', async () => {
      const { key } = await enrolKey(app, 'zed@acme.test');
      for (let round = 0; round < 3; round += 1) {
        const challenge = await challengeFor(app, 'zed@acme.test');
        const response = await verify(app, challenge.token, key.assert(await signInOptions(app, challenge.token), { signCount: 0 }));
        assert.equal(response.statusCode, 200, response.body);
      }
    });

    it('one assertion sent 20 times at once signs in once', async () => {
      const { key } = await enrolKey(app, 'yan@acme.test');
      const challenge = await challengeFor(app, 'yan@acme.test');
      const assertion = key.assert(await signInOptions(app, challenge.token));
      const responses = await Promise.all(Array.from({ length: 20 }, () => verify(app, challenge.token, assertion)));
      const statuses = responses.map((r) => r.statusCode);
      assert.equal(statuses.filter((status) => status === 200).length, 1, statuses.join(','));
      assert.ok(
        statuses.every((status) => status === 200 || status === 400 || status === 401),
        statuses.join(','),
      );
      app.clock.advance(16 * 60_000);
    });

    it('a NUL byte inside a confirmation or passcode-page credential is refused, never a 500', async () => {
      const { token } = await enrolKey(app, 'xia@acme.test');
      const code = JSON.stringify({ id: '\u0000', rawId: '\u0000', type: 'public-key', response: {} });
      assert.ok(code.includes('\\u0000'));
      await app.api('POST', '/api/v1/me/two-factor/webauthn/confirmation/options', { token });
      const response = await app.api('POST', '/api/v1/me/two-factor/recovery-codes', { token, body: { method: 'webauthn', code } });
      assert.equal(response.statusCode, 400, response.body);
      expectErrorShape(response.json());
      app.clock.advance(16 * 60_000);
    });

    it('counts wrong signatures on the one failure counter and locks after 10', async () => {
      const { key } = await enrolKey(app, 'pia@acme.test');
      const stranger = keyFor(app);
      let last = 0;
      for (let attempt = 0; attempt < 10; attempt += 1) {
        const challenge = await challengeFor(app, 'pia@acme.test');
        const response = await verify(app, challenge.token, stranger.assert(await signInOptions(app, challenge.token)));
        last = response.statusCode;
      }
      assert.equal(last, 429);
      const challenge = await challengeFor(app, 'pia@acme.test');
      const locked = await verify(app, challenge.token, key.assert(await signInOptions(app, challenge.token)));
      assert.equal(locked.statusCode, 429, 'even the right key is refused while locked');
      assert.equal(locked.json().error.code, 'two_factor_locked');
      app.clock.advance(16 * 60_000);
    });

    it('a second key or an app needs a confirmation; the key confirms sensitive actions, once', async () => {
      const { token, key } = await enrolKey(app, 'quinn@acme.test');
      const spare = keyFor(app);
      const refused = await app.api('POST', '/api/v1/me/two-factor/webauthn/registration/options', { token, body: {} });
      assert.equal(refused.statusCode, 403, refused.body);
      assert.equal(refused.json().error.code, 'confirmation_required');
      const added = await addKey(app, token, spare, await confirmationWithKey(app, token, key), 'Spare key');
      assert.equal(added.statusCode, 200, added.body);
      assert.equal(added.json().recovery_codes, undefined, 'not the first factor');
      const subjects = (await app.outbox()).filter((m) => m.to === 'quinn@acme.test').map((m) => m.subject);
      assert.ok(
        subjects.some((subject) => subject.startsWith('Two-factor authentication is on')),
        subjects.join('; '),
      );
      assert.ok(
        subjects.some((subject) => subject.startsWith('A security key was added')),
        subjects.join('; '),
      );
      assert.equal((await app.api('GET', '/api/v1/me/two-factor/webauthn', { token })).json().keys.length, 2);

      const confirmation = await confirmationWithKey(app, token, spare);
      const regenerated = await app.api('POST', '/api/v1/me/two-factor/recovery-codes', { token, body: confirmation });
      assert.equal(regenerated.statusCode, 200, regenerated.body);
      const replayed = await app.api('POST', '/api/v1/me/two-factor/recovery-codes', { token, body: confirmation });
      assert.equal(replayed.statusCode, 400, 'a confirmation signature works once');

      const same = await app.api('POST', '/api/v1/me/two-factor/webauthn/registration/options', { token, body: await confirmationWithKey(app, token, key) });
      const duplicate = await app.api('POST', '/api/v1/me/two-factor/webauthn/registration', {
        token,
        body: { name: 'Again', credential: key.register(same.json().options) },
      });
      assert.equal(duplicate.statusCode, 409, 'a key already added cannot be added twice');
    });

    it('renames a key; a key of someone else is not found', async () => {
      const ann = await enrolKey(app, 'rae@acme.test');
      const bob = await enrolKey(app, 'sam@acme.test');
      const [annKey] = (await app.api('GET', '/api/v1/me/two-factor/webauthn', { token: ann.token })).json().keys;
      const renamed = await app.api('PATCH', `/api/v1/me/two-factor/webauthn/${annKey.id}`, { token: ann.token, body: { name: '  Blue   key ' } });
      assert.equal(renamed.statusCode, 200, renamed.body);
      assert.equal(renamed.json().key.name, 'Blue key');
      const foreign = await app.api('PATCH', `/api/v1/me/two-factor/webauthn/${annKey.id}`, { token: bob.token, body: { name: 'Mine now' } });
      assert.equal(foreign.statusCode, 404);
      const blank = await app.api('PATCH', `/api/v1/me/two-factor/webauthn/${annKey.id}`, { token: ann.token, body: { name: '   ' } });
      assert.equal(blank.statusCode, 400);
    });

    it('removes a key with a confirmation; a removed key no longer signs in and trusted computers are forgotten', async () => {
      const { token, key, recoveryCodes } = await enrolKey(app, 'tia@acme.test');
      const [stored] = (await app.api('GET', '/api/v1/me/two-factor/webauthn', { token })).json().keys;
      const only = await app.api('DELETE', `/api/v1/me/two-factor/webauthn/${stored.id}`, { token, body: await confirmationWithKey(app, token, key) });
      assert.equal(only.statusCode, 409, 'the only factor cannot be removed');
      assert.equal(only.json().error.code, 'last_two_factor_method');

      // Add an app beside the key, then remove the key.
      const started = await app.api('POST', '/api/v1/me/two-factor/totp', { token, body: { method: 'recovery_code', code: recoveryCodes[0] } });
      assert.equal(started.statusCode, 200, started.body);
      const authenticator = Authenticator.fromQrCode(started.json().qr_code);
      assert.equal(
        (await app.api('POST', '/api/v1/me/two-factor/totp/verify', { token, body: { code: authenticator.code(app.clock.now()) } })).statusCode,
        200,
      );
      const trusted = await signIn(app, { account: 'acme', email: 'tia@acme.test' });
      const trustedOptions = await signInOptions(app, trusted.json().challenge_token);
      const remembered = await app.api('POST', '/api/v1/sign-in/webauthn/verify', {
        body: { challenge_token: trusted.json().challenge_token, credential: key.assert(trustedOptions), remember_device: true },
      });
      const deviceToken = remembered.json().trusted_device_token;
      assert.ok(deviceToken);

      const unconfirmed = await app.api('DELETE', `/api/v1/me/two-factor/webauthn/${stored.id}`, { token, body: { method: 'totp', code: '000000' } });
      assert.equal(unconfirmed.statusCode, 400);
      app.clock.advance(30_000);
      const removed = await app.api('DELETE', `/api/v1/me/two-factor/webauthn/${stored.id}`, {
        token,
        body: { method: 'totp', code: authenticator.code(app.clock.now()) },
      });
      assert.equal(removed.statusCode, 200, removed.body);
      assert.deepEqual((await app.api('GET', '/api/v1/me/two-factor/webauthn', { token })).json().keys, []);

      const afterRemoval = await app.api('POST', '/api/v1/sign-in', {
        body: { account: 'acme', email: 'tia@acme.test', password: STRONG_PASSWORD, trusted_device_token: deviceToken },
      });
      const body = afterRemoval.json();
      assert.equal(body.status, 'two_factor_required', 'the trusted computer was forgotten');
      assert.deepEqual(body.methods, ['totp', 'recovery_code']);
      const noKeyOptions = await app.api('POST', '/api/v1/sign-in/webauthn/options', { body: { challenge_token: body.challenge_token } });
      assert.equal(noKeyOptions.statusCode, 400);
      const oldKey = await verify(app, body.challenge_token, key.assert({ challenge: 'AAAA' }));
      assert.equal(oldKey.statusCode, 400, 'the removed key is refused');
      const mails = (await app.outbox()).filter((m) => m.to === 'tia@acme.test').map((m) => m.subject);
      assert.ok(
        mails.some((s) => s.startsWith('A security key was removed')),
        mails.join('; '),
      );
    });

    it('a refused removal of the only key does not use up the recovery code that confirmed it', async () => {
      const { token, recoveryCodes } = await enrolKey(app, 'only.key@acme.test');
      const [stored] = (await app.api('GET', '/api/v1/me/two-factor/webauthn', { token })).json().keys;
      const refused = await app.api('DELETE', `/api/v1/me/two-factor/webauthn/${stored.id}`, {
        token,
        body: { method: 'recovery_code', code: recoveryCodes[0] },
      });
      assert.equal(refused.statusCode, 409);
      assert.equal((await app.api('GET', '/api/v1/me', { token })).json().two_factor.recovery_codes_left, 10, 'the code is not spent');
      const used = await app.runtime.deps.db
        .selectFrom('audit_events')
        .select('type')
        .where('type', '=', 'recovery_code_used')
        .where('subject_user_id', '=', (await app.api('GET', '/api/v1/me', { token })).json().id)
        .execute();
      assert.equal(used.length, 0, 'nor audited as used');
      const regenerated = await app.api('POST', '/api/v1/me/two-factor/recovery-codes', { token, body: { method: 'recovery_code', code: recoveryCodes[0] } });
      assert.equal(regenerated.statusCode, 200, 'the same code still confirms what is allowed');
    });

    it('two keys removed at the same instant: one removal wins, the other is refused as the last factor', async () => {
      const { token, recoveryCodes } = await enrolKey(app, 'twin@acme.test');
      const second = await addKey(app, token, keyFor(app), { method: 'recovery_code', code: recoveryCodes[0]! }, 'Backup key');
      assert.equal(second.statusCode, 200, second.body);
      const keys = (await app.api('GET', '/api/v1/me/two-factor/webauthn', { token })).json().keys as { id: string }[];
      assert.equal(keys.length, 2);
      const answers = await Promise.all(
        keys.map((key, i) =>
          app.api('DELETE', `/api/v1/me/two-factor/webauthn/${key.id}`, { token, body: { method: 'recovery_code', code: recoveryCodes[i + 1] } }),
        ),
      );
      assert.deepEqual(answers.map((a) => a.statusCode).sort(), [200, 409], answers.map((a) => a.body).join(' | '));
      const me = (await app.api('GET', '/api/v1/me', { token })).json();
      assert.equal(me.two_factor.enabled, true);
      assert.deepEqual(me.two_factor.methods, ['webauthn'], 'one key is left');
      assert.equal((await signIn(app, { account: 'acme', email: 'twin@acme.test' })).json().status, 'two_factor_required');
    });

    it('refuses a registration signed for another origin; nothing is added', async () => {
      await addUser(app, { account: 'acme', email: 'uma@acme.test' });
      const token = await signInToken(app, { account: 'acme', email: 'uma@acme.test' });
      const key = keyFor(app);
      const options = (await app.api('POST', '/api/v1/me/two-factor/webauthn/registration/options', { token, body: {} })).json().options;
      const refused = await app.api('POST', '/api/v1/me/two-factor/webauthn/registration', {
        token,
        body: { name: 'Evil', credential: key.register(options, { origin: 'https://evil.example' }) },
      });
      assert.equal(refused.statusCode, 400, refused.body);
      const me = (await app.api('GET', '/api/v1/me', { token })).json();
      assert.equal(me.two_factor.enabled, false);
      const reused = await app.api('POST', '/api/v1/me/two-factor/webauthn/registration', { token, body: { name: 'Late', credential: key.register(options) } });
      assert.equal(reused.statusCode, 400, 'the registration options were used once');
    });

    it('answers the error shape for a malformed credential, never a 500', async () => {
      const { key } = await enrolKey(app, 'vic@acme.test');
      const challenge = await challengeFor(app, 'vic@acme.test');
      const options = await signInOptions(app, challenge.token);
      const good = key.assert(options) as { response: Record<string, string> };
      for (const credential of [
        { ...good, response: { ...good.response, signature: '!!' } },
        { ...good, response: { ...good.response, authenticatorData: '' } },
        { ...good, response: { clientDataJSON: 'e30' } },
        { ...good, id: 'AAAA', rawId: 'AAAA' },
      ]) {
        await signInOptions(app, challenge.token);
        const response = await verify(app, challenge.token, credential);
        assert.ok(response.statusCode === 400, `${response.statusCode} ${response.body}`);
        expectErrorShape(response.json());
      }
      app.clock.advance(16 * 60_000);
    });
  });
}

describe('security keys need a domain name', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp({ env: { TESSERA_BASE_URL: 'http://127.0.0.1:3000' } });
    await setUpAccount(app);
  });
  after(async () => app?.close());

  it('answers webauthn_unavailable when TESSERA_BASE_URL is an IP address', async () => {
    await addUser(app, { account: 'acme', email: 'ip@acme.test' });
    const token = await signInToken(app, { account: 'acme', email: 'ip@acme.test' });
    const response = await app.api('POST', '/api/v1/me/two-factor/webauthn/registration/options', { token, body: {} });
    assert.equal(response.statusCode, 409);
    assert.equal(response.json().error.code, 'webauthn_unavailable');
  });
});

for (const dialect of dialects()) {
  describe(`"security keys for admins" policy on ${dialect.name}`, { skip: dialect.skip }, () => {
    let app: TestApp;
    let ownerToken: string;
    let ownerKey: SoftwareSecurityKey;

    const apps: Record<string, Authenticator> = {};
    const openSessions: Record<string, string> = {};

    before(async () => {
      app = await startTestApp({ dialect: dialect.name });
      ownerToken = (await setUpAccount(app)).token;
      // An admin and an agent with an app, from before the policy.
      await addUser(app, { account: 'acme', email: 'ada@acme.test', role: 'admin' });
      await addUser(app, { account: 'acme', email: 'abe@acme.test', role: 'agent' });
      for (const email of ['ada@acme.test', 'abe@acme.test']) {
        const token = await signInToken(app, { account: 'acme', email });
        openSessions[email] = token;
        const started = await app.api('POST', '/api/v1/me/two-factor/totp', { token });
        apps[email] = Authenticator.fromQrCode(started.json().qr_code);
        assert.equal(
          (await app.api('POST', '/api/v1/me/two-factor/totp/verify', { token, body: { code: apps[email]!.code(app.clock.now()) } })).statusCode,
          200,
        );
      }
    });
    after(async () => app?.close());

    const policy = (token: string, body: Record<string, unknown>) => app.api('PUT', '/api/v1/admin/security-policy', { token, body });

    it('cannot be turned on by an admin without a key of their own', async () => {
      // The owner's first factor is an app; the key comes second.
      const started = await app.api('POST', '/api/v1/me/two-factor/totp', { token: ownerToken });
      const authenticator = Authenticator.fromQrCode(started.json().qr_code);
      const verified = await app.api('POST', '/api/v1/me/two-factor/totp/verify', { token: ownerToken, body: { code: authenticator.code(app.clock.now()) } });
      const codes = verified.json().recovery_codes as string[];
      const refused = await policy(ownerToken, { require_security_keys_for_admins: true, method: 'recovery_code', code: codes[0] });
      assert.equal(refused.statusCode, 403, refused.body);
      assert.equal(refused.json().error.code, 'security_key_required');
      ownerKey = keyFor(app);
      assert.equal((await addKey(app, ownerToken, ownerKey, { method: 'recovery_code', code: codes[1]! })).statusCode, 200);
      const turnedOn = await policy(ownerToken, { require_security_keys_for_admins: true, ...(await confirmationWithKey(app, ownerToken, ownerKey)) });
      assert.equal(turnedOn.statusCode, 200, turnedOn.body);
      assert.equal(turnedOn.json().require_security_keys_for_admins, true);
      assert.equal((await app.api('GET', '/api/v1/me', { token: openSessions['ada@acme.test'] })).statusCode, 401, "admins' open sessions end");
      assert.equal((await app.api('GET', '/api/v1/me', { token: openSessions['abe@acme.test'] })).statusCode, 200, "agents' do not");
      assert.equal((await app.api('GET', '/api/v1/me', { token: ownerToken })).statusCode, 200, 'nor the session that made the change');
    });

    it('an admin who must use a key confirms with it, and cannot turn two-factor authentication off', async () => {
      const byCode = await app.api('POST', '/api/v1/me/two-factor/recovery-codes', { token: ownerToken, body: { method: 'totp', code: '123456' } });
      assert.equal(byCode.statusCode, 400);
      assert.equal(byCode.json().error.field, 'method');
      const off = await app.api('DELETE', '/api/v1/me/two-factor', { token: ownerToken, body: await confirmationWithKey(app, ownerToken, ownerKey) });
      assert.equal(off.statusCode, 403);
      assert.equal(off.json().error.code, 'two_factor_required_by_account');
      const byKey = await app.api('POST', '/api/v1/me/two-factor/recovery-codes', {
        token: ownerToken,
        body: await confirmationWithKey(app, ownerToken, ownerKey),
      });
      assert.equal(byKey.statusCode, 200, byKey.body);
    });

    it('an admin with a key must use it: the app is not offered at sign-in', async () => {
      const challenge = await app.api('POST', '/api/v1/sign-in', { body: { account: 'acme', email: 'owner@acme.test', password: STRONG_PASSWORD } });
      assert.deepEqual(challenge.json().methods, ['webauthn', 'recovery_code']);
      const byApp = await app.api('POST', '/api/v1/sign-in/two-factor', {
        body: { challenge_token: challenge.json().challenge_token, method: 'totp', code: '123456' },
      });
      assert.equal(byApp.statusCode, 400);
      assert.equal(byApp.json().error.field, 'method');
      const options = await signInOptions(app, challenge.json().challenge_token);
      const signedIn = await verify(app, challenge.json().challenge_token, ownerKey.assert(options));
      assert.equal(signedIn.json().status, 'signed_in', signedIn.body);
    });

    it('an admin without a key passes their passcode, then may only add a key; agents are not affected', async () => {
      app.clock.advance(30_000);
      const agent = await challengeFor(app, 'abe@acme.test');
      const agentIn = await app.api('POST', '/api/v1/sign-in/two-factor', {
        body: { challenge_token: agent.token, method: 'totp', code: apps['abe@acme.test']!.code(app.clock.now()) },
      });
      assert.equal(agentIn.json().status, 'signed_in', 'agents sign in with their app as before');

      const admin = await challengeFor(app, 'ada@acme.test');
      assert.deepEqual(admin.methods, ['totp', 'recovery_code']);
      const passed = await app.api('POST', '/api/v1/sign-in/two-factor', {
        body: { challenge_token: admin.token, method: 'totp', code: apps['ada@acme.test']!.code(app.clock.now()) },
      });
      assert.equal(passed.json().status, 'two_factor_setup_required', passed.body);
      const setupToken = passed.json().session_token;
      assert.equal((await app.api('GET', '/api/v1/admin/users', { token: setupToken })).statusCode, 403, 'the setup session can do nothing else');
      // First a code emailed to them (a relayed passcode is not enough to enrol a key);
      // the passcode was just given, so adding the key needs no second one.
      const early = await app.api('POST', '/api/v1/me/two-factor/webauthn/registration/options', { token: setupToken, body: {} });
      assert.equal(early.statusCode, 403);
      assert.equal(early.json().error.code, 'email_confirmation_required');
      assert.equal((await app.api('POST', '/api/v1/me/email-confirmation', { token: setupToken })).statusCode, 200);
      const mail = (await app.outbox()).find((m) => m.to === 'ada@acme.test' && /confirmation code/i.test(m.subject))!;
      const emailed = await app.api('POST', '/api/v1/me/email-confirmation/verify', { token: setupToken, body: { code: /\b(\d{6})\b/.exec(mail.body)![1]! } });
      assert.equal(emailed.statusCode, 200, emailed.body);
      const appAgain = await app.api('POST', '/api/v1/me/two-factor/totp', { token: setupToken });
      assert.equal(appAgain.statusCode, 403);
      assert.equal(appAgain.json().error.code, 'security_key_required');
      const key = keyFor(app);
      const added = await addKey(app, setupToken, key);
      assert.equal(added.statusCode, 200, added.body);
      const fullToken = added.json().session_token;
      assert.ok(fullToken, 'a full session replaces the setup-only one');
      assert.equal((await app.api('GET', '/api/v1/admin/users', { token: fullToken })).statusCode, 200);
      const next = await challengeFor(app, 'ada@acme.test');
      assert.deepEqual(next.methods, ['webauthn', 'recovery_code']);
    });

    it('a new admin without two-factor authentication must add a key, after confirming their email', async () => {
      await addUser(app, { account: 'acme', email: 'ash@acme.test', role: 'admin' });
      const response = await signIn(app, { account: 'acme', email: 'ash@acme.test' });
      assert.equal(response.json().status, 'two_factor_setup_required');
      const token = response.json().session_token;
      const early = await app.api('POST', '/api/v1/me/two-factor/webauthn/registration/options', { token, body: {} });
      assert.equal(early.statusCode, 403);
      assert.equal(early.json().error.code, 'email_confirmation_required');
    });
  });
}
