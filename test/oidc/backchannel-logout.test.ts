// Back-channel logout (DESIGN.md, OpenID Connect: sign-out everywhere): a suspension or
// a sign-out sends every app the person signed in to a logout token, through the
// outbox, and their refresh tokens stop working at once.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import * as client from 'openid-client';
import { STRONG_PASSWORD, addUser, dialects, setUpAccount } from '../support/harness.js';
import { authorizationRequest, discover, FormBrowser, registerApp, startListeningApp, type ListeningApp } from '../support/oidc.js';

for (const dialect of dialects()) {
  describe(`back-channel logout on ${dialect.name}`, { skip: dialect.skip }, () => {
    let app: ListeningApp;
    let receiver: Server;
    let received: URLSearchParams[] = [];
    let receiverUrl: string;
    let ownerToken: string;

    before(async () => {
      receiver = createServer((request, response) => {
        let body = '';
        request.on('data', (chunk: Buffer) => (body += chunk.toString()));
        request.on('end', () => {
          received.push(new URLSearchParams(body));
          response.writeHead(200).end();
        });
      });
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      const address = receiver.address();
      receiverUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/backchannel`;
      app = await startListeningApp({ dialect: dialect.name, env: { TESSERA_OUTBOUND_ALLOW: '127.0.0.0/8' } });
      ownerToken = (await setUpAccount(app)).token;
    });
    after(async () => {
      await app?.close();
      receiver?.close();
    });

    async function signedInAt(config: client.Configuration, email: string) {
      const browser = new FormBrowser(app.baseUrl);
      const request = await authorizationRequest(config);
      const page = await browser.go(request.url.toString());
      const landed = await browser.submit(page, /\/sign-in$/, { email, password: STRONG_PASSWORD });
      return client.authorizationCodeGrant(config, new URL(landed.url), {
        pkceCodeVerifier: request.codeVerifier,
        expectedState: request.state,
        expectedNonce: request.nonce,
      });
    }

    it('a suspension sends each app a signed logout token and ends its refresh token', async () => {
      await addUser(app, { account: 'acme', email: 'sam@acme.test', role: 'end_user' });
      const withLogout = await registerApp(app, { accountSlug: 'acme', name: 'Wiki', allowedRoles: ['end_user'], backchannelLogoutUri: receiverUrl });
      const withoutLogout = await registerApp(app, { accountSlug: 'acme', name: 'Notes', allowedRoles: ['end_user'] });
      const wiki = await discover(app, withLogout);
      const notes = await discover(app, withoutLogout);
      const wikiTokens = await signedInAt(wiki, 'sam@acme.test');
      const notesTokens = await signedInAt(notes, 'sam@acme.test');
      const sam = wikiTokens.claims()!.sub;

      received = [];
      const suspended = await app.api('PATCH', `/api/v1/admin/users/${sam}`, {
        token: ownerToken,
        body: { suspended: true, reason: 'Left the team', method: 'password', code: STRONG_PASSWORD },
      });
      assert.equal(suspended.statusCode, 200, suspended.body);
      await assert.rejects(client.refreshTokenGrant(wiki, wikiTokens.refresh_token!));
      await assert.rejects(client.refreshTokenGrant(notes, notesTokens.refresh_token!));

      await app.runtime.worker.drain();
      assert.equal(received.length, 1, 'one logout token, for the one app with a back-channel address');
      const logoutToken = received[0]!.get('logout_token')!;
      const jwks = (await (await fetch(`${app.baseUrl}/oidc/jwks`)).json()) as JSONWebKeySet;
      const { payload, protectedHeader } = await jwtVerify(logoutToken, createLocalJWKSet(jwks), {
        issuer: app.baseUrl,
        audience: withLogout.clientId,
        typ: 'logout+jwt',
      });
      assert.equal(protectedHeader.alg, 'ES256');
      assert.equal(payload.sub, sam);
      assert.deepEqual(payload.events, { 'http://schemas.openid.net/event/backchannel-logout': {} });
      assert.equal(payload.nonce, undefined);
      assert.ok(typeof payload.jti === 'string' && typeof payload.iat === 'number');
    });

    it('the person signing out of Tessera is heard by the app too', async () => {
      await addUser(app, { account: 'acme', email: 'lou@acme.test', role: 'end_user' });
      const registered = await registerApp(app, { accountSlug: 'acme', name: 'Board', allowedRoles: ['end_user'], backchannelLogoutUri: receiverUrl });
      const config = await discover(app, registered);
      const browser = new FormBrowser(app.baseUrl);
      const request = await authorizationRequest(config);
      const page = await browser.go(request.url.toString());
      const landed = await browser.submit(page, /\/sign-in$/, { email: 'lou@acme.test', password: STRONG_PASSWORD });
      const tokens = await client.authorizationCodeGrant(config, new URL(landed.url), {
        pkceCodeVerifier: request.codeVerifier,
        expectedState: request.state,
        expectedNonce: request.nonce,
      });
      received = [];
      const settings = await browser.go(`${app.baseUrl}/profile/security`);
      await browser.submit(settings, '/sign-out');
      await app.runtime.worker.drain();
      assert.equal(received.length, 1);
      await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token!));
    });
  });
}
