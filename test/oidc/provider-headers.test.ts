// The provider behind HTTPS (SECURITY.md, other apps): its cookies are Secure and
// HttpOnly, its answers carry Tessera's CSP and framing rules, and its addresses are
// TESSERA_BASE_URL's whatever Host or X-Forwarded-* a client sends.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { setUpAccount, startTestApp, type TestApp } from '../support/harness.js';
import { CALLBACK, registerApp } from '../support/oidc.js';

describe('the OpenID Connect provider behind HTTPS', () => {
  let app: TestApp;
  let clientId: string;

  before(async () => {
    app = await startTestApp({ env: { TESSERA_BASE_URL: 'https://auth.acme.test', TESSERA_TRUST_PROXY: '127.0.0.1' } });
    await setUpAccount(app);
    clientId = (await registerApp(app, { accountSlug: 'acme' })).clientId;
  });
  after(async () => app?.close());

  it('sets Secure, HttpOnly cookies and Tessera security headers; addresses come from the base URL only', async () => {
    const query = new URLSearchParams({
      client_id: clientId,
      redirect_uri: CALLBACK,
      response_type: 'code',
      scope: 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const response = await app.inject({
      method: 'GET',
      url: `/oidc/auth?${query}`,
      headers: { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http' },
      remoteAddress: '203.0.113.9',
    });
    assert.equal(response.statusCode, 303, response.body);
    assert.match(String(response.headers.location), /^https:\/\/auth\.acme\.test\/interaction\/|^\/interaction\//);
    const cookies = ([] as string[]).concat(response.headers['set-cookie'] ?? []);
    assert.ok(cookies.length > 0);
    for (const cookie of cookies) {
      assert.match(cookie, /; secure/i, cookie);
      assert.match(cookie, /; httponly/i, cookie);
      assert.match(cookie, /; samesite=lax/i, cookie);
    }
    assert.match(String(response.headers['content-security-policy']), /frame-ancestors 'none'/);
    assert.equal(response.headers['x-frame-options'], 'DENY');

    const discovery = await app.inject({
      method: 'GET',
      url: '/.well-known/openid-configuration',
      headers: { host: 'evil.example', 'x-forwarded-host': 'evil.example' },
    });
    const metadata = discovery.json() as Record<string, unknown>;
    assert.equal(metadata.issuer, 'https://auth.acme.test');
    for (const key of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri', 'end_session_endpoint']) {
      assert.ok(String(metadata[key]).startsWith('https://auth.acme.test/oidc/'), `${key}: ${String(metadata[key])}`);
    }
  });
});
