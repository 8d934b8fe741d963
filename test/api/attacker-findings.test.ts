// The attacker's lower findings (issue "Close what an attacker found", items 7–16),
// each with what it broke and the behaviour that replaces it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
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
import { loadConfig } from '../../src/config.js';
import { createRuntime } from '../../src/runtime.js';
import { issueSetupLink } from '../../src/services/accounts.js';

for (const dialect of dialects()) {
  describe(`attacker's findings on ${dialect.name}`, { skip: dialect.skip }, () => {
    let app: TestApp;
    let ownerToken: string;

    before(async () => {
      app = await startTestApp({ dialect: dialect.name });
      ownerToken = (await setUpAccount(app)).token;
    });
    after(async () => app?.close());

    async function personWithApp(email: string): Promise<{ token: string; authenticator: Authenticator }> {
      await addUser(app, { account: 'acme', email });
      const token = await signInToken(app, { account: 'acme', email });
      const started = (await app.api('POST', '/api/v1/me/two-factor/totp', { token, body: { method: 'password', code: STRONG_PASSWORD } })).json();
      const authenticator = new Authenticator(started.otpauth_uri);
      const verified = await app.api('POST', '/api/v1/me/two-factor/totp/verify', { token, body: { code: authenticator.code(app.clock.now()) } });
      assert.equal(verified.statusCode, 200, verified.body);
      return { token, authenticator };
    }

    it('7: a sign-in started with the old password cannot be finished after a password change or reset', async () => {
      const person = await personWithApp('seven@acme.test');
      const before = (await signIn(app, { account: 'acme', email: 'seven@acme.test' })).json().challenge_token;
      const changed = await app.api('PUT', '/api/v1/me/password', {
        token: person.token,
        body: { current_password: STRONG_PASSWORD, new_password: OTHER_STRONG_PASSWORD },
      });
      assert.equal(changed.statusCode, 200, changed.body);
      app.clock.advance(30_000);
      const late = await app.api('POST', '/api/v1/sign-in/two-factor', {
        body: { challenge_token: before, method: 'totp', code: person.authenticator.code(app.clock.now()) },
      });
      assert.equal(late.statusCode, 401, late.body);
      assert.equal(late.json().error.code, 'invalid_challenge');

      const again = (await signIn(app, { account: 'acme', email: 'seven@acme.test', password: OTHER_STRONG_PASSWORD })).json().challenge_token;
      assert.equal((await app.api('POST', '/api/v1/password-reset', { body: { account: 'acme', email: 'seven@acme.test' } })).statusCode, 200);
      const mail = (await app.outbox()).find((m) => m.to === 'seven@acme.test' && /Reset your password/.test(m.subject))!;
      const reset = await app.api('POST', '/api/v1/password-reset/complete', {
        body: { token: tokenFromLink(linkFrom(mail.body, '/password/reset')), new_password: 'a third passphrase for seven' },
      });
      assert.equal(reset.json().status, 'two_factor_required', reset.body);
      app.clock.advance(30_000);
      const stale = await app.api('POST', '/api/v1/sign-in/two-factor', {
        body: { challenge_token: again, method: 'totp', code: person.authenticator.code(app.clock.now()) },
      });
      assert.equal(stale.json().error.code, 'invalid_challenge', 'the challenge opened before the reset is gone');
    });

    it('9: a return address with a control, separator or non-ASCII character is dropped before signing in, never a 500', async () => {
      for (const next of ['/%7F', '/a%E2%80%A8b', '/caf%C3%A9', '/a%20b', '/%0d%0aSet-Cookie:x=1']) {
        const page = await app.inject({ method: 'GET', url: '/sign-in' });
        const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
        const cookies = ([] as string[])
          .concat(page.headers['set-cookie'] ?? [])
          .map((c) => c.split(';')[0])
          .join('; ');
        const answer = await app.inject({
          method: 'POST',
          url: `/sign-in?next=${next}`,
          headers: { cookie: cookies, 'content-type': 'application/x-www-form-urlencoded' },
          payload: new URLSearchParams({ _csrf: csrf, account: 'acme', email: 'owner@acme.test', password: STRONG_PASSWORD }).toString(),
        });
        assert.equal(answer.statusCode, 303, `${next}: ${answer.statusCode} ${answer.body.slice(0, 200)}`);
        assert.equal(answer.headers.location, '/profile/security', `${next} is not followed`);
      }
    });

    it('11: a second step locked by wrong passcodes emails the person that someone has their password', async () => {
      await personWithApp('eleven@acme.test');
      for (let i = 0; i < 10; i += 1) {
        const challenge = (await signIn(app, { account: 'acme', email: 'eleven@acme.test' })).json().challenge_token;
        await app.api('POST', '/api/v1/sign-in/two-factor', { body: { challenge_token: challenge, method: 'totp', code: '000000' } });
      }
      const mails = (await app.outbox()).filter((m) => m.to === 'eleven@acme.test' && /someone has your password/i.test(m.subject));
      assert.equal(mails.length, 1);
      assert.match(mails[0]!.body, /change your password/i);
    });

    it('12: turning on a first factor from a session older than 10 minutes asks for the password', async () => {
      await addUser(app, { account: 'acme', email: 'twelve@acme.test' });
      const token = await signInToken(app, { account: 'acme', email: 'twelve@acme.test' });
      // Just signed in with the password: it is fresh proof (SECURITY.md, 10 minutes).
      assert.equal((await app.api('POST', '/api/v1/me/two-factor/totp', { token })).statusCode, 200);
      app.clock.advance(10 * 60 * 1000);
      for (const [url, body] of [
        ['/api/v1/me/two-factor/totp', {}],
        ['/api/v1/me/two-factor/sms', { phone: '+1 201 555 0123' }],
        ['/api/v1/me/two-factor/webauthn/registration/options', {}],
      ] as const) {
        const bare = await app.api('POST', url, { token, body });
        assert.equal(bare.statusCode, 403, `${url}: ${bare.body}`);
        assert.equal(bare.json().error.code, 'confirmation_required');
      }
      const wrong = await app.api('POST', '/api/v1/me/two-factor/totp', { token, body: { method: 'password', code: 'not the password' } });
      assert.equal(wrong.statusCode, 401);
      assert.equal((await app.api('POST', '/api/v1/me/two-factor/totp', { token, body: { method: 'password', code: STRONG_PASSWORD } })).statusCode, 200);
    });

    it('13: a sign-in to an unknown account does the same work as one to a known account (its failure is written too, to no account)', async () => {
      const db = app.runtime.deps.db;
      const count = async () => (await db.selectFrom('audit_events').select('id').where('type', '=', 'sign_in_failed').execute()).length;
      const before = await count();
      assert.equal((await signIn(app, { account: 'no-such-team', email: 'owner@acme.test', password: 'wrong password here' })).statusCode, 401);
      assert.equal((await signIn(app, { account: 'acme', email: 'owner@acme.test', password: 'wrong password here' })).statusCode, 401);
      assert.equal(await count(), before + 2);
      const unknown = await db
        .selectFrom('audit_events')
        .select(['account_id', 'details'])
        .where('type', '=', 'sign_in_failed')
        .where('account_id', 'is', null)
        .executeTakeFirstOrThrow();
      assert.match(unknown.details!, /unknown_account/);
      const visible = (await app.api('GET', '/api/v1/admin/audit-events?type=sign_in_failed', { token: ownerToken })).json().audit_events as {
        details: { reason: string };
      }[];
      assert.ok(
        visible.every((event) => event.details.reason !== 'unknown_account'),
        'no account sees it',
      );
    });

    it("16: the SMS budget an admin sets may not exceed the deployment's", async () => {
      const limit = app.config.smsDailyBudget;
      const over = await app.api('PUT', '/api/v1/admin/security-policy', {
        token: ownerToken,
        body: { sms_daily_budget: limit + 1, method: 'password', code: STRONG_PASSWORD },
      });
      assert.equal(over.statusCode, 400, over.body);
      assert.equal(over.json().error.field, 'sms_daily_budget');
      assert.match(over.json().error.message, new RegExp(`to ${limit}`));
    });
  });
}

describe('keys and files of a data directory (SQLite)', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  async function startedOnce(): Promise<{ dataDir: string; env: Record<string, string> }> {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'tessera-keys-')), 'data');
    dirs.push(dataDir);
    const env = {
      TESSERA_DATA_DIR: dataDir,
      TESSERA_DATABASE_URL: `sqlite:${join(dataDir, 'tessera.db')}`,
      TESSERA_REDIS_KEY_PREFIX: `t-${randomBytes(4).toString('hex')}`,
    };
    const runtime = await createRuntime(loadConfig(env, dataDir));
    const link = await issueSetupLink(runtime.deps);
    const setup = await runtime.app.inject({
      method: 'POST',
      url: '/api/v1/setup',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({
        token: new URL(link!).searchParams.get('token'),
        account_name: 'Acme',
        account_slug: 'acme',
        name: 'Olive Owner',
        email: 'owner@acme.test',
        password: STRONG_PASSWORD,
      }),
    });
    const token = setup.json().session_token;
    const started = await runtime.app.inject({
      method: 'POST',
      url: '/api/v1/me/two-factor/totp',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ method: 'password', code: STRONG_PASSWORD }),
    });
    assert.equal(started.statusCode, 200, started.body);
    await runtime.close();
    return { dataDir, env };
  }

  it('14: the data directory is created 0700 and the database files 0600', async () => {
    const { dataDir } = await startedOnce();
    assert.equal(statSync(dataDir).mode & 0o777, 0o700);
    assert.equal(statSync(join(dataDir, 'tessera.db')).mode & 0o777, 0o600);
    assert.equal(statSync(join(dataDir, 'keys.json')).mode & 0o777, 0o600);
  });

  it('8: a lost keys.json is never silently replaced: the start is refused, naming the file to restore', async () => {
    const { dataDir, env } = await startedOnce();
    unlinkSync(join(dataDir, 'keys.json'));
    await assert.rejects(createRuntime(loadConfig(env, dataDir)), (error: Error) => {
      assert.match(error.message, /keys\.json is missing/);
      assert.match(error.message, /Restore/);
      return true;
    });
  });

  it('8: a key file without the key the stored secrets name is refused too', async () => {
    const { dataDir, env } = await startedOnce();
    writeFileSync(
      join(dataDir, 'keys.json'),
      JSON.stringify({ encryption_keys: [{ id: 'kother', key: randomBytes(32).toString('base64') }], hmac_key: randomBytes(32).toString('base64') }),
      { mode: 0o600 },
    );
    await assert.rejects(createRuntime(loadConfig(env, dataDir)), /sealed with key "k[a-z0-9]+", which .*keys\.json lacks/);
    const elsewhere = { ...env, TESSERA_ENCRYPTION_KEYS: `kenv:${randomBytes(32).toString('base64')}`, TESSERA_HMAC_KEY: randomBytes(32).toString('base64') };
    await assert.rejects(createRuntime(loadConfig(elsewhere, dataDir)), /TESSERA_ENCRYPTION_KEYS lacks/);
  });
});

describe('operations endpoints tell outsiders nothing (16)', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp({ env: { TESSERA_METRICS_TOKEN: 'metrics-token-0123456789' } });
  });
  after(async () => app?.close());

  it("/metrics asks for the operator's bearer token when one is set", async () => {
    assert.equal((await app.api('GET', '/metrics')).statusCode, 401);
    assert.equal((await app.api('GET', '/metrics', { headers: { authorization: 'Bearer metrics-token-012345678X' } })).statusCode, 401);
    const allowed = await app.api('GET', '/metrics', { headers: { authorization: 'Bearer metrics-token-0123456789' } });
    assert.equal(allowed.statusCode, 200);
    assert.match(allowed.body, /tessera_http_requests_total/);
  });

  it("/readyz says what is down, without the database's own error text", async () => {
    await app.runtime.store.close();
    const answer = await app.api('GET', '/readyz');
    assert.equal(answer.statusCode, 503);
    assert.deepEqual(answer.json(), { error: { code: 'service_unavailable', message: 'database unreachable' } });
  });
});
