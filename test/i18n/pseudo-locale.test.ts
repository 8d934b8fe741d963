// The pseudo-locale on a running server (issue #24): `?lang=x-pseudo` shows any page
// in it, in development mode only, and its cookie keeps it on from page to page (the
// passcode page and a person's own language included) until another language is
// chosen. A production server never shows it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { FormBrowser, pageText } from '../support/form-browser.js';
import { addUser, setUpAccount, signInToken, startTestApp, type TestApp } from '../support/harness.js';

const PSEUDO_SIGN_IN = /<h1>Šîĝñ îñ ·+<\/h1>/u;

describe('the pseudo-locale in development mode', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
    await setUpAccount(app);
    await addUser(app, { account: 'acme', email: 'lena@acme.test' });
    const token = await signInToken(app, { account: 'acme', email: 'lena@acme.test' });
    await app.api('PUT', '/api/v1/me/preferences', { token, body: { language: 'de' } });
  });
  after(() => app.close());

  it('?lang=x-pseudo shows the page accented and longer, with English’s lang and direction', async () => {
    const page = await new FormBrowser(app).get('/sign-in?lang=x-pseudo');
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<html lang="en" dir="ltr">/);
    assert.match(page.body, PSEUDO_SIGN_IN);
    assert.doesNotMatch(pageText(page.body), /Skip to content/);
  });

  it('stays on after sign-in, before the person’s own language, until another language is chosen', async () => {
    const lena = new FormBrowser(app);
    await lena.get('/sign-in?lang=x-pseudo');
    await lena.signIn('lena@acme.test');
    const settings = await lena.get('/profile/security');
    assert.equal(settings.statusCode, 200);
    assert.match(pageText(settings.body), /Šéçûŕîţý šéţţîñĝš ·+/u);
    assert.doesNotMatch(pageText(settings.body), /Sicherheitseinstellungen/);
    assert.match(pageText((await lena.get('/profile/security?lang=de')).body), /Sicherheitseinstellungen/);
    assert.match(pageText((await lena.get('/profile/security')).body), /Sicherheitseinstellungen/, 'the choice of German ended it');
  });

  it('an unknown ?lang= leaves it on', async () => {
    const browser = new FormBrowser(app);
    await browser.get('/sign-in?lang=x-pseudo');
    assert.match((await browser.get('/sign-in?lang=tlh')).body, PSEUDO_SIGN_IN);
  });
});

describe('the pseudo-locale in production mode', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp({
      env: {
        TESSERA_MODE: 'production',
        TESSERA_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
        TESSERA_HMAC_KEY: randomBytes(32).toString('base64'),
      },
    });
  });
  after(() => app.close());

  it('is refused: ?lang=x-pseudo and its cookie show English, and no cookie is set', async () => {
    const browser = new FormBrowser(app);
    const page = await browser.get('/sign-in?lang=x-pseudo');
    assert.match(page.body, /<h1>Sign in<\/h1>/);
    assert.ok(![...browser.jar.values()].includes('x-pseudo'), 'no pseudo-locale cookie');
    const forged = await app.inject({ method: 'GET', url: '/sign-in', headers: { cookie: 'tessera_language=x-pseudo' } });
    assert.match(forged.body, /<h1>Sign in<\/h1>/);
  });
});
