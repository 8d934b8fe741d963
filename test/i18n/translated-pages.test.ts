// Pages in the reader's language (DESIGN.md row 21, issue #24), rendered as a browser
// without JavaScript gets them: <html lang dir> and a translated phrase in German and
// in Arabic (right to left), for each page translated after the sign-in page.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Authenticator } from '../support/authenticator.js';
import { FormBrowser, pageText } from '../support/form-browser.js';
import { addUser, setUpAccount, signInToken, startTestApp, type TestApp } from '../support/harness.js';

function htmlTag(body: string): string {
  return /<html[^>]*>/.exec(body)?.[0] ?? '';
}

describe('the passcode page in the person’s language', () => {
  let app: TestApp;
  let token: string;
  const browser = () => new FormBrowser(app);
  before(async () => {
    app = await startTestApp();
    await setUpAccount(app);
    await addUser(app, { account: 'acme', email: 'lena@acme.test' });
    token = await signInToken(app, { account: 'acme', email: 'lena@acme.test' });
    const started = (await app.api('POST', '/api/v1/me/two-factor/totp', { token })).json();
    const enrolled = await app.api('POST', '/api/v1/me/two-factor/totp/verify', {
      token,
      body: { code: Authenticator.fromQrCode(started.qr_code).code(app.clock.now()) },
    });
    assert.equal(enrolled.statusCode, 200, enrolled.body);
  });
  after(() => app.close());

  it('German: lang="de", the app’s passcode, the other ways in and the remembered computer', async () => {
    await app.api('PUT', '/api/v1/me/preferences', { token, body: { language: 'de' } });
    const lena = browser();
    await lena.signIn('lena@acme.test');
    const page = await lena.get('/sign-in/two-factor');
    assert.equal(page.statusCode, 200);
    assert.equal(htmlTag(page.body), '<html lang="de" dir="ltr">');
    const text = pageText(page.body);
    assert.match(text, /Öffnen Sie Ihre Authentifizierungs-App und geben Sie den 6-stelligen Bestätigungscode für Acme Support ein\./);
    assert.match(page.body, /für <strong>Acme Support<\/strong> ein/);
    assert.match(text, /Wiederherstellungscode verwenden/);
    assert.match(text, /Auf diesem Computer 30 Tage lang nicht mehr fragen/);
    assert.doesNotMatch(text, /Two-factor authentication|Verify|Don't ask again/);
    const recovery = await lena.get('/sign-in/two-factor?method=recovery_code');
    assert.match(pageText(recovery.body), /Geben Sie einen Ihrer Wiederherstellungscodes ein\./);
  });

  it('German: a wrong code is refused in German', async () => {
    const lena = browser();
    await lena.signIn('lena@acme.test');
    const csrf = await lena.csrf('/sign-in/two-factor');
    const wrong = await lena.post('/sign-in/two-factor', { _csrf: csrf, method: 'totp', code: '000000' });
    assert.equal(wrong.statusCode, 400);
    assert.match(pageText(wrong.body), /Dieser Code ist nicht richtig\./);
  });

  it('Arabic: lang="ar" dir="rtl", the page’s words in Arabic', async () => {
    await app.api('PUT', '/api/v1/me/preferences', { token, body: { language: 'ar' } });
    const lena = browser();
    await lena.signIn('lena@acme.test');
    const page = await lena.get('/sign-in/two-factor');
    assert.equal(htmlTag(page.body), '<html lang="ar" dir="rtl">');
    const text = pageText(page.body);
    assert.match(text, /المصادقة الثنائية/);
    assert.match(text, /افتح تطبيق المصادقة/);
    assert.match(text, /استخدام رمز استرداد/);
  });

  it('English stays as it was', async () => {
    await app.api('PUT', '/api/v1/me/preferences', { token, body: { language: null } });
    const lena = browser();
    await lena.signIn('lena@acme.test');
    const text = pageText((await lena.get('/sign-in/two-factor')).body);
    assert.match(text, /Open your authenticator app and enter the 6-digit passcode for Acme Support ?\./);
    assert.match(text, /Don't ask again on this computer for 30 days/);
    assert.match(text, /Use a recovery code/);
    assert.match(text, /Cancel and sign in again/);
  });
});

describe('Security settings in the person’s language', () => {
  let app: TestApp;
  let token: string;
  before(async () => {
    app = await startTestApp();
    await setUpAccount(app);
    await addUser(app, { account: 'acme', email: 'lena@acme.test' });
    token = await signInToken(app, { account: 'acme', email: 'lena@acme.test' });
    const started = (await app.api('POST', '/api/v1/me/two-factor/totp', { token })).json();
    const enrolled = await app.api('POST', '/api/v1/me/two-factor/totp/verify', {
      token,
      body: { code: Authenticator.fromQrCode(started.qr_code).code(app.clock.now()) },
    });
    assert.equal(enrolled.statusCode, 200, enrolled.body);
  });
  after(() => app.close());

  const settings = async () => app.inject({ method: 'GET', url: '/profile/security', headers: { cookie: `tessera_session=${token}` } });

  it('German: lang="de", the two-factor card, the recovery codes left, computers, sessions and the password card', async () => {
    await app.api('PUT', '/api/v1/me/preferences', { token, body: { language: 'de' } });
    const page = await settings();
    assert.equal(page.statusCode, 200);
    assert.equal(htmlTag(page.body), '<html lang="de" dir="ltr">');
    const text = pageText(page.body);
    assert.match(text, /Sicherheitseinstellungen/);
    assert.match(text, /An Nach Ihrem Passwort werden Sie nach einem Bestätigungscode gefragt\./);
    assert.match(text, /Authentifizierungs-App/);
    assert.match(text, /10 Wiederherstellungscodes übrig\./);
    assert.match(text, /Vertrauenswürdige Computer/);
    assert.match(text, /Aktive Sitzungen/);
    assert.match(text, /Aktuelles Passwort/);
    assert.match(page.body, /data-confirm="Zwei-Faktor-Authentifizierung deaktivieren\?"/);
    assert.doesNotMatch(text, /Trusted computers|Active sessions|Change password|recovery codes left/);
  });

  it('Arabic: lang="ar" dir="rtl" and its words', async () => {
    await app.api('PUT', '/api/v1/me/preferences', { token, body: { language: 'ar' } });
    const page = await settings();
    assert.equal(htmlTag(page.body), '<html lang="ar" dir="rtl">');
    const text = pageText(page.body);
    assert.match(text, /إعدادات الأمان/);
    assert.match(text, /الجلسات النشطة/);
    assert.match(text, /تغيير كلمة المرور/);
  });

  it('English stays as it was', async () => {
    await app.api('PUT', '/api/v1/me/preferences', { token, body: { language: null } });
    const text = pageText((await settings()).body);
    assert.match(text, /On You are asked for a passcode after your password\./);
    assert.match(text, /10 recovery codes left\./);
    assert.match(text, /Signing in on these computers skips the passcode until the trust expires \(30 days after you trusted it\)\./);
    assert.match(text, /Authenticator app/);
    assert.match(text, /Change password/);
  });
});
