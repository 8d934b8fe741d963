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
});
