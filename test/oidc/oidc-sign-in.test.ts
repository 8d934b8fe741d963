// Other apps sign in through Tessera (DESIGN.md, OpenID Connect), end to end:
// openid-client is the app, speaking HTTP to a listening Tessera, and a browser without
// JavaScript goes through Tessera's own pages (Chromium does it in test/browser).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { Authenticator } from '../support/authenticator.js';
import { STRONG_PASSWORD, addUser, createExtraAccount, dialects, setUpAccount, signInToken } from '../support/harness.js';
import {
  authorizationRequest,
  callbackParams,
  discover,
  FormBrowser,
  registerApp,
  startListeningApp,
  type AuthorizationRequest,
  type BrowserPage,
  type ListeningApp,
} from '../support/oidc.js';

for (const dialect of dialects()) {
  describe(`OpenID Connect sign-in on ${dialect.name}`, { skip: dialect.skip }, () => {
    let app: ListeningApp;
    let grafana: client.Configuration;
    let registered: { clientId: string; clientSecret: string | null };
    const authenticators = new Map<string, Authenticator>();

    async function withTotp(email: string, role: 'admin' | 'agent' | 'end_user' = 'agent'): Promise<Authenticator> {
      await addUser(app, { account: 'acme', email, role });
      const token = await signInToken(app, { account: 'acme', email });
      const started = (await app.api('POST', '/api/v1/me/two-factor/totp', { token })).json();
      const authenticator = new Authenticator(started.otpauth_uri);
      const verified = await app.api('POST', '/api/v1/me/two-factor/totp/verify', { token, body: { code: authenticator.code(app.clock.now()) } });
      assert.equal(verified.statusCode, 200, verified.body);
      authenticators.set(email, authenticator);
      return authenticator;
    }

    before(async () => {
      app = await startListeningApp({ dialect: dialect.name });
      await setUpAccount(app);
      registered = await registerApp(app, { accountSlug: 'acme', name: 'Grafana' });
      grafana = await discover(app, registered);
      await withTotp('agent@acme.test');
    });
    after(async () => app?.close());

    /** Password and passcode through the pages, from the app's request to its callback. */
    async function signInThroughPages(browser: FormBrowser, request: AuthorizationRequest, email: string, steps = 1): Promise<BrowserPage> {
      const signInPage = await browser.go(request.url.toString());
      assert.equal(signInPage.status, 200, signInPage.body);
      assert.match(signInPage.body, /Sign in to Grafana/);
      assert.match(signInPage.body, /Acme Support/);
      let page = await browser.submit(signInPage, /\/interaction\/[^/]+\/sign-in$/, { email, password: STRONG_PASSWORD });
      for (let step = 0; step < steps; step += 1) {
        assert.match(page.url, /\/sign-in\/two-factor$/, page.body);
        // A new 30-second window, so the code is not one already used.
        app.clock.advance(30_000);
        await new Promise((resolve) => setTimeout(resolve, 0));
        page = await browser.submit(page, '/sign-in/two-factor', { code: authenticators.get(email)!.code(Date.now() + 30_000 * (step + 1)) });
      }
      return page;
    }

    it('publishes its configuration: the code flow only, S256, the ACR levels, back-channel logout', async () => {
      const metadata = grafana.serverMetadata();
      assert.equal(metadata.issuer, app.baseUrl);
      assert.deepEqual(metadata.response_types_supported, ['code']);
      assert.deepEqual(metadata.code_challenge_methods_supported, ['S256']);
      assert.deepEqual(metadata.acr_values_supported, ['urn:tessera:acr:password', 'urn:tessera:acr:two-factor', 'urn:tessera:acr:phishing-resistant']);
      assert.equal(metadata.backchannel_logout_supported, true);
      assert.equal(metadata.end_session_endpoint, `${app.baseUrl}/oidc/logout`);
      const jwks = (await (await fetch(metadata.jwks_uri!)).json()) as { keys: { alg: string; d?: string }[] };
      assert.deepEqual(jwks.keys.map((key) => key.alg).sort(), ['ES256', 'RS256']);
      assert.ok(
        jwks.keys.every((key) => key.d === undefined),
        'no private part is published',
      );
    });

    it('a person signs in with password and passcode and the app gets tokens that say so', async () => {
      const browser = new FormBrowser(app.baseUrl);
      const request = await authorizationRequest(grafana);
      const landed = await signInThroughPages(browser, request, 'agent@acme.test');
      const params = callbackParams(landed);
      assert.equal(params.get('state'), request.state);
      const tokens = await client.authorizationCodeGrant(grafana, new URL(landed.url), {
        pkceCodeVerifier: request.codeVerifier,
        expectedState: request.state,
        expectedNonce: request.nonce,
      });
      const claims = tokens.claims()!;
      const agentId = (await app.runtime.deps.db.selectFrom('users').select('id').where('email', '=', 'agent@acme.test').executeTakeFirstOrThrow()).id;
      assert.equal(claims.sub, agentId);
      assert.equal(claims.email, 'agent@acme.test');
      assert.equal(claims.account, 'acme');
      assert.equal(claims.account_name, 'Acme Support');
      assert.equal(claims.role, 'agent');
      assert.equal(claims.acr, 'urn:tessera:acr:two-factor');
      assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa']);
      assert.equal(typeof claims.auth_time, 'number');
      assert.ok(tokens.refresh_token, 'a refresh token is issued');

      const userinfo = await client.fetchUserInfo(grafana, tokens.access_token, claims.sub);
      assert.equal(userinfo.email, 'agent@acme.test');
      assert.equal(userinfo.role, 'agent');

      // Refresh tokens rotate; the old one, used again, revokes the grant.
      const refreshed = await client.refreshTokenGrant(grafana, tokens.refresh_token!);
      assert.ok(refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token);
      await assert.rejects(client.refreshTokenGrant(grafana, tokens.refresh_token!), (error: client.ResponseBodyError) => error.error === 'invalid_grant');
      await assert.rejects(client.refreshTokenGrant(grafana, refreshed.refresh_token!), (error: client.ResponseBodyError) => error.error === 'invalid_grant');

      // Signed in already: the next request of the app shows no page at all.
      const again = await authorizationRequest(grafana);
      const straight = await browser.go(again.url.toString());
      assert.ok(callbackParams(straight).get('code'));
      assert.ok(!browser.visited.slice(-6).some((url) => url.includes('/sign-in')), 'no sign-in page on the way');
    });
  });
}
