// Other apps sign in through Tessera (DESIGN.md, OpenID Connect), end to end:
// openid-client is the app, speaking HTTP to a listening Tessera, and a browser without
// JavaScript goes through Tessera's own pages (Chromium does it in test/browser).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { Authenticator } from '../support/authenticator.js';
import { OTHER_STRONG_PASSWORD, STRONG_PASSWORD, addUser, createExtraAccount, dialects, setUpAccount, signInToken } from '../support/harness.js';
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
    async function signInThroughPages(
      browser: FormBrowser,
      request: AuthorizationRequest,
      email: string,
      steps = 1,
      appName = 'Grafana',
    ): Promise<BrowserPage> {
      const signInPage = await browser.go(request.url.toString());
      assert.equal(signInPage.status, 200, signInPage.body);
      assert.match(signInPage.body, new RegExp(`Sign in to ${appName}`));
      assert.match(signInPage.body, /Acme Support/);
      let page = await browser.submit(signInPage, /\/interaction\/[^/]+\/sign-in$/, { email, password: STRONG_PASSWORD });
      for (let step = 0; step < steps; step += 1) {
        assert.match(page.url, /\/sign-in\/two-factor$/, page.body);
        // A new 30-second window, so the code is not one already used.
        app.clock.advance(30_000);
        page = await browser.submit(page, '/sign-in/two-factor', { code: authenticators.get(email)!.code(app.clock.now()) });
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

    /** Signs a browser in to Tessera itself, through /sign-in (a person without 2FA). */
    async function signInToTessera(browser: FormBrowser, account: string, email: string): Promise<void> {
      const page = await browser.go(`${app.baseUrl}/sign-in`);
      const done = await browser.submit(page, '/sign-in', { account, email, password: STRONG_PASSWORD });
      assert.match(done.url, /\/profile\/security$/, done.body);
    }

    async function redeem(page: BrowserPage, request: AuthorizationRequest, config = grafana) {
      return client.authorizationCodeGrant(config, new URL(page.url), {
        pkceCodeVerifier: request.codeVerifier,
        expectedState: request.state,
        expectedNonce: request.nonce,
      });
    }

    it('an app demanding a security key: a person with a passcode only gets a clear page, the app unmet_authentication_requirements', async () => {
      const browser = new FormBrowser(app.baseUrl);
      const request = await authorizationRequest(grafana, { acr_values: 'urn:tessera:acr:phishing-resistant' });
      const signInPage = await browser.go(request.url.toString());
      const refused = await browser.submit(signInPage, /\/sign-in$/, { email: 'agent@acme.test', password: STRONG_PASSWORD });
      assert.equal(refused.status, 403);
      assert.match(refused.body, /Grafana needs a security key/);
      const back = await browser.submit(refused, /\/abort$/);
      assert.equal(callbackParams(back).get('error'), 'unmet_authentication_requirements');
      assert.equal(callbackParams(back).get('code'), null);

      // Signed in with password and passcode, the same demand is a step-up, with the same answer.
      const plain = await authorizationRequest(grafana);
      await redeem(await signInThroughPages(browser, plain, 'agent@acme.test'), plain);
      const demanding = await authorizationRequest(grafana, { acr_values: 'urn:tessera:acr:phishing-resistant' });
      const stepUp = await browser.go(demanding.url.toString());
      assert.equal(stepUp.status, 403, stepUp.body);
      assert.match(stepUp.body, /needs a security key/);
    });

    it('prompt=none never shows a page: login_required without a session, a code with one', async () => {
      const browser = new FormBrowser(app.baseUrl);
      const silent = await authorizationRequest(grafana, { prompt: 'none' });
      assert.equal(callbackParams(await browser.go(silent.url.toString())).get('error'), 'login_required');

      const first = await authorizationRequest(grafana);
      await redeem(await signInThroughPages(browser, first, 'agent@acme.test'), first);
      const again = await authorizationRequest(grafana, { prompt: 'none' });
      const landed = await browser.go(again.url.toString());
      const tokens = await redeem(landed, again);
      assert.equal(tokens.claims()!.email, 'agent@acme.test');

      // Signed out of Tessera: the provider's own session does not carry on.
      const securityPage = await browser.go(`${app.baseUrl}/profile/security`);
      await browser.submit(securityPage, '/sign-out');
      const afterSignOut = await authorizationRequest(grafana, { prompt: 'none' });
      assert.equal(callbackParams(await browser.go(afterSignOut.url.toString())).get('error'), 'login_required');
    });

    it('prompt=login asks for password and passcode again, trusted session or not', async () => {
      const browser = new FormBrowser(app.baseUrl);
      const first = await authorizationRequest(grafana);
      const firstTokens = await redeem(await signInThroughPages(browser, first, 'agent@acme.test'), first);
      const fresh = await authorizationRequest(grafana, { prompt: 'login' });
      const page = await browser.go(fresh.url.toString());
      assert.match(page.body, /Sign in to Grafana/, 'the sign-in page, though signed in');
      app.clock.advance(1000);
      const landed = await browser.submit(page, /\/sign-in$/, { email: 'agent@acme.test', password: STRONG_PASSWORD });
      assert.match(landed.url, /\/sign-in\/two-factor$/, 'the passcode is asked again too');
      app.clock.advance(30_000);
      const done = await browser.submit(landed, '/sign-in/two-factor', { code: authenticators.get('agent@acme.test')!.code(app.clock.now()) });
      const tokens = await redeem(done, fresh);
      assert.ok((tokens.claims()!.auth_time as number) > (firstTokens.claims()!.auth_time as number));

      // max_age: the same, and the sign-in it asks for meets it, however long the
      // person takes between password and passcode.
      app.clock.advance(10_000);
      const strict = await authorizationRequest(grafana, { max_age: '5' });
      const asked = await browser.go(strict.url.toString());
      assert.match(asked.body, /Sign in to Grafana/, 'max_age=5, signed in longer ago: the sign-in page again');
      const passcodePage = await browser.submit(asked, /\/sign-in$/, { email: 'agent@acme.test', password: STRONG_PASSWORD });
      assert.match(passcodePage.url, /\/sign-in\/two-factor$/);
      app.clock.advance(45_000);
      const strictLanding = await browser.submit(passcodePage, '/sign-in/two-factor', { code: authenticators.get('agent@acme.test')!.code(app.clock.now()) });
      const strictTokens = await redeem(strictLanding, strict);
      assert.ok((strictTokens.claims()!.auth_time as number) >= (tokens.claims()!.auth_time as number));
    });

    it('a person of another account, or of a role the app does not allow, is refused with a page and never gets a code', async () => {
      await createExtraAccount(app, 'beta');
      await addUser(app, { account: 'beta', email: 'bea@beta.test' });
      const browser = new FormBrowser(app.baseUrl);
      await signInToTessera(browser, 'beta', 'bea@beta.test');
      const request = await authorizationRequest(grafana);
      const refused = await browser.go(request.url.toString());
      assert.equal(refused.status, 403);
      assert.match(refused.body, /Grafana belongs to Acme Support, and you are signed in to beta team/);
      // "Use another account" signs out and shows the app's sign-in page.
      const other = await browser.submit(refused, /\/switch$/);
      assert.match(other.body, /Sign in to Grafana/);

      await addUser(app, { account: 'acme', email: 'customer@acme.test', role: 'end_user' });
      const customer = new FormBrowser(app.baseUrl);
      const forCustomer = await authorizationRequest(grafana);
      const page = await customer.go(forCustomer.url.toString());
      const notAllowed = await customer.submit(page, /\/sign-in$/, { email: 'customer@acme.test', password: STRONG_PASSWORD });
      assert.equal(notAllowed.status, 403, notAllowed.body);
      assert.match(notAllowed.body, /lets only some people use Grafana/);
      const back = await customer.submit(notAllowed, /\/abort$/);
      assert.equal(callbackParams(back).get('error'), 'access_denied');
      assert.ok(!customer.visited.some((url) => url.startsWith('https://grafana.acme.test') && new URL(url).searchParams.has('code')));
    });

    it('a code works once: used again, it revokes what the first use gave; two at once give one token set', async () => {
      const browser = new FormBrowser(app.baseUrl);
      const request = await authorizationRequest(grafana);
      const landed = await signInThroughPages(browser, request, 'agent@acme.test');
      const tokens = await redeem(landed, request);
      await assert.rejects(redeem(landed, request), (error: client.ResponseBodyError) => error.error === 'invalid_grant');
      await assert.rejects(client.fetchUserInfo(grafana, tokens.access_token, tokens.claims()!.sub), 'the first use is revoked too');

      const raced = await authorizationRequest(grafana);
      const racedLanding = await browser.go(raced.url.toString());
      const outcomes = await Promise.allSettled([redeem(racedLanding, raced), redeem(racedLanding, raced), redeem(racedLanding, raced)]);
      assert.equal(outcomes.filter((outcome) => outcome.status === 'fulfilled').length <= 1, true);
      assert.ok(outcomes.some((outcome) => outcome.status === 'rejected'));
    });

    it("signing out everywhere, a new password, a 2FA reset and a role the app does not allow end the apps' tokens at once", async () => {
      await withTotp('pat@acme.test');
      const patId = (await app.runtime.deps.db.selectFrom('users').select('id').where('email', '=', 'pat@acme.test').executeTakeFirstOrThrow()).id;
      const ownerToken = await signInToken(app, { account: 'acme', email: 'owner@acme.test' });
      /** A fresh token set at Grafana, then the API session of the same person. */
      async function signedInTwice() {
        const browser = new FormBrowser(app.baseUrl);
        const request = await authorizationRequest(grafana);
        const tokens = await redeem(await signInThroughPages(browser, request, 'pat@acme.test'), request);
        const started = await app.api('POST', '/api/v1/sign-in', { body: { account: 'acme', email: 'pat@acme.test', password: STRONG_PASSWORD } });
        app.clock.advance(30_000);
        const done = await app.api('POST', '/api/v1/sign-in/two-factor', {
          body: { challenge_token: started.json().challenge_token, method: 'totp', code: authenticators.get('pat@acme.test')!.code(app.clock.now()) },
        });
        return { tokens, sessionToken: done.json().session_token as string };
      }
      async function assertEnded(tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers, what: string) {
        await assert.rejects(
          client.refreshTokenGrant(grafana, tokens.refresh_token!),
          (error: client.ResponseBodyError) => error.error === 'invalid_grant',
          what,
        );
        await assert.rejects(client.fetchUserInfo(grafana, tokens.access_token, tokens.claims()!.sub), what);
      }

      const everywhere = await signedInTwice();
      assert.equal((await app.api('DELETE', '/api/v1/me/sessions', { token: everywhere.sessionToken })).statusCode, 204);
      await assertEnded(everywhere.tokens, 'signing out everywhere');

      const password = await signedInTwice();
      const changed = await app.api('PUT', '/api/v1/me/password', {
        token: password.sessionToken,
        body: { current_password: STRONG_PASSWORD, new_password: OTHER_STRONG_PASSWORD },
      });
      assert.equal(changed.statusCode, 200, changed.body);
      await assertEnded(password.tokens, 'a new password');
      await app.api('PUT', '/api/v1/me/password', {
        token: password.sessionToken,
        body: { current_password: OTHER_STRONG_PASSWORD, new_password: STRONG_PASSWORD },
      });

      const role = await signedInTwice();
      const demoted = await app.api('PATCH', `/api/v1/admin/users/${patId}`, {
        token: ownerToken,
        body: { role: 'end_user', reason: 'Moved to a customer account', method: 'password', code: STRONG_PASSWORD },
      });
      assert.equal(demoted.statusCode, 200, demoted.body);
      await assert.rejects(client.refreshTokenGrant(grafana, role.tokens.refresh_token!), 'Grafana does not let end users in');
      await app.api('PATCH', `/api/v1/admin/users/${patId}`, {
        token: ownerToken,
        body: { role: 'agent', reason: 'Back', method: 'password', code: STRONG_PASSWORD },
      });

      const reset = await signedInTwice();
      const resetDone = await app.api('DELETE', `/api/v1/admin/users/${patId}/two-factor`, {
        token: ownerToken,
        body: { reason: 'Lost phone', method: 'password', code: STRONG_PASSWORD },
      });
      assert.equal(resetDone.statusCode, 200, resetDone.body);
      await assertEnded(reset.tokens, 'a 2FA reset');
    });

    it("signing out through the app's logout request signs the person out of Tessera; only registered addresses are followed", async () => {
      const browser = new FormBrowser(app.baseUrl);
      const request = await authorizationRequest(grafana);
      const tokens = await redeem(await signInThroughPages(browser, request, 'agent@acme.test'), request);
      const logout = client.buildEndSessionUrl(grafana, {
        id_token_hint: tokens.id_token!,
        post_logout_redirect_uri: 'https://grafana.acme.test/',
        state: 'bye',
      });
      const confirm = await browser.go(logout.toString());
      assert.match(confirm.body, /Sign out\?/);
      const done = await browser.submit(confirm, /\/oidc\/logout\/confirm$/, { logout: 'yes' });
      assert.equal(done.url, 'https://grafana.acme.test/?state=bye');
      const settings = await browser.go(`${app.baseUrl}/profile/security`);
      assert.match(settings.url, /\/sign-in\?next=/, 'signed out of Tessera too');
      await assert.rejects(client.refreshTokenGrant(grafana, tokens.refresh_token!));

      const evil = new URL(logout);
      evil.searchParams.set('post_logout_redirect_uri', 'https://evil.example/');
      const refused = await browser.go(evil.toString());
      assert.equal(refused.status, 400);
      assert.ok(!browser.visited.some((url) => url.startsWith('https://evil.example')));
    });

    it('no open redirect, no token for a wrong secret, PKCE for public clients, secrets and tokens never stored in the clear', async () => {
      const browser = new FormBrowser(app.baseUrl);
      const wrongRedirect = await authorizationRequest(grafana, { redirect_uri: 'https://evil.example/callback' });
      const page = await browser.go(wrongRedirect.url.toString());
      assert.equal(page.status, 400);
      assert.match(page.body, /redirect_uri/);
      assert.ok(!browser.visited.some((url) => url.startsWith('https://evil.example')));

      const wrongSecret = await discover(app, { clientId: registered.clientId, clientSecret: 'not-the-secret' });
      const request = await authorizationRequest(grafana);
      const landed = await signInThroughPages(browser, request, 'agent@acme.test');
      await assert.rejects(
        redeem(landed, request, wrongSecret),
        (error: client.WWWAuthenticateChallengeError) => error.status === 401 && JSON.stringify(error.cause).includes('invalid_client'),
      );
      const tokens = await redeem(landed, request);

      const stored = await app.runtime.deps.db.selectFrom('apps').select('secret_hash').where('id', '=', registered.clientId).executeTakeFirstOrThrow();
      assert.notEqual(stored.secret_hash, registered.clientSecret);
      const rows = await app.runtime.deps.db.selectFrom('oidc_records').select(['key', 'payload']).execute();
      const everything = JSON.stringify(rows);
      for (const secret of [tokens.access_token, tokens.refresh_token!, new URL(landed.url).searchParams.get('code')!]) {
        assert.ok(!everything.includes(secret), 'a token or code is stored only as an HMAC');
      }

      const spa = await registerApp(app, { accountSlug: 'acme', name: 'Dashboard', kind: 'public' });
      const spaConfig = await discover(app, spa);
      const noPkce = client.buildAuthorizationUrl(spaConfig, { redirect_uri: 'https://grafana.acme.test/login/generic_oauth', scope: 'openid', state: 's' });
      const answer = await browser.go(noPkce.toString());
      assert.equal(callbackParams(answer).get('error'), 'invalid_request');
      assert.match(callbackParams(answer).get('error_description') ?? '', /PKCE/);
    });

    it('a third-party app asks for consent first; Security settings lists it and removing it ends its tokens', async () => {
      const outline = await registerApp(app, { accountSlug: 'acme', name: 'Outline', firstParty: false });
      const config = await discover(app, outline);
      const browser = new FormBrowser(app.baseUrl);
      const request = await authorizationRequest(config);
      const consent = await signInThroughPages(browser, request, 'agent@acme.test', 1, 'Outline');
      assert.match(consent.body, /Allow Outline to sign you in\?/);
      assert.match(consent.body, /Your email address/);
      const denied = await browser.submit(consent, /\/abort$/);
      assert.equal(callbackParams(denied).get('error'), 'access_denied');

      const again = await authorizationRequest(config);
      const asked = await browser.go(again.url.toString());
      assert.match(asked.body, /Allow Outline to sign you in\?/, 'asked again: nothing was allowed');
      const allowed = await browser.submit(asked, /\/consent$/);
      const tokens = await redeem(allowed, again, config);
      assert.equal(tokens.claims()!.email, 'agent@acme.test');

      const once = await authorizationRequest(config);
      assert.ok(callbackParams(await browser.go(once.url.toString())).get('code'), 'allowed once, not asked again');

      // The same list through the API, with the person's own session token.
      const started = await app.api('POST', '/api/v1/sign-in', { body: { account: 'acme', email: 'agent@acme.test', password: STRONG_PASSWORD } });
      app.clock.advance(30_000);
      const apiSession = (
        await app.api('POST', '/api/v1/sign-in/two-factor', {
          body: { challenge_token: started.json().challenge_token, method: 'totp', code: authenticators.get('agent@acme.test')!.code(app.clock.now()) },
        })
      ).json().session_token as string;
      const listed = await app.api('GET', '/api/v1/me/apps', { token: apiSession });
      assert.equal(listed.statusCode, 200, listed.body);
      const outlineEntry = (listed.json().apps as { client_id: string; name: string; scopes: string[] }[]).find(
        (entry) => entry.client_id === outline.clientId,
      );
      assert.equal(outlineEntry?.name, 'Outline');
      assert.ok(outlineEntry?.scopes.includes('email'));
      assert.equal((await app.api('DELETE', '/api/v1/me/apps/not-an-app', { token: apiSession })).statusCode, 404);

      const settings = await browser.go(`${app.baseUrl}/profile/security`);
      assert.match(settings.body, /Apps you allowed/);
      assert.match(settings.body, /Outline/);
      const removed = await browser.submit(settings, `/profile/apps/${outline.clientId}/remove`);
      assert.match(removed.body, /The app is removed/);
      await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token!));
      const afterRemoval = await authorizationRequest(config);
      assert.match((await browser.go(afterRemoval.url.toString())).body, /Allow Outline to sign you in\?/);
    });
  });
}
