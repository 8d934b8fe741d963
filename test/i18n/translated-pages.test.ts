// Pages in the reader's language (DESIGN.md row 21, issue #24), rendered as a browser
// without JavaScript gets them: <html lang dir> and a translated phrase in German and
// in Arabic (right to left), for each page translated after the sign-in page.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Authenticator } from '../support/authenticator.js';
import { FormBrowser, pageText } from '../support/form-browser.js';
import { refusalPage } from '../../src/http/forward-auth/pages.js';
import { SoftwareSecurityKey } from '../support/security-key.js';
import { addUser, linkFrom, setUpAccount, signInToken, STRONG_PASSWORD, startTestApp, type TestApp } from '../support/harness.js';

/** Lena of Acme, with an authenticator app: her session token. */
async function lenaWithAnAuthenticatorApp(app: TestApp): Promise<string> {
  await setUpAccount(app);
  await addUser(app, { account: 'acme', email: 'lena@acme.test' });
  const token = await signInToken(app, { account: 'acme', email: 'lena@acme.test' });
  const started = (await app.api('POST', '/api/v1/me/two-factor/totp', { token })).json();
  const enrolled = await app.api('POST', '/api/v1/me/two-factor/totp/verify', {
    token,
    body: { code: Authenticator.fromQrCode(started.qr_code).code(app.clock.now()) },
  });
  assert.equal(enrolled.statusCode, 200, enrolled.body);
  return token;
}

function htmlTag(body: string): string {
  return /<html[^>]*>/.exec(body)?.[0] ?? '';
}

describe('the passcode page in the person’s language', () => {
  let app: TestApp;
  let token: string;
  const browser = () => new FormBrowser(app);
  before(async () => {
    app = await startTestApp();
    token = await lenaWithAnAuthenticatorApp(app);
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
    token = await lenaWithAnAuthenticatorApp(app);
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

describe('the pages before sign-in in the reader’s language', () => {
  let app: TestApp;
  const browser = () => new FormBrowser(app);
  before(async () => {
    app = await startTestApp();
    await setUpAccount(app);
    await addUser(app, { account: 'acme', email: 'lena@acme.test' });
  });
  after(() => app.close());

  it('German (?lang=de): the forgotten-password page and what it answers', async () => {
    const reader = browser();
    const page = await reader.get('/password/forgot?lang=de');
    assert.equal(htmlTag(page.body), '<html lang="de" dir="ltr">');
    const text = pageText(page.body);
    assert.match(text, /Passwort zurücksetzen/);
    assert.match(text, /Ihre Zwei-Faktor-Authentifizierung bleibt aktiviert\./);
    assert.match(text, /Zurück zur Anmeldung/);
    assert.doesNotMatch(text, /Reset your password|Email me a link/);
    const csrf = await reader.csrf('/password/forgot');
    const sent = await reader.post('/password/forgot', { _csrf: csrf, account: 'acme', email: 'lena@acme.test' });
    assert.match(pageText(sent.body), /ist ein Link zum Zurücksetzen des Passworts unterwegs\. Er ist 1 Stunde lang gültig\./);
  });

  it('Arabic (?lang=ar): the forgotten-password page and a bad setup link, right to left', async () => {
    const forgot = await browser().get('/password/forgot?lang=ar');
    assert.equal(htmlTag(forgot.body), '<html lang="ar" dir="rtl">');
    assert.match(pageText(forgot.body), /إعادة تعيين كلمة المرور/);
    const setup = await browser().get('/setup?token=nothing&lang=ar');
    assert.equal(setup.statusCode, 400);
    assert.equal(htmlTag(setup.body), '<html lang="ar" dir="rtl">');
    assert.match(pageText(setup.body), /الانتقال إلى تسجيل الدخول/);
  });

  it('a reset link opens in the language of the person it was mailed to', async () => {
    await addUser(app, { account: 'acme', email: 'mia@acme.test' });
    const token = await signInToken(app, { account: 'acme', email: 'mia@acme.test' });
    await app.api('PUT', '/api/v1/me/preferences', { token, body: { language: 'de' } });
    const reader = browser();
    await reader.post('/password/forgot', { _csrf: await reader.csrf('/password/forgot'), account: 'acme', email: 'mia@acme.test' });
    const mail = (await app.outbox()).find((m) => m.to === 'mia@acme.test')!;
    const link = new URL(linkFrom(mail.body, '/password/reset'));
    const page = await browser().get(`${link.pathname}${link.search}`);
    assert.equal(page.statusCode, 200, pageText(page.body));
    assert.equal(htmlTag(page.body), '<html lang="de" dir="ltr">');
    const text = pageText(page.body);
    assert.match(text, /Neues Passwort festlegen/);
    assert.match(text, /Mindestens 8 Zeichen\. Lang und ungewöhnlich ist besser als kurz und kompliziert/);
    assert.match(text, /Passwort speichern/);
  });

  it('English stays as it was', async () => {
    const text = pageText((await browser().get('/password/forgot')).body);
    assert.match(text, /Reset your password/);
    assert.match(text, /We will email you a link to choose a new password\. Your two-factor authentication stays on\./);
    assert.match(text, /Email me a link/);
  });
});

describe('a proxy’s refusal in the person’s language', () => {
  const refusal = (language: string) =>
    refusalPage(
      {
        reason: 'role_not_allowed',
        account: { name: 'Acme Support' },
        signedIn: { user: { language, time_zone: null }, account: { default_language: null, name: 'Acme Support' } },
      } as unknown as Parameters<typeof refusalPage>[0],
      new URL('https://grafana.acme.test/'),
      'https://id.acme.test',
      'Tessera',
    );

  it('German and Arabic', () => {
    const german = refusal('de');
    assert.equal(htmlTag(german), '<html lang="de" dir="ltr">');
    assert.match(pageText(german), /Sie können grafana\.acme\.test nicht verwenden/);
    assert.match(pageText(german), /Bei Acme Support dürfen nur bestimmte Personen grafana\.acme\.test verwenden/);
    const arabic = refusal('ar');
    assert.equal(htmlTag(arabic), '<html lang="ar" dir="rtl">');
    assert.match(pageText(arabic), /لا يمكنك استخدام grafana\.acme\.test/);
  });

  it('English stays as it was', () => {
    const text = pageText(refusal('en'));
    assert.match(text, /You cannot use grafana\.acme\.test/);
    assert.match(text, /Acme Support lets only some people use grafana\.acme\.test, and you are not one of them\./);
    assert.match(text, /Go to Tessera/);
  });
});

describe('enrolment in the person’s language', () => {
  let app: TestApp;
  let token: string;
  before(async () => {
    app = await startTestApp();
    await setUpAccount(app);
    await addUser(app, { account: 'acme', email: 'lena@acme.test' });
    token = await signInToken(app, { account: 'acme', email: 'lena@acme.test' });
  });
  after(() => app.close());

  const asLena = (method: 'GET' | 'POST', url: string, form?: Record<string, string>) =>
    app.inject({
      method,
      url,
      headers: { cookie: `tessera_session=${token}`, ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      ...(form ? { payload: new URLSearchParams(form).toString() } : {}),
    });

  it('German: the method chooser, each factor’s card', async () => {
    await app.api('PUT', '/api/v1/me/preferences', { token, body: { language: 'de' } });
    const page = await asLena('GET', '/profile/two-factor/setup');
    assert.equal(page.statusCode, 200);
    assert.equal(htmlTag(page.body), '<html lang="de" dir="ltr">');
    const text = pageText(page.body);
    assert.match(text, /Zwei-Faktor-Authentifizierung aktivieren/);
    assert.match(text, /Authentifizierungs-App verwenden/);
    assert.match(text, /Empfohlen\./);
    assert.match(text, /Sicherheitsschlüssel oder Passkey/);
    assert.match(text, /Codes per E-Mail sind die schwächste Methode/);
    assert.doesNotMatch(text, /Use an authenticator app|Recommended|Add a passkey|Choose what you will use/);
  });

  it('Arabic: the chooser and the authenticator app’s set-up, right to left', async () => {
    await app.api('PUT', '/api/v1/me/preferences', { token, body: { language: 'ar' } });
    const chooser = await asLena('GET', '/profile/two-factor/setup');
    assert.equal(htmlTag(chooser.body), '<html lang="ar" dir="rtl">');
    assert.match(pageText(chooser.body), /استخدام تطبيق مصادقة/);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(chooser.body)![1]!;
    const cookies = ([] as string[])
      .concat(chooser.headers['set-cookie'] ?? [])
      .map((line) => line.split(';')[0])
      .join('; ');
    const started = await app.inject({
      method: 'POST',
      url: '/profile/two-factor/totp',
      headers: { cookie: `tessera_session=${token}; ${cookies}`, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ _csrf: csrf }).toString(),
    });
    assert.equal(started.statusCode, 303, started.body);
    const setup = await asLena('GET', '/profile/two-factor/totp');
    assert.equal(htmlTag(setup.body), '<html lang="ar" dir="rtl">');
    const text = pageText(setup.body);
    assert.match(text, /وجّه الكاميرا نحو رمز QR/);
    assert.match(text, /التحقق والتفعيل/);
    assert.match(setup.body, /alt="رمز QR لتطبيق المصادقة"/);
  });

  it('English stays as it was', async () => {
    await app.api('PUT', '/api/v1/me/preferences', { token, body: { language: null } });
    const text = pageText((await asLena('GET', '/profile/two-factor/totp')).body);
    assert.match(text, /Point the camera at the QR code\. The entry appears as Tessera \(Acme Support\) with your email, lena@acme\.test\./);
    assert.match(text, /Can't scan it\? Enter the key by hand/);
    assert.match(text, /This setup expires 15 minutes after it started\./);
  });
});

describe('the security keys of Security settings in the person’s language', () => {
  let app: TestApp;
  let token: string;
  before(async () => {
    app = await startTestApp();
    await setUpAccount(app);
    await addUser(app, { account: 'acme', email: 'lena@acme.test' });
    token = await signInToken(app, { account: 'acme', email: 'lena@acme.test' });
    const url = new URL(app.config.baseUrl);
    const key = new SoftwareSecurityKey(url.origin, url.hostname);
    const options = await app.api('POST', '/api/v1/me/two-factor/webauthn/registration/options', {
      token,
      body: { method: 'password', code: STRONG_PASSWORD },
    });
    assert.equal(options.statusCode, 200, options.body);
    const added = await app.api('POST', '/api/v1/me/two-factor/webauthn/registration', {
      token,
      body: { name: 'Blue key', credential: key.register(options.json().options) },
    });
    assert.equal(added.statusCode, 200, added.body);
  });
  after(() => app.close());

  const settings = async () => app.inject({ method: 'GET', url: '/profile/security', headers: { cookie: `tessera_session=${token}` } });

  it('German: the list of keys, renaming and removing one, the confirmation', async () => {
    await app.api('PUT', '/api/v1/me/preferences', { token, body: { language: 'de' } });
    const page = await settings();
    const text = pageText(page.body);
    assert.match(text, /Sicherheitsschlüssel und Passkeys/);
    assert.match(text, /Hinzugefügt .* · zuletzt verwendet /);
    assert.match(text, /Umbenennen/);
    assert.match(text, /Bestätigen mit/);
    assert.match(page.body, /data-confirm="Sicherheitsschlüssel „Blue key“ entfernen\?"/);
    assert.doesNotMatch(text, /Security keys and passkeys|Rename|Remove this key|Confirm with/);
  });

  it('Arabic', async () => {
    await app.api('PUT', '/api/v1/me/preferences', { token, body: { language: 'ar' } });
    const page = await settings();
    assert.equal(htmlTag(page.body), '<html lang="ar" dir="rtl">');
    const text = pageText(page.body);
    assert.match(text, /مفاتيح الأمان ومفاتيح المرور/);
    assert.match(text, /إزالة هذا المفتاح/);
  });

  it('English stays as it was', async () => {
    await app.api('PUT', '/api/v1/me/preferences', { token, body: { language: null } });
    const page = await settings();
    const text = pageText(page.body);
    assert.match(text, /Security keys and passkeys/);
    assert.match(text, /Added .* · last used /);
    assert.match(text, /Confirm with/);
    assert.match(page.body, /data-confirm="Remove the security key &quot;Blue key&quot;\?"/);
  });
});
