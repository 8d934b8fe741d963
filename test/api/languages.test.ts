// Languages (DESIGN.md row 21, "Languages"): a person's language and time zone, the
// account's default, the API's messages by Accept-Language, and the pages' lang/dir
// chosen person → account default → sign-in page choice → browser → English.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { addUser, dialects, expectErrorShape, setUpAccount, signInToken, startTestApp, type TestApp } from '../support/harness.js';

function htmlTag(body: string): string {
  return /<html[^>]*>/.exec(body)?.[0] ?? '';
}

for (const dialect of dialects()) {
  describe(`languages and time zones (${dialect.name})`, { skip: dialect.skip }, () => {
    let app: TestApp;
    let owner: string;
    let agent: string;
    before(async () => {
      app = await startTestApp({ dialect: dialect.name });
      owner = (await setUpAccount(app)).token;
      await addUser(app, { account: 'acme', email: 'agent@acme.test' });
      agent = await signInToken(app, { account: 'acme', email: 'agent@acme.test' });
    });
    after(() => app.close());

    it('PUT /me/preferences sets a language and an IANA time zone; /me shows them; null clears them', async () => {
      const me = (await app.api('GET', '/api/v1/me', { token: agent })).json();
      assert.equal(me.language, null);
      assert.equal(me.time_zone, null);
      const set = await app.api('PUT', '/api/v1/me/preferences', { token: agent, body: { language: 'pt-br', time_zone: 'America/Sao_Paulo' } });
      assert.equal(set.statusCode, 200, set.body);
      assert.deepEqual(set.json(), { language: 'pt-BR', time_zone: 'America/Sao_Paulo' });
      const after = (await app.api('GET', '/api/v1/me', { token: agent })).json();
      assert.equal(after.language, 'pt-BR');
      assert.equal(after.time_zone, 'America/Sao_Paulo');
      const onlyLanguage = await app.api('PUT', '/api/v1/me/preferences', { token: agent, body: { language: 'ja' } });
      assert.deepEqual(onlyLanguage.json(), { language: 'ja', time_zone: 'America/Sao_Paulo' });
      const cleared = await app.api('PUT', '/api/v1/me/preferences', { token: agent, body: { language: null, time_zone: null } });
      assert.deepEqual(cleared.json(), { language: null, time_zone: null });
    });

    it('refuses languages we do not speak and time zones that are not IANA names', async () => {
      for (const body of [{ language: 'klingon' }, { language: 'pt' }, { time_zone: '+02:00' }, { time_zone: 'Mars/Base' }, { language: 3 }]) {
        const response = await app.api('PUT', '/api/v1/me/preferences', { token: agent, body });
        assert.equal(response.statusCode, 400, JSON.stringify(body));
        expectErrorShape(response.json());
        assert.equal(response.json().error.code, 'invalid_request');
      }
    });

    it('GET|PATCH /admin/account: admins only, audited', async () => {
      assert.deepEqual((await app.api('GET', '/api/v1/admin/account', { token: owner })).json(), {
        slug: 'acme',
        name: 'Acme Support',
        default_language: null,
      });
      assert.equal((await app.api('GET', '/api/v1/admin/account', { token: agent })).statusCode, 403);
      assert.equal((await app.api('PATCH', '/api/v1/admin/account', { token: agent, body: { default_language: 'de' } })).statusCode, 403);
      const changed = await app.api('PATCH', '/api/v1/admin/account', { token: owner, body: { default_language: 'de', name: 'Acme Hilfe' } });
      assert.equal(changed.statusCode, 200, changed.body);
      assert.deepEqual(changed.json(), { slug: 'acme', name: 'Acme Hilfe', default_language: 'de' });
      assert.equal((await app.api('PATCH', '/api/v1/admin/account', { token: owner, body: { default_language: 'xx' } })).statusCode, 400);
      assert.equal((await app.api('PATCH', '/api/v1/admin/account', { token: owner, body: { name: ' ' } })).statusCode, 400);
      const events = (await app.api('GET', '/api/v1/admin/audit-events?type=account_settings_changed', { token: owner })).json().audit_events;
      assert.equal(events.length, 1);
      await app.api('PATCH', '/api/v1/admin/account', { token: owner, body: { default_language: null, name: 'Acme Support' } });
    });

    it('an invitation may carry the person’s language', async () => {
      const invited = await app.api('POST', '/api/v1/admin/users', { token: owner, body: { email: 'neu@acme.test', role: 'agent', language: 'de' } });
      assert.equal(invited.statusCode, 200, invited.body);
      const mail = (await app.outbox()).find((entry) => entry.to === 'neu@acme.test');
      assert.ok(mail);
      const refused = await app.api('POST', '/api/v1/admin/users', { token: owner, body: { email: 'x@acme.test', role: 'agent', language: 'xx' } });
      assert.equal(refused.statusCode, 400);
    });

    it('API errors keep English codes; the message follows Accept-Language', async () => {
      const wrong = { account: 'acme', email: 'agent@acme.test', password: 'not the password at all' };
      const german = await app.api('POST', '/api/v1/sign-in', { body: wrong, headers: { 'accept-language': 'de-CH, en;q=0.5' } });
      assert.equal(german.json().error.code, 'invalid_credentials');
      assert.equal(german.json().error.message, 'Konto, E-Mail-Adresse oder Passwort stimmen nicht.');
      const english = await app.api('POST', '/api/v1/sign-in', { body: wrong, headers: { 'accept-language': 'zh-CN' } });
      assert.equal(english.json().error.message, 'The account, email or password is not right.');
      const notFound = await app.api('GET', '/api/v1/nothing-here', { headers: { 'accept-language': 'ja' } });
      assert.equal(notFound.json().error.code, 'not_found');
    });
  });
}

describe('the language of a page', () => {
  let app: TestApp;
  let agent: string;
  before(async () => {
    app = await startTestApp();
    await setUpAccount(app);
    await addUser(app, { account: 'acme', email: 'agent@acme.test' });
    agent = await signInToken(app, { account: 'acme', email: 'agent@acme.test' });
  });
  after(() => app.close());

  const page = (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers });

  it('English by default, left to right', async () => {
    assert.equal(htmlTag((await page('/sign-in')).body), '<html lang="en" dir="ltr">');
  });

  it('the browser’s Accept-Language before sign-in; Arabic right to left', async () => {
    assert.equal(htmlTag((await page('/sign-in', { 'accept-language': 'ar-EG,ar;q=0.9' })).body), '<html lang="ar" dir="rtl">');
    assert.equal(htmlTag((await page('/sign-in', { 'accept-language': 'fr-CA;q=0.8, de;q=0.9' })).body), '<html lang="de" dir="ltr">');
  });

  it('?lang= on a sign-in page wins over the browser and is remembered in a cookie', async () => {
    const chosen = await page('/sign-in?lang=ja', { 'accept-language': 'de' });
    assert.equal(htmlTag(chosen.body), '<html lang="ja" dir="ltr">');
    const cookie = chosen.cookies.find((c) => c.name === 'tessera_language');
    assert.equal(cookie?.value, 'ja');
    assert.equal(cookie?.httpOnly, true);
    const later = await page('/password/forgot', { 'accept-language': 'de', cookie: 'tessera_language=ja' });
    assert.equal(htmlTag(later.body), '<html lang="ja" dir="ltr">');
    const junk = await page('/sign-in?lang=xx', { 'accept-language': 'es', cookie: 'tessera_language=<b>' });
    assert.equal(htmlTag(junk.body), '<html lang="es" dir="ltr">');
  });

  it('the sign-in pages offer every language, each named in itself', async () => {
    const body = (await page('/sign-in?next=%2Fprofile%2Fsecurity')).body;
    for (const [tag, name] of <[string, string][]>[
      ['de', 'Deutsch'],
      ['ar', 'العربية'],
      ['ja', '日本語'],
      ['pt-BR', 'Português (Brasil)'],
    ]) {
      assert.match(
        body,
        new RegExp(`<a href="/sign-in\\?next=%2Fprofile%2Fsecurity&amp;lang=${tag}" lang="${tag}" hreflang="${tag}"[^>]*>${name.replace(/[()]/g, '\\$&')}</a>`),
      );
    }
  });

  it('once signed in: the person’s choice, else the account default, over the browser', async () => {
    const cookie = `tessera_session=${agent}`;
    const before = await page('/profile/security', { cookie, 'accept-language': 'fr' });
    assert.equal(before.statusCode, 200);
    assert.equal(htmlTag(before.body), '<html lang="fr" dir="ltr">');
    assert.doesNotMatch(before.body, /class="languages"/, 'no language menu once signed in (Security settings has the choice)');
    const owner = await signInToken(app, { account: 'acme', email: 'owner@acme.test' });
    await app.api('PATCH', '/api/v1/admin/account', { token: owner, body: { default_language: 'es' } });
    assert.equal(htmlTag((await page('/profile/security', { cookie, 'accept-language': 'fr' })).body), '<html lang="es" dir="ltr">');
    await app.api('PUT', '/api/v1/me/preferences', { token: agent, body: { language: 'ar' } });
    const arabic = await page('/profile/security', { cookie, 'accept-language': 'fr' });
    assert.equal(htmlTag(arabic.body), '<html lang="ar" dir="rtl">');
    assert.match(arabic.body, />إعدادات الأمان</);
    assert.match(arabic.body, />تسجيل الخروج</);
  });

  it('Security settings saves a language and time zone; Account security the account default (CSRF checked)', async () => {
    await app.api('PUT', '/api/v1/me/preferences', { token: agent, body: { language: null } });
    const session = `tessera_session=${agent}`;
    const settings = await page('/profile/security', { cookie: session });
    assert.match(settings.body, /<select id="field-language" name="language">/);
    assert.match(settings.body, /<option value="ja" lang="ja">日本語<\/option>/);
    assert.match(settings.body, /<select id="field-time_zone" name="time_zone" aria-describedby="field-time_zone-hint" data-guess-time-zone>/);
    const csrfCookie = settings.cookies.find((c) => c.name === 'tessera_csrf')!;
    const csrf = /name="_csrf" value="([^"]+)"/.exec(settings.body)![1]!;
    const post = (url: string, form: Record<string, string>, cookie = session) =>
      app.inject({
        method: 'POST',
        url,
        headers: { cookie: `${cookie}; tessera_csrf=${csrfCookie.value}`, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams(form).toString(),
      });
    assert.equal((await post('/profile/preferences', { language: 'de', time_zone: 'Europe/Berlin' })).statusCode, 403, 'no CSRF token, no change');
    const saved = await post('/profile/preferences', { _csrf: csrf, language: 'de', time_zone: 'Europe/Berlin' });
    assert.equal(saved.statusCode, 303);
    assert.equal(saved.headers.location, '/profile/security?done=preferences');
    const me = (await app.api('GET', '/api/v1/me', { token: agent })).json();
    assert.equal(me.language, 'de');
    assert.equal(me.time_zone, 'Europe/Berlin');
    const german = await page('/profile/security?done=preferences', { cookie: session });
    assert.match(german.body, /Ihre Sprache und Zeitzone wurden gespeichert\./);
    assert.match(german.body, /<option value="Europe\/Berlin" selected>Europe\/Berlin<\/option>/);
    assert.doesNotMatch(german.body, /data-guess-time-zone/);
    assert.equal((await post('/profile/preferences', { _csrf: csrf, language: 'xx', time_zone: '' })).statusCode, 400);
    assert.equal((await post('/admin/account/language', { _csrf: csrf, default_language: 'fr' })).statusCode, 403, 'an agent is no admin');
  });

  it('the sign-in page in German and Arabic, its errors too', async () => {
    const german = (await page('/sign-in?lang=de')).body;
    assert.match(german, /<h1>Anmelden<\/h1>/);
    assert.match(german, /<label for="field-password">Passwort<\/label>/);
    assert.match(german, /Passwort vergessen\?/);
    const arabic = (await page('/sign-in', { 'accept-language': 'ar' })).body;
    assert.match(arabic, /<h1>تسجيل الدخول<\/h1>/);
    assert.match(arabic, /<title>تسجيل الدخول · Tessera<\/title>/);
  });
});
