// The OpenID Connect signing keys (DESIGN.md, OpenID Connect: signing keys): made on
// first use, sealed under the key ring, rotated by `bin/tessera keys rotate --signing`
// without breaking a token in flight.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import * as client from 'openid-client';
import { STRONG_PASSWORD, addUser, setUpAccount } from '../support/harness.js';
import { authorizationRequest, discover, FormBrowser, registerApp, startListeningApp, type ListeningApp } from '../support/oidc.js';

describe('OpenID Connect signing keys', () => {
  let app: ListeningApp;
  let config: client.Configuration;

  before(async () => {
    app = await startListeningApp({ dialect: 'sqlite' });
    await setUpAccount(app);
    await addUser(app, { account: 'acme', email: 'eve@acme.test', role: 'end_user' });
    const registered = await registerApp(app, { accountSlug: 'acme', allowedRoles: ['end_user'] });
    config = await discover(app, registered);
  });
  after(async () => app?.close());

  async function idToken(): Promise<string> {
    const browser = new FormBrowser(app.baseUrl);
    const request = await authorizationRequest(config);
    const page = await browser.go(request.url.toString());
    const landed = await browser.submit(page, /\/sign-in$/, { email: 'eve@acme.test', password: STRONG_PASSWORD });
    const tokens = await client.authorizationCodeGrant(config, new URL(landed.url), {
      pkceCodeVerifier: request.codeVerifier,
      expectedState: request.state,
      expectedNonce: request.nonce,
    });
    return tokens.id_token!;
  }

  const jwks = async (): Promise<JSONWebKeySet> => (await (await fetch(`${app.baseUrl}/oidc/jwks`)).json()) as JSONWebKeySet;
  const kid = (token: string) => decodeProtectedHeader(token).kid;

  it('keeps only the private halves sealed, and rotation publishes before it signs and withdraws a day later', async () => {
    const first = await idToken();
    const rows = await app.runtime.deps.db.selectFrom('oidc_signing_keys').selectAll().execute();
    assert.equal(rows.length, 2);
    for (const row of rows) {
      assert.match(row.private_key_ciphertext, /^v2\./, 'sealed under the key ring');
      assert.ok(!('d' in JSON.parse(row.public_jwk)));
    }

    const env = { ...process.env, TESSERA_DATA_DIR: app.config.dataDir, TESSERA_DATABASE_URL: app.config.databaseUrl, NODE_ENV: 'test' };
    const rotated = spawnSync(process.execPath, ['bin/tessera', 'keys', 'rotate', '--signing', '--json'], { encoding: 'utf8', env });
    assert.equal(rotated.status, 0, rotated.stderr);
    assert.deepEqual({ ...JSON.parse(rotated.stdout), signs_from: undefined }, { added: 2, retiring: 2, signs_from: undefined });

    // A minute later every instance has reloaded: the new keys are published, the old still sign.
    app.clock.advance(61_000);
    const published = await jwks();
    assert.equal(published.keys.length, 4);
    assert.equal(kid(await idToken()), kid(first));

    // Ten minutes on, the new key signs; a token from before still verifies.
    app.clock.advance(10 * 60_000);
    const second = await idToken();
    assert.notEqual(kid(second), kid(first));
    const keySet = createLocalJWKSet(await jwks());
    await jwtVerify(first, keySet, { issuer: app.baseUrl });
    await jwtVerify(second, keySet, { issuer: app.baseUrl });

    // A day after the new keys began to sign, the old ones are withdrawn.
    app.clock.advance(24 * 60 * 60_000 + 61_000);
    const later = await jwks();
    assert.equal(later.keys.length, 2);
    assert.ok(!later.keys.some((key) => key.kid === kid(first)));
    // The same visit deleted the provider's expired records (codes live a minute,
    // interactions an hour, access tokens an hour).
    const left = await app.runtime.deps.db
      .selectFrom('oidc_records')
      .select('model')
      .where('model', 'in', ['AuthorizationCode', 'Interaction', 'AccessToken'])
      .execute();
    assert.deepEqual(left, []);
  });
});
