// /admin/apps through app.inject with a small cookie jar: the list and the "Add an app"
// form, its review and the admin's confirmation, the secret shown once, form errors
// beside their fields (never a 500), a change, a new secret and a removal, each
// confirmed; admins only. SQLite only: the pages share every query with the API suite,
// which runs on both dialects.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { STRONG_PASSWORD, addUser, setUpAccount, startTestApp, type TestApp } from '../support/harness.js';
import { FormBrowser as Browser, csrfOf, pageText as text } from '../support/form-browser.js';

/** The hidden fields a review carries to its POST. */
function hiddenFields(html: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const match of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) {
    fields[match[1]!] = match[2]!
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');
  }
  return fields;
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

describe('the apps pages (sqlite)', () => {
  let app: TestApp;
  let admin: Browser;

  before(async () => {
    app = await startTestApp();
    await setUpAccount(app);
    admin = new Browser(app);
    await admin.signIn('owner@acme.test');
  });
  after(async () => app?.close());

  const appRow = (name: string) => app.runtime.deps.db.selectFrom('apps').selectAll().where('name', '=', name).executeTakeFirst();

  it('admins find Apps in the navigation: the list, and the form with every choice explained', async () => {
    const page = await admin.get('/admin/apps');
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<a href="\/admin\/apps" aria-current="page">Apps<\/a>/);
    const words = text(page.body);
    assert.match(words, /No apps yet/);
    assert.match(words, /Add an app/);
    for (const sentence of [
      'Confidential — a server-side app that can keep a secret',
      'Public — a single-page or mobile app; uses PKCE',
      'Proxy — a host guarded by your reverse proxy',
      'Trusted: skip the consent screen',
      'Required sign-in strength',
      'Security key or passkey',
    ])
      assert.ok(words.includes(sentence), sentence);
    assert.match(page.body, /<textarea id="field-redirect_uris" name="redirect_uris"/);
    assert.match(page.body, /<input type="checkbox" name="role_admin" value="1" checked>/);
    assert.match(page.body, /<input type="checkbox" name="role_end_user" value="1">/);
    assert.match((await admin.get('/admin/users')).body, /<a href="\/admin\/apps">Apps<\/a>/, 'on the other admin pages too');
  });

  it('adds a confidential app: reviewed, confirmed with a reason and the password, then its secret shown once', async () => {
    const csrf = await admin.csrf('/admin/apps');
    const form = {
      _csrf: csrf,
      name: 'Grafana',
      type: 'confidential',
      redirect_uris: 'https://grafana.example.com/login/generic_oauth\r\n\r\n  http://localhost:3000/login/generic_oauth  \r\n',
      post_logout_redirect_uris: '',
      backchannel_logout_uri: '',
      host: '',
      role_admin: '1',
      role_agent: '1',
      required_acr: 'urn:tessera:acr:two-factor',
    };
    const review = await admin.post('/admin/apps', form);
    assert.equal(review.statusCode, 200, review.body.slice(0, 500));
    const words = text(review.body);
    assert.match(words, /Add Grafana/);
    assert.match(words, /Admins and agents of the account may use it, with two-factor authentication/);
    assert.match(review.body, /name="reason"/);
    assert.match(words, /Your password/);
    assert.equal(await appRow('Grafana'), undefined, 'nothing is added by the review');
    const carried = hiddenFields(review.body);
    assert.equal(carried.name, 'Grafana');
    assert.equal(carried.redirect_uris, form.redirect_uris, 'the typed URIs travel unchanged');

    const wrong = await admin.post('/admin/apps', { ...carried, _csrf: csrf, reason: 'dashboards for the team', method: 'password', code: 'not the password' });
    assert.equal(wrong.statusCode, 400);
    assert.match(wrong.body, /value="dashboards for the team"/, 'the reason is kept');
    assert.match(text(wrong.body), /The password is not right/);
    assert.equal(await appRow('Grafana'), undefined);

    const done = await admin.post('/admin/apps', { ...carried, _csrf: csrf, reason: 'dashboards for the team', method: 'password', code: STRONG_PASSWORD });
    assert.equal(done.statusCode, 303, done.body.slice(0, 500));
    const row = (await appRow('Grafana'))!;
    assert.equal(done.headers.location, `/admin/apps/${row.id}?done=created`);
    assert.deepEqual(JSON.parse(row.redirect_uris), ['https://grafana.example.com/login/generic_oauth', 'http://localhost:3000/login/generic_oauth']);
    assert.equal(row.required_acr, 'urn:tessera:acr:two-factor');
    assert.equal(row.first_party, 0);

    const shown = await admin.get(String(done.headers.location));
    assert.equal(shown.statusCode, 200);
    const secret = /<span class="secret" id="client-secret">([A-Za-z0-9_-]{43})<\/span>/.exec(shown.body)?.[1];
    assert.ok(secret, 'the secret is on the page');
    assert.equal(sha256(secret), row.secret_hash, 'and only its SHA-256 is stored');
    assert.ok(!JSON.stringify(done.headers).includes(secret), 'it travelled sealed, not in the address or a plain cookie');
    assert.match(shown.body, /data-copy-target="client-secret">Copy</);
    assert.ok(text(shown.body).includes(row.id), 'the client ID');
    assert.ok(text(shown.body).includes(`${app.config.baseUrl}/.well-known/openid-configuration`), 'the discovery URL');
    assert.match(text(shown.body), /The app was added/);

    const again = await admin.get(String(done.headers.location));
    assert.ok(!again.body.includes(secret), 'a reload shows the secret no more');
    assert.match(text(again.body), /shown once and is not kept/);
    assert.ok(text((await admin.get('/admin/apps')).body).includes('https://grafana.example.com/login/generic_oauth'), 'listed with its redirect URIs');
  });

  it('shows a bad redirect URI beside its field, keeps what was typed, and adds nothing (400, never 500)', async () => {
    const csrf = await admin.csrf('/admin/apps');
    for (const [uri, message] of [
      ['http://intranet.example.com/cb', /must use https/],
      ['https://app.example.com/cb#x', /fragment/],
      ['javascript:alert(1)', /must start with https/],
      ['/relative/cb', /not a full URL/],
    ] as const) {
      const response = await admin.post('/admin/apps', { _csrf: csrf, name: 'Broken', type: 'public', redirect_uris: uri, role_agent: '1' });
      assert.equal(response.statusCode, 400, `${uri}: ${response.body.slice(0, 300)}`);
      assert.match(response.body, /<p class="error" id="field-redirect_uris-error">/);
      assert.match(text(response.body), message);
      assert.ok(response.body.includes(`>${uri.replace(/&/g, '&amp;')}</textarea>`), 'the typed URI is kept');
      assert.match(response.body, /<input type="radio" name="type" value="public" checked>/);
    }
    const noRole = await admin.post('/admin/apps', { _csrf: csrf, name: 'Nobody', type: 'public', redirect_uris: 'https://a.example/cb' });
    assert.equal(noRole.statusCode, 400);
    assert.match(noRole.body, /id="roles-error"/);
    const noHost = await admin.post('/admin/apps', { _csrf: csrf, name: 'Wiki', type: 'proxy', role_agent: '1' });
    assert.equal(noHost.statusCode, 400);
    assert.match(noHost.body, /id="field-host-error"/);
    // A tampered form (an unknown type, a strength that does not exist) is a form error too.
    const tampered = await admin.post('/admin/apps', { _csrf: csrf, name: 'Odd', type: 'implicit', redirect_uris: 'https://a.example/cb', role_agent: '1' });
    assert.equal(tampered.statusCode, 400);
    assert.match(tampered.body, /id="type-error"/);
    const strength = await admin.post('/admin/apps', {
      _csrf: csrf,
      name: 'Odd',
      type: 'public',
      redirect_uris: 'https://a.example/cb',
      role_agent: '1',
      required_acr: 'gold',
    });
    assert.equal(strength.statusCode, 400);
    assert.match(strength.body, /id="field-required_acr-error"/);
    assert.equal(await appRow('Broken'), undefined);
  });

  it('adds a proxy app; a host already taken is refused beside the host field', async () => {
    const csrf = await admin.csrf('/admin/apps');
    const form = { _csrf: csrf, name: 'Wiki', type: 'proxy', host: 'Wiki.Example.com', role_agent: '1', role_end_user: '1' };
    const review = await admin.post('/admin/apps', form);
    assert.equal(review.statusCode, 200, review.body.slice(0, 300));
    assert.match(text(review.body), /wiki\.example\.com visitors/);
    const done = await admin.post('/admin/apps', { ...hiddenFields(review.body), _csrf: csrf, reason: 'team wiki', method: 'password', code: STRONG_PASSWORD });
    assert.equal(done.statusCode, 303, done.body.slice(0, 300));
    const page = await admin.get(String(done.headers.location));
    assert.ok(!/id="client-secret"/.test(page.body), 'a proxy app has no secret');
    assert.match(text(page.body), /The app was added/);
    const taken = await admin.post('/admin/apps', { ...form, name: 'Wiki again' });
    assert.equal(taken.statusCode, 409);
    assert.match(taken.body, /id="field-host-error"/);
    assert.match(text(taken.body), /Another app already guards this host/);
  });

  it('changes an app through its page, reviewed and confirmed', async () => {
    const row = (await appRow('Grafana'))!;
    const page = await admin.get(`/admin/apps/${row.id}`);
    assert.equal(page.statusCode, 200);
    const csrf = csrfOf(page.body);
    assert.ok(!/name="type"/.test(page.body.split('id="edit-heading"')[1]!), 'the type is fixed');
    const review = await admin.post(`/admin/apps/${row.id}`, {
      _csrf: csrf,
      name: 'Grafana (ops)',
      redirect_uris: 'https://grafana.example.com/login/generic_oauth',
      role_admin: '1',
      first_party: '1',
      required_acr: 'urn:tessera:acr:phishing-resistant',
    });
    assert.equal(review.statusCode, 200, review.body.slice(0, 300));
    assert.match(
      text(review.body),
      /This changes its name, its redirect URIs, whether people are asked to consent, who may use it and the sign-in strength it needs/,
    );
    assert.equal((await appRow('Grafana'))!.name, 'Grafana', 'unchanged until confirmed');
    const done = await admin.post(`/admin/apps/${row.id}`, {
      ...hiddenFields(review.body),
      _csrf: csrf,
      reason: 'ops only',
      method: 'password',
      code: STRONG_PASSWORD,
    });
    assert.equal(done.statusCode, 303, done.body.slice(0, 300));
    assert.equal(done.headers.location, `/admin/apps/${row.id}?done=updated`);
    const changed = (await appRow('Grafana (ops)'))!;
    assert.deepEqual(JSON.parse(changed.allowed_roles), ['admin']);
    assert.equal(changed.first_party, 1);
    assert.equal(changed.secret_hash, row.secret_hash, 'the secret stays');
    const bad = await admin.post(`/admin/apps/${row.id}`, { _csrf: csrf, name: 'Grafana (ops)', redirect_uris: '', role_admin: '1' });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /id="field-redirect_uris-error"/);
  });

  it('makes a new secret, shown once; the old one no longer matches', async () => {
    const row = (await appRow('Grafana (ops)'))!;
    const review = await admin.get(`/admin/apps/${row.id}/secret`);
    assert.equal(review.statusCode, 200);
    assert.match(text(review.body), /The current secret stops working at once/);
    const done = await admin.post(`/admin/apps/${row.id}/secret`, {
      _csrf: csrfOf(review.body),
      reason: 'leaked in a ticket',
      method: 'password',
      code: STRONG_PASSWORD,
    });
    assert.equal(done.statusCode, 303, done.body.slice(0, 300));
    const shown = await admin.get(String(done.headers.location));
    const secret = /id="client-secret">([A-Za-z0-9_-]{43})</.exec(shown.body)![1]!;
    const after = (await appRow('Grafana (ops)'))!;
    assert.equal(after.secret_hash, sha256(secret));
    assert.notEqual(after.secret_hash, row.secret_hash);
    const wiki = (await appRow('Wiki'))!;
    assert.equal((await admin.get(`/admin/apps/${wiki.id}/secret`)).statusCode, 400, 'a proxy app has no secret to replace');
  });

  it('removes an app after its review and the confirmation; a missing app is a 404 page', async () => {
    const row = (await appRow('Wiki'))!;
    const review = await admin.get(`/admin/apps/${row.id}/delete`);
    assert.equal(review.statusCode, 200);
    assert.match(text(review.body), /Remove Wiki/);
    const unconfirmed = await admin.post(`/admin/apps/${row.id}/delete`, { _csrf: csrfOf(review.body), reason: 'moved' });
    assert.equal(unconfirmed.statusCode, 400);
    assert.ok(await appRow('Wiki'), 'still there');
    const done = await admin.post(`/admin/apps/${row.id}/delete`, {
      _csrf: csrfOf(review.body),
      reason: 'moved to another host',
      method: 'password',
      code: STRONG_PASSWORD,
    });
    assert.equal(done.statusCode, 303);
    assert.equal(done.headers.location, '/admin/apps?done=deleted');
    assert.equal(await appRow('Wiki'), undefined);
    assert.match(text((await admin.get('/admin/apps?done=deleted')).body), /The app was removed/);
    for (const url of [`/admin/apps/${row.id}`, `/admin/apps/${row.id}/delete`, '/admin/apps/nonexistent'])
      assert.equal((await admin.get(url)).statusCode, 404, url);
  });

  it('the review comes back by its own address after "Text me a code"', async () => {
    const values = new URLSearchParams({ name: 'Linked', type: 'public', redirect_uris: 'https://linked.example/cb', role_agent: '1' });
    const review = await admin.get(`/admin/apps/review?${values}`);
    assert.equal(review.statusCode, 200, review.body.slice(0, 300));
    assert.match(text(review.body), /Add Linked/);
    assert.equal(hiddenFields(review.body).redirect_uris, 'https://linked.example/cb');
  });

  it('agents get a 403 page; signed-out visitors are sent to sign in', async () => {
    await addUser(app, { account: 'acme', email: 'agent@acme.test', role: 'agent' });
    const agent = new Browser(app);
    await agent.signIn('agent@acme.test');
    const page = await agent.get('/admin/apps');
    assert.equal(page.statusCode, 403);
    assert.ok(!page.body.includes('href="/admin/apps"'), 'no Apps link for agents');
    const csrf = await agent.csrf('/profile/security');
    const post = await agent.post('/admin/apps', { _csrf: csrf, name: 'Sneaky', type: 'public', redirect_uris: 'https://s.example/cb', role_agent: '1' });
    assert.equal(post.statusCode, 403);
    assert.equal(await appRow('Sneaky'), undefined);
    const anonymous = await new Browser(app).get('/admin/apps');
    assert.equal(anonymous.statusCode, 303);
    assert.match(String(anonymous.headers.location), /^\/sign-in/);
  });
});
