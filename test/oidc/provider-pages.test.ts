// oidc-provider's own pages speak the reader's language, chosen as Tessera's pages
// choose it: the language picked on a sign-in page (its cookie) before the browser's
// Accept-Language. Its error and signed-out pages are reached here without a session;
// the logout confirmation (which asks only a signed-in person) is walked through in
// oidc-sign-in.test.ts. The OAuth `error` code and `error_description` stay English.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setUpAccount, startTestApp, type TestApp } from '../support/harness.js';
import { CALLBACK, registerApp } from '../support/oidc.js';

describe("oidc-provider's own pages in the reader's language", () => {
  let app: TestApp;
  let clientId: string;

  before(async () => {
    app = await startTestApp();
    await setUpAccount(app);
    clientId = (await registerApp(app, { accountSlug: 'acme' })).clientId;
  });
  after(async () => app?.close());

  const errorQuery = () => new URLSearchParams({ client_id: clientId, redirect_uri: `${CALLBACK}/not-registered`, response_type: 'code', scope: 'openid' });

  it('the error page: in English as before, in German by Accept-Language, the OAuth error in English', async () => {
    const english = await app.inject({ method: 'GET', url: `/oidc/auth?${errorQuery()}` });
    assert.equal(english.statusCode, 400, english.body);
    assert.match(english.body, /<html lang="en"/);
    assert.match(english.body, /<h1>Sign-in could not continue<\/h1>/);
    assert.match(english.body, /Go back to the app you came from and try again\./);
    assert.match(english.body, /\(invalid_redirect_uri\)<\/p>/);

    const german = await app.inject({ method: 'GET', url: `/oidc/auth?${errorQuery()}`, headers: { 'accept-language': 'de-DE,de;q=0.9,en;q=0.5' } });
    assert.match(german.body, /<html lang="de"/);
    assert.match(german.body, /<h1>Die Anmeldung konnte nicht fortgesetzt werden<\/h1>/);
    assert.match(german.body, /Technische Meldung \(auf Englisch\): [^<]*redirect_uri[^<]*\(invalid_redirect_uri\)/);
  });

  it("the signed-out page in the sign-in page's language, before the browser's", async () => {
    const english = await app.inject({ method: 'GET', url: '/oidc/logout/success' });
    assert.equal(english.statusCode, 200, english.body);
    assert.match(english.body, /You are signed out\./);
    assert.match(english.body, /<a href="\/sign-in">Sign in again<\/a>/);

    const japanese = await app.inject({ method: 'GET', url: '/oidc/logout/success', headers: { 'accept-language': 'fr-FR', cookie: 'tessera_language=ja' } });
    assert.match(japanese.body, /<html lang="ja"/);
    assert.match(japanese.body, /<a href="\/sign-in">もう一度サインイン<\/a>/);

    const arabic = await app.inject({ method: 'GET', url: '/oidc/logout/success', headers: { 'accept-language': 'ar' } });
    assert.match(arabic.body, /<html lang="ar" dir="rtl"/);
    assert.match(arabic.body, /لقد سجّلت الخروج\./);
  });
});
