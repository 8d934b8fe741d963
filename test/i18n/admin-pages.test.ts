// The account admins' pages in the admin's language (issue #24): <html lang dir> and
// translated phrases in German and in Arabic (right to left), English unchanged.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pageText } from '../support/form-browser.js';
import { addUser, setUpAccount, startTestApp, type TestApp } from '../support/harness.js';

function htmlTag(body: string): string {
  return /<html[^>]*>/.exec(body)?.[0] ?? '';
}

describe('the account admins’ pages in the admin’s language', () => {
  let app: TestApp;
  let ownerToken: string;
  let agentId: string;

  before(async () => {
    app = await startTestApp();
    ownerToken = (await setUpAccount(app)).token;
    await addUser(app, { account: 'acme', email: 'ana@acme.test', role: 'agent' });
    const users = (await app.api('GET', '/api/v1/admin/users', { token: ownerToken })).json().users as { id: string; email: string }[];
    agentId = users.find((user) => user.email === 'ana@acme.test')!.id;
  });
  after(() => app.close());

  const speak = async (language: string | null) => {
    const saved = await app.api('PUT', '/api/v1/me/preferences', { token: ownerToken, body: { language } });
    assert.equal(saved.statusCode, 200, saved.body);
  };
  const get = async (url: string) => {
    const page = await app.inject({ method: 'GET', url, headers: { cookie: `tessera_session=${ownerToken}` } });
    assert.equal(page.statusCode, 200, url);
    return { tag: htmlTag(page.body), text: pageText(page.body), body: page.body };
  };

  describe('People and the review of a role change', () => {
    it('German', async () => {
      await speak('de');
      const people = await get('/admin/users');
      assert.equal(people.tag, '<html lang="de" dir="ltr">');
      assert.match(people.text, /Personen in Acme Support/);
      assert.match(people.text, /Jemanden einladen/);
      assert.match(people.text, /Mitarbeitende ohne Zwei-Faktor-Authentifizierung anzeigen/);
      assert.match(people.text, /Übrige Wiederherstellungscodes/);
      assert.match(people.body, /data-label="Letzter Bestätigungscode"/);
      assert.doesNotMatch(people.text, /Invite someone|Send invitation|Recovery codes left|Suspend\b/);
      const review = await get(`/admin/users/${agentId}/role?role=admin`);
      assert.match(review.text, /Rolle von .* in Admin ändern/);
      assert.match(review.text, /Grund \(wird im Audit-Log gespeichert\)/);
      assert.match(review.text, /← Personen/);
    });

    it('Arabic', async () => {
      await speak('ar');
      const people = await get('/admin/users');
      assert.equal(people.tag, '<html lang="ar" dir="rtl">');
      assert.match(people.text, /الأشخاص في Acme Support/);
      assert.match(people.text, /دعوة شخص/);
      const review = await get(`/admin/users/${agentId}/suspend`);
      assert.match(review.text, /تعليق/);
      assert.match(review.text, /السبب \(يُحفظ في سجل التدقيق\)/);
    });

    it('English stays as it was', async () => {
      await speak(null);
      const people = await get('/admin/users');
      assert.match(people.text, /People in Acme Support/);
      assert.match(people.text, /They get an email with a link to choose their password, valid for 72 hours\./);
      const review = await get(`/admin/users/${agentId}/role?role=end_user`);
      assert.match(review.text, /will be an end user\. They will be emailed\./);
    });
  });

  const post = async (url: string, payload: Record<string, string>) => {
    const form = await app.inject({ method: 'GET', url, headers: { cookie: `tessera_session=${ownerToken}` } });
    const csrf = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1] ?? '';
    const cookies = [`tessera_session=${ownerToken}`, ...[form.headers['set-cookie'] ?? []].flat().map((cookie) => String(cookie).split(';')[0])];
    const page = await app.inject({
      method: 'POST',
      url,
      headers: { cookie: cookies.join('; '), 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ _csrf: csrf, ...payload }).toString(),
    });
    return { status: page.statusCode, tag: htmlTag(page.body), text: pageText(page.body), body: page.body };
  };
  const policyChange = { require_two_factor: 'staff', grace_days: '7', session_days: '21', trusted_device_days: '30', country: 'DE' };

  describe('Helping a locked-out person, and Account security with the review of a change', () => {
    it('German', async () => {
      await speak('de');
      const person = await get(`/admin/users/${agentId}`);
      assert.equal(person.tag, '<html lang="de" dir="ltr">');
      assert.match(person.text, /Zwei-Faktor-Authentifizierung zurücksetzen/);
      assert.match(person.text, /Die Person hat keine Zwei-Faktor-Authentifizierung und braucht daher keinen Code\./);
      assert.match(person.body, /data-confirm="Zwei-Faktor-Authentifizierung von [^"]+ zurücksetzen\?"/);
      const security = await get('/admin/security');
      assert.match(security.text, /Sicherheit für Acme Support/);
      assert.match(security.text, /Nicht erforderlich\. 2 Teammitglieder haben sie nicht\./);
      assert.match(security.text, /Sicherheitsschlüssel oder Passkey für Administratoren verlangen/);
      const review = await post('/admin/security', policyChange);
      assert.equal(review.status, 200, review.text);
      assert.match(review.text, /Was passieren wird/);
      assert.match(review.text, /Die Zwei-Faktor-Authentifizierung wird für alle Agents und Admins verpflichtend\./);
      assert.match(review.text, /2 Teammitglieder ohne sie sehen einen Hinweis mit der Frist/);
      assert.match(review.text, /Personen bleiben 21 Tage angemeldet \(bisher 14\)/);
      assert.doesNotMatch(review.text, /What will happen|staff members/);
    });

    it('Arabic', async () => {
      await speak('ar');
      const person = await get(`/admin/users/${agentId}`);
      assert.equal(person.tag, '<html lang="ar" dir="rtl">');
      assert.match(person.text, /إعادة تعيين المصادقة الثنائية/);
      const security = await get('/admin/security');
      assert.match(security.text, /أمان الحساب/);
      const review = await post('/admin/security', policyChange);
      assert.equal(review.tag, '<html lang="ar" dir="rtl">');
      assert.match(review.text, /ما الذي سيحدث/);
      assert.match(review.text, /ستصبح المصادقة الثنائية مطلوبة من كل وكيل ومشرف/);
    });

    it('English stays as it was', async () => {
      await speak(null);
      const person = await get(`/admin/users/${agentId}`);
      assert.match(person.text, /They have no two-factor authentication, so they need no code\./);
      const security = await get('/admin/security');
      assert.match(security.text, /Not required\. 2 staff members without it\./);
      const review = await post('/admin/security', policyChange);
      assert.match(review.text, /2 staff members without it will see a reminder with the deadline and may skip it until/);
      assert.match(review.text, /People stay signed in for 21 days \(was 14\); a shorter time also ends open sessions older than that\./);
      assert.match(review.text, /Phone numbers typed without a country code are read as DE numbers \(was US\)\./);
    });
  });

  describe('Automation: API tokens, their scopes and webhooks', () => {
    it('German', async () => {
      await speak('de');
      const page = await get('/admin/automation');
      assert.equal(page.tag, '<html lang="de" dir="ltr">');
      assert.match(page.text, /API-Tokens/);
      assert.match(page.text, /users:read ?: Personen und ihren Zwei-Faktor-Status auflisten/);
      assert.match(page.text, /Jemand wurde eingeladen user\.invited/);
      assert.match(page.body, /<a href="\/openapi.json">\/openapi.json<\/a>/);
      assert.match(page.text, /Webhook hinzufügen/);
      assert.doesNotMatch(page.text, /Make token|Add webhook|Someone was invited/);
    });

    it('Arabic', async () => {
      await speak('ar');
      const page = await get('/admin/automation');
      assert.equal(page.tag, '<html lang="ar" dir="rtl">');
      assert.match(page.text, /رموز API المميزة/);
      assert.match(page.text, /قراءة سجل التدقيق وتصديره/);
    });

    it('English stays as it was', async () => {
      await speak(null);
      const page = await get('/admin/automation');
      assert.match(page.text, /users:write ?: Invite, suspend and reactivate people; change roles other than admin/);
      assert.match(page.text, /An admin reset someone's two-factor authentication two_factor\.reset_by_admin/);
      assert.match(page.text, /Scripts use a token for the admin API \( ?\/openapi\.json ?\): to add and suspend people/);
    });
  });

  describe('Apps: the list, the form and the review of a new app', () => {
    const newApp = {
      name: 'Grafana',
      type: 'confidential',
      redirect_uris: 'https://grafana.acme.test/login',
      role_admin: '1',
      role_agent: '1',
      required_acr: '',
    };

    it('German', async () => {
      await speak('de');
      const page = await get('/admin/apps');
      assert.equal(page.tag, '<html lang="de" dir="ltr">');
      assert.match(page.text, /Apps von Acme Support/);
      assert.match(page.text, /Vertraulich — eine serverseitige App/);
      assert.match(page.text, /Erforderliche Anmeldestärke/);
      const review = await post('/admin/apps', newApp);
      assert.equal(review.status, 200, review.text);
      assert.match(review.text, /Grafana hinzufügen/);
      assert.match(review.text, /Admins und Agents des Kontos dürfen sie verwenden\./);
      assert.doesNotMatch(review.text, /will send people here/);
    });

    it('Arabic', async () => {
      await speak('ar');
      const page = await get('/admin/apps');
      assert.equal(page.tag, '<html lang="ar" dir="rtl">');
      assert.match(page.text, /تطبيقات Acme Support/);
      const review = await post('/admin/apps', newApp);
      assert.match(review.text, /إضافة Grafana/);
      assert.match(review.text, /يمكن للمشرفين وللوكلاء في الحساب استخدامه/);
    });

    it('English stays as it was', async () => {
      await speak(null);
      const review = await post('/admin/apps', newApp);
      assert.match(
        review.text,
        /Grafana will send people here to sign in and get them back at its redirect URIs\. Admins and agents of the account may use it\. People are asked once to let it know who they are\. Next you will see its client ID and its secret, shown only once\./,
      );
    });
  });

  describe('The audit log and its event sentences', () => {
    it('German', async () => {
      await speak('de');
      const page = await get('/admin/audit');
      assert.equal(page.tag, '<html lang="de" dir="ltr">');
      assert.match(page.text, /Audit-Log/);
      assert.match(page.text, /Neueste zuerst/);
      assert.match(page.body, /<td data-label="Ereignis">Konto erstellt<\/td>/);
      assert.match(page.body, /<option value="sign_in_failed">Anmeldung fehlgeschlagen<\/option>/);
      assert.match(page.body, /<option value="sms_code_sent">Code per SMS gesendet<\/option>/);
      assert.doesNotMatch(page.text, /Account created|Any event/);
    });

    it('Arabic', async () => {
      await speak('ar');
      const page = await get('/admin/audit');
      assert.equal(page.tag, '<html lang="ar" dir="rtl">');
      assert.match(page.text, /سجل التدقيق/);
      assert.match(page.text, /تم إنشاء الحساب/);
    });

    it('English stays as it was', async () => {
      await speak(null);
      const page = await get('/admin/audit');
      assert.match(page.body, /<td data-label="Event">Account created<\/td>/);
      assert.match(page.body, /<option value="">Any event<\/option>/);
      assert.match(page.text, /Newest first; the latest 200 are shown here, the exports hold everything that matches\./);
    });
  });
});
