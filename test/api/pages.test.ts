// The HTML pages through app.inject, with a small cookie jar standing in for a
// browser: security headers, accessible forms, CSRF, session cookies, open redirects,
// first setup, the people page, forgotten passwords and the development outbox.
// SQLite only: the pages share every query with the API, which runs on both dialects.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { OTHER_STRONG_PASSWORD, STRONG_PASSWORD, addUser, setUpAccount, startTestApp, type TestApp } from '../support/harness.js';
import { issueSetupLink } from '../../src/services/accounts.js';
import { Authenticator } from '../support/authenticator.js';
import { signInToken } from '../support/harness.js';

// ---------------------------------------------------------------------------------
// A browser: a cookie jar and form posts.

interface SetCookie {
  name: string;
  value: string;
  attributes: Map<string, string | true>;
  raw: string;
}

function parseSetCookie(raw: string): SetCookie {
  const [pair = '', ...rest] = raw.split(';');
  const equals = pair.indexOf('=');
  const attributes = new Map<string, string | true>();
  for (const part of rest) {
    const [key = '', ...value] = part.trim().split('=');
    if (key) attributes.set(key.toLowerCase(), value.length > 0 ? value.join('=') : true);
  }
  return { name: pair.slice(0, equals).trim(), value: decodeURIComponent(pair.slice(equals + 1).trim()), attributes, raw };
}

function setCookies(response: LightMyRequestResponse): SetCookie[] {
  const header = response.headers['set-cookie'];
  const list = header === undefined ? [] : Array.isArray(header) ? header : [header];
  return list.map(parseSetCookie);
}

class Browser {
  readonly jar = new Map<string, string>();
  constructor(
    private readonly app: TestApp,
    readonly ip = '127.0.0.1',
  ) {}

  private store(response: LightMyRequestResponse): void {
    for (const cookie of setCookies(response)) {
      const maxAge = cookie.attributes.get('max-age');
      const expires = cookie.attributes.get('expires');
      const expired =
        (typeof maxAge === 'string' && Number(maxAge) <= 0) || (typeof expires === 'string' && Date.parse(expires) < Date.now()) || cookie.value === '';
      if (expired) this.jar.delete(cookie.name);
      else this.jar.set(cookie.name, cookie.value);
    }
  }

  cookieHeader(): string {
    return [...this.jar.entries()].map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join('; ');
  }

  async get(url: string): Promise<LightMyRequestResponse> {
    const response = await this.app.inject({ method: 'GET', url, remoteAddress: this.ip, headers: { cookie: this.cookieHeader(), 'user-agent': USER_AGENT } });
    this.store(response);
    return response;
  }

  async post(url: string, form: Record<string, string>): Promise<LightMyRequestResponse> {
    const response = await this.app.inject({
      method: 'POST',
      url,
      remoteAddress: this.ip,
      headers: { cookie: this.cookieHeader(), 'content-type': 'application/x-www-form-urlencoded', 'user-agent': USER_AGENT },
      payload: new URLSearchParams(form).toString(),
    });
    this.store(response);
    return response;
  }

  /** GETs a page and returns the CSRF token of its forms. */
  async csrfFrom(url: string): Promise<string> {
    const page = await this.get(url);
    assert.equal(page.statusCode, 200, `${url}: ${page.body.slice(0, 300)}`);
    return csrfOf(page.body);
  }

  /** Signs in through the page form. */
  async signIn(input: { account?: string; email?: string; password?: string; next?: string } = {}): Promise<LightMyRequestResponse> {
    const csrf = await this.csrfFrom('/sign-in');
    const url = input.next !== undefined ? `/sign-in?next=${encodeURIComponent(input.next)}` : '/sign-in';
    return this.post(url, {
      _csrf: csrf,
      account: input.account ?? 'acme',
      email: input.email ?? 'owner@acme.test',
      password: input.password ?? STRONG_PASSWORD,
    });
  }
}

const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';

function csrfOf(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  assert.ok(match, 'the page has a CSRF field');
  return match[1]!;
}

function decodeEntities(text: string): string {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** The inputs of a page, each with its attributes. */
function inputsOf(html: string): Map<string, string>[] {
  return [...html.matchAll(/<input\b([^>]*)>/g)].map((match) => {
    const attributes = new Map<string, string>();
    for (const attribute of match[1]!.matchAll(/([a-z-]+)(?:="([^"]*)")?/g)) attributes.set(attribute[1]!, attribute[2] ?? '');
    return attributes;
  });
}

function assertSecurityHeaders(response: LightMyRequestResponse): void {
  const csp = String(response.headers['content-security-policy'] ?? '');
  assert.ok(csp.length > 0, 'a Content-Security-Policy');
  assert.doesNotMatch(csp, /unsafe-inline/);
  assert.doesNotMatch(csp, /unsafe-eval/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(response.headers['x-frame-options'], 'DENY');
  assert.equal(response.headers['referrer-policy'], 'no-referrer');
  assert.equal(response.headers['x-content-type-options'], 'nosniff');
  assert.match(String(response.headers['cache-control']), /no-store/);
}

/** Where a redirect leads, resolved the way a browser would (backslashes included). */
function landing(location: string): URL {
  return new URL(location, 'http://localhost:3000/sign-in');
}

const SESSION_COOKIE = 'tessera_session';

describe('pages (sqlite)', () => {
  let app: TestApp;

  before(async () => {
    app = await startTestApp();
    await setUpAccount(app);
  });
  after(async () => app?.close());

  it('GET /sign-in sends the security headers, a CSRF cookie, no session cookie, and only HttpOnly SameSite cookies', async () => {
    const response = await new Browser(app).get('/sign-in');
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^text\/html/);
    assertSecurityHeaders(response);
    assert.equal(response.headers['strict-transport-security'], undefined, 'no HSTS over plain http');
    const cookies = setCookies(response);
    assert.ok(
      cookies.some((c) => c.name === 'tessera_csrf'),
      'a CSRF cookie',
    );
    assert.equal(
      cookies.some((c) => c.name === SESSION_COOKIE),
      false,
      'no session before signing in',
    );
    for (const cookie of cookies) {
      assert.equal(cookie.attributes.get('httponly'), true, `${cookie.name} is HttpOnly`);
      assert.equal(String(cookie.attributes.get('samesite')).toLowerCase(), 'lax', `${cookie.name} is SameSite=Lax`);
    }
  });

  it('every visible input of the sign-in form has a label, and the right autocomplete', async () => {
    const html = (await new Browser(app).get('/sign-in')).body;
    const visible = inputsOf(html).filter((input) => input.get('type') !== 'hidden');
    assert.ok(visible.length >= 3, 'account, email and password inputs');
    for (const input of visible) {
      const id = input.get('id');
      assert.ok(id, `input ${input.get('name')} has an id`);
      assert.match(html, new RegExp(`<label[^>]*\\bfor="${id}"[^>]*>[^<]+</label>`), `a label for #${id}`);
      assert.ok(input.get('autocomplete'), `input ${input.get('name')} has an autocomplete attribute`);
    }
    const byName = (name: string) => visible.find((input) => input.get('name') === name)!;
    // "webauthn": the browser offers saved passkeys here (conditional mediation).
    assert.equal(byName('email').get('autocomplete'), 'username webauthn');
    assert.equal(byName('email').get('type'), 'email');
    assert.equal(byName('password').get('autocomplete'), 'current-password');
    assert.equal(byName('password').get('type'), 'password');
    // No inline script or style, which the CSP would block anyway.
    // Scripts come from files; the one inline element is a JSON data block (app.js's
    // messages in the reader's language), which browsers never run.
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)(?![^>]*\btype="application\/json")[^>]*>/);
    assert.doesNotMatch(html, /\sstyle="/);
    assert.doesNotMatch(html, /\son[a-z]+="/);
  });

  it('refuses a sign-in form without a CSRF token, or with one from another browser (403)', async () => {
    const browser = new Browser(app);
    await browser.get('/sign-in');
    const missing = await browser.post('/sign-in', { account: 'acme', email: 'owner@acme.test', password: STRONG_PASSWORD });
    assert.equal(missing.statusCode, 403);
    assert.equal(setCookies(missing).filter((c) => c.name === SESSION_COOKIE).length, 0);

    const other = new Browser(app);
    const othersToken = await other.csrfFrom('/sign-in');
    assert.notEqual(othersToken, await browser.csrfFrom('/sign-in'));
    const foreign = await browser.post('/sign-in', { _csrf: othersToken, account: 'acme', email: 'owner@acme.test', password: STRONG_PASSWORD });
    assert.equal(foreign.statusCode, 403);
    assert.equal(setCookies(foreign).filter((c) => c.name === SESSION_COOKIE).length, 0);

    // A token with no cookie at all, and a cookie with a forged token.
    const bare = new Browser(app);
    assert.equal((await bare.post('/sign-in', { _csrf: othersToken, account: 'acme', email: 'owner@acme.test', password: STRONG_PASSWORD })).statusCode, 403);
    assert.equal(
      (await browser.post('/sign-in', { _csrf: 'A'.repeat(43), account: 'acme', email: 'owner@acme.test', password: STRONG_PASSWORD })).statusCode,
      403,
    );
  });

  it('signs in with the right token and password: 303 to Security settings, an HttpOnly SameSite=Lax session cookie', async () => {
    const browser = new Browser(app);
    const response = await browser.signIn();
    assert.equal(response.statusCode, 303, response.body);
    assert.equal(response.headers.location, '/profile/security');
    const session = setCookies(response).find((c) => c.name === SESSION_COOKIE);
    assert.ok(session, 'a session cookie');
    assert.equal(session.attributes.get('httponly'), true);
    assert.equal(String(session.attributes.get('samesite')).toLowerCase(), 'lax');
    assert.equal(session.attributes.has('secure'), false, 'no Secure flag under http://');
    assert.equal(session.attributes.get('path'), '/');
    assert.match(session.value, /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);

    const security = await browser.get('/profile/security');
    assert.equal(security.statusCode, 200);
    assert.match(security.body, /Olive Owner/);
    assertSecurityHeaders(security);
  });

  it('signing out (with CSRF) ends the session on the server, not only in the browser', async () => {
    const browser = new Browser(app);
    assert.equal((await browser.signIn()).statusCode, 303);
    const sessionToken = browser.jar.get(SESSION_COOKIE)!;
    const page = await browser.get('/profile/security');
    const csrf = csrfOf(page.body);

    const withoutCsrf = await browser.post('/sign-out', {});
    assert.equal(withoutCsrf.statusCode, 403);
    assert.equal((await browser.get('/profile/security')).statusCode, 200, 'still signed in after a refused sign-out');

    const out = await browser.post('/sign-out', { _csrf: csrf });
    assert.equal(out.statusCode, 303);
    assert.equal(browser.jar.has(SESSION_COOKIE), false, 'the cookie is cleared');
    const after = await browser.get('/profile/security');
    assert.equal(after.statusCode, 303);
    assert.match(String(after.headers.location), /^\/sign-in/);
    // The old cookie value, replayed, is dead too.
    const replay = new Browser(app);
    replay.jar.set(SESSION_COOKIE, sessionToken);
    assert.equal((await replay.get('/profile/security')).statusCode, 303);
    assert.equal((await app.api('GET', '/api/v1/me', { token: sessionToken })).statusCode, 401);
  });

  it('a wrong password re-renders the form with an error and a 401, without echoing the password', async () => {
    const browser = new Browser(app);
    const password = 'Wrong-Password-<b>"42"</b>';
    const response = await browser.signIn({ password });
    assert.equal(response.statusCode, 401);
    assert.match(String(response.headers['content-type']), /^text\/html/);
    assert.match(response.body, /role="alert"[^>]*>[^<]*not right/);
    assert.equal(response.body.includes(password), false);
    assert.equal(decodeEntities(response.body).includes(password), false);
    assert.equal(response.body.includes('Wrong-Password'), false);
    assert.equal(setCookies(response).filter((c) => c.name === SESSION_COOKIE).length, 0);
    // The form keeps what is safe to keep, so the person only retypes the password.
    const email = inputsOf(response.body).find((input) => input.get('name') === 'email')!;
    assert.equal(email.get('value'), 'owner@acme.test');
    const passwordInput = inputsOf(response.body).find((input) => input.get('name') === 'password')!;
    assert.equal(passwordInput.has('value'), false);
  });

  it('never redirects off-site through next=, before or after signing in', async () => {
    const attempts = [
      '//evil.test',
      'https://evil.test',
      '/\\evil.test',
      '\\\\evil.test',
      '/\\/evil.test',
      'http:evil.test',
      '//evil.test/%2F..',
      '/%09/evil.test',
      '\t//evil.test',
      ' //evil.test',
      'javascript:alert(1)',
    ];
    for (const next of attempts) {
      const browser = new Browser(app);
      const signedIn = await browser.signIn({ next });
      assert.equal(signedIn.statusCode, 303, `${next}: ${signedIn.body.slice(0, 200)}`);
      const target = landing(String(signedIn.headers.location));
      assert.equal(target.host, 'localhost:3000', `next=${next} led to ${signedIn.headers.location}`);
      assert.equal(target.protocol, 'http:');
      // Already signed in: GET /sign-in?next= redirects at once; still on-site.
      const again = await browser.get(`/sign-in?next=${encodeURIComponent(next)}`);
      assert.equal(again.statusCode, 303);
      assert.equal(landing(String(again.headers.location)).host, 'localhost:3000', `signed in, next=${next} led to ${again.headers.location}`);
    }
    // A same-site path is honoured.
    const browser = new Browser(app);
    const ok = await browser.signIn({ next: '/admin/users' });
    assert.equal(ok.headers.location, '/admin/users');
  });

  it('a return address of any length survives the passcode page: the sign-in flow keeps it', async () => {
    await addUser(app, { account: 'acme', email: 'far@acme.test' });
    const token = await signInToken(app, { account: 'acme', email: 'far@acme.test' });
    const started = (await app.api('POST', '/api/v1/me/two-factor/totp', { token })).json();
    const authenticator = new Authenticator(started.otpauth_uri);
    await app.api('POST', '/api/v1/me/two-factor/totp/verify', { token, body: { code: authenticator.code(app.clock.now()) } });
    app.clock.advance(30_000);
    // Longer than any limit the pages had (500, then 4,096 characters).
    const next = `/admin/audit?user=${'a'.repeat(6000)}&type=sign_in_succeeded`;
    const browser = new Browser(app);
    const password = await browser.signIn({ email: 'far@acme.test', next });
    assert.equal(password.statusCode, 303);
    assert.equal(password.headers.location, '/sign-in/two-factor', 'the address is kept on the flow, not carried in the URL');
    const csrf = await browser.csrfFrom('/sign-in/two-factor');
    const done = await browser.post('/sign-in/two-factor', { _csrf: csrf, method: 'totp', code: authenticator.code(app.clock.now()) });
    assert.equal(done.statusCode, 303, done.body.slice(0, 300));
    assert.equal(done.headers.location, next);
  });

  it('a page that needs a session sends a signed-out visitor to sign in, and back afterwards', async () => {
    const browser = new Browser(app);
    const gate = await browser.get('/admin/users?filter=staff_without_2fa');
    assert.equal(gate.statusCode, 303);
    const location = String(gate.headers.location);
    assert.match(location, /^\/sign-in\?next=/);
    const next = new URL(location, 'http://localhost:3000').searchParams.get('next')!;
    const signedIn = await browser.signIn({ next });
    assert.equal(signedIn.headers.location, '/admin/users?filter=staff_without_2fa');
  });

  it('the people page lists everyone; inviting someone (with CSRF) emails them; others get 403', async () => {
    await addUser(app, { account: 'acme', email: 'paula.agent@acme.test', role: 'agent' });
    const admin = new Browser(app);
    await admin.signIn();
    const people = await admin.get('/admin/users');
    assert.equal(people.statusCode, 200);
    assert.match(people.body, /owner@acme\.test/);
    assert.match(people.body, /paula\.agent@acme\.test/);
    assert.match(people.body, /Olive Owner/);
    const csrf = csrfOf(people.body);

    const usersBefore = (await app.api('GET', '/api/v1/admin/users', { token: await apiToken() })).json().users.length;
    const refused = await admin.post('/admin/users/invite', { email: 'csrfless@acme.test', role: 'agent' });
    assert.equal(refused.statusCode, 403);
    assert.equal(
      (await app.outbox()).some((m) => m.to === 'csrfless@acme.test'),
      false,
    );

    const invited = await admin.post('/admin/users/invite', { _csrf: csrf, email: 'Nina.New@acme.test', name: 'Nina New', role: 'end_user' });
    assert.equal(invited.statusCode, 303, invited.body.slice(0, 300));
    assert.equal(invited.headers.location, '/admin/users?done=invited');
    const mail = (await app.outbox()).find((m) => m.to === 'nina.new@acme.test');
    assert.ok(mail, 'an invitation in the outbox');
    assert.match(mail.subject, /invited/i);
    assert.match(mail.body, /\/invitation\?token=/);
    const usersAfter = (await app.api('GET', '/api/v1/admin/users', { token: await apiToken() })).json().users;
    assert.equal(usersAfter.length, usersBefore + 1);
    assert.ok(
      usersAfter.some((u: { email: string; role: string; name: string }) => u.email === 'nina.new@acme.test' && u.role === 'end_user' && u.name === 'Nina New'),
    );
    const listed = await admin.get('/admin/users?done=invited');
    assert.match(listed.body, /nina\.new@acme\.test/);
    assert.match(listed.body, /Invitation sent/);

    // A bad invitation re-renders the page with the error, and writes nothing.
    const bad = await admin.post('/admin/users/invite', { _csrf: csrf, email: 'not an email', role: 'agent' });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /valid email/i);
    assert.equal((await app.api('GET', '/api/v1/admin/users', { token: await apiToken() })).json().users.length, usersBefore + 1);

    const agent = new Browser(app);
    assert.equal((await agent.signIn({ email: 'paula.agent@acme.test' })).statusCode, 303);
    const forbidden = await agent.get('/admin/users');
    assert.equal(forbidden.statusCode, 403);
    assert.doesNotMatch(forbidden.body, /owner@acme\.test/);
    const agentCsrf = csrfOf((await agent.get('/profile/security')).body);
    const forbiddenInvite = await agent.post('/admin/users/invite', { _csrf: agentCsrf, email: 'sneaky@acme.test', role: 'admin' });
    assert.equal(forbiddenInvite.statusCode, 403);
    assert.equal(
      (await app.outbox()).some((m) => m.to === 'sneaky@acme.test'),
      false,
    );
  });

  it("a role change from the people page is reviewed first, then made with a reason and the admin's password; keeping the reason on an error", async () => {
    await addUser(app, { account: 'acme', email: 'promote.me@acme.test', role: 'agent' });
    const admin = new Browser(app);
    await admin.signIn();
    const people = await admin.get('/admin/users');
    const id = (await app.api('GET', '/api/v1/admin/users', { token: await apiToken() }))
      .json()
      .users.find((u: { email: string }) => u.email === 'promote.me@acme.test').id as string;
    assert.match(people.body, new RegExp(`<form method="get" action="/admin/users/${id}/role"`), "the row's Save asks for a review, changing nothing");
    const review = await admin.get(`/admin/users/${id}/role?role=admin`);
    assert.equal(review.statusCode, 200);
    assert.match(review.body, /to Admin/);
    assert.match(review.body, /name="reason"/);
    assert.match(review.body, /Your password/);
    const csrf = csrfOf(review.body);
    const wrong = await admin.post(`/admin/users/${id}/role`, {
      _csrf: csrf,
      role: 'admin',
      reason: 'runs the night shift',
      method: 'password',
      code: 'not the password',
    });
    assert.equal(wrong.statusCode, 400);
    assert.match(wrong.body, /value="runs the night shift"/, 'the reason is kept');
    assert.equal(
      (await app.api('GET', '/api/v1/admin/users', { token: await apiToken() })).json().users.find((u: { id: string }) => u.id === id).role,
      'agent',
    );
    const done = await admin.post(`/admin/users/${id}/role`, {
      _csrf: csrf,
      role: 'admin',
      reason: 'runs the night shift',
      method: 'password',
      code: STRONG_PASSWORD,
    });
    assert.equal(done.statusCode, 303, done.body.slice(0, 300));
    assert.equal(done.headers.location, '/admin/users?done=role');
    assert.equal(
      (await app.api('GET', '/api/v1/admin/users', { token: await apiToken() })).json().users.find((u: { id: string }) => u.id === id).role,
      'admin',
    );
    assert.ok((await app.outbox()).some((m) => m.to === 'promote.me@acme.test' && /role was changed/i.test(m.subject)));
  });

  it('the forgotten-password page answers the same for known and unknown emails', async () => {
    const browser = new Browser(app);
    const csrf = await browser.csrfFrom('/password/forgot');
    const known = await browser.post('/password/forgot', { _csrf: csrf, account: 'acme', email: 'owner@acme.test' });
    const unknown = await browser.post('/password/forgot', { _csrf: csrf, account: 'acme', email: 'nobody@acme.test' });
    const noAccount = await browser.post('/password/forgot', { _csrf: csrf, account: 'nope', email: 'owner@acme.test' });
    assert.equal(known.statusCode, 200);
    assert.match(known.body, /If this email belongs to someone/);
    assert.equal(unknown.statusCode, known.statusCode);
    assert.equal(unknown.body, known.body);
    assert.equal(noAccount.body, known.body);
    assert.ok((await app.outbox()).some((m) => m.to === 'owner@acme.test' && /reset/i.test(m.subject)));
    assert.equal(
      (await app.outbox()).some((m) => m.to === 'nobody@acme.test'),
      false,
    );
    assert.equal((await browser.post('/password/forgot', { account: 'acme', email: 'owner@acme.test' })).statusCode, 403, 'CSRF needed');
  });

  it('the development outbox page shows the messages', async () => {
    const page = await new Browser(app).get('/dev/outbox');
    assert.equal(page.statusCode, 200);
    assertSecurityHeaders(page);
    assert.match(page.body, /Development outbox/);
    assert.match(page.body, /nina\.new@acme\.test/);
    assert.match(page.body, /invited/i);
  });

  async function apiToken(): Promise<string> {
    const response = await app.api('POST', '/api/v1/sign-in', {
      body: { account: 'acme', email: 'owner@acme.test', password: STRONG_PASSWORD },
      ip: '192.0.2.50',
    });
    return response.json().session_token;
  }
});

describe('first setup through the pages (sqlite)', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(async () => app?.close());

  it('a bad setup token gets a 400 page, and nothing is created', async () => {
    for (const url of [
      '/setup',
      '/setup?token=',
      `/setup?token=${randomBytes(16).toString('base64url')}.${randomBytes(32).toString('base64url')}`,
      '/setup?token=%00',
      '/setup?token=a&token=b',
    ]) {
      const response = await new Browser(app).get(url);
      assert.equal(response.statusCode, 400, url);
      assert.match(String(response.headers['content-type']), /^text\/html/);
      assert.match(response.body, /not valid/);
      assert.doesNotMatch(response.body, /name="account_slug"/);
    }
    const browser = new Browser(app);
    const csrf = await browser.csrfFrom('/sign-in');
    const forged = await browser.post('/setup', {
      _csrf: csrf,
      token: 'forged',
      account_name: 'Evil',
      account_slug: 'evil',
      name: 'Eve',
      email: 'eve@evil.test',
      password: STRONG_PASSWORD,
    });
    assert.equal(forged.statusCode, 400);
    assert.equal((await app.runtime.deps.db.selectFrom('accounts').selectAll().execute()).length, 0);
  });

  it('the setup link opens a form that creates the account and signs its owner in', async () => {
    const link = await issueSetupLink(app.runtime.deps);
    assert.ok(link);
    const url = new URL(link);
    const browser = new Browser(app);
    const form = await browser.get(`${url.pathname}${url.search}`);
    assert.equal(form.statusCode, 200, form.body.slice(0, 300));
    assertSecurityHeaders(form);
    const inputs = inputsOf(form.body);
    for (const name of ['account_name', 'account_slug', 'name', 'email', 'password']) {
      const input = inputs.find((i) => i.get('name') === name);
      assert.ok(input, `a ${name} input`);
      assert.match(form.body, new RegExp(`<label[^>]*for="${input.get('id')}"`), `a label for ${name}`);
    }
    assert.equal(inputs.find((i) => i.get('name') === 'password')!.get('autocomplete'), 'new-password');
    assert.equal(inputs.find((i) => i.get('name') === 'email')!.get('autocomplete'), 'username');

    const csrf = csrfOf(form.body);
    const token = url.searchParams.get('token')!;
    const weak = await browser.post('/setup', {
      _csrf: csrf,
      token,
      account_name: 'Pages Team',
      account_slug: 'pages',
      name: 'Pat Pages',
      email: 'pat@pages.test',
      password: 'password1',
    });
    assert.equal(weak.statusCode, 400);
    assert.match(weak.body, /aria-invalid="true"/);
    assert.equal(weak.body.includes('password1'), false, 'the password is not echoed back');

    const done = await browser.post('/setup', {
      _csrf: csrf,
      token,
      account_name: 'Pages Team',
      account_slug: 'pages',
      name: 'Pat Pages',
      email: 'pat@pages.test',
      password: OTHER_STRONG_PASSWORD,
    });
    assert.equal(done.statusCode, 303, done.body.slice(0, 300));
    assert.equal(done.headers.location, '/profile/security');
    assert.ok(browser.jar.has(SESSION_COOKIE));
    const security = await browser.get('/profile/security');
    assert.equal(security.statusCode, 200);
    assert.match(security.body, /Pat Pages/);

    // The link is spent.
    const reuse = await new Browser(app).get(`${url.pathname}${url.search}`);
    assert.equal(reuse.statusCode, 400);
  });
});

describe('pages behind HTTPS (TESSERA_BASE_URL=https://…)', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp({ env: { TESSERA_BASE_URL: 'https://tessera.example' } });
    await setUpAccount(app);
  });
  after(async () => app?.close());

  it('sends HSTS, and the session cookie is __Host- prefixed, Secure, Path=/, HttpOnly, SameSite=Lax', async () => {
    const browser = new Browser(app);
    const page = await browser.get('/sign-in');
    assert.match(String(page.headers['strict-transport-security']), /max-age=\d{7,}/);
    assertSecurityHeaders(page);
    const csrfCookie = setCookies(page).find((c) => c.name === '__Host-tessera_csrf');
    assert.ok(csrfCookie, 'the CSRF cookie is __Host- prefixed too');
    assert.equal(csrfCookie.attributes.get('secure'), true);

    const response = await browser.signIn();
    assert.equal(response.statusCode, 303, response.body.slice(0, 300));
    const cookies = setCookies(response);
    assert.equal(
      cookies.some((c) => c.name === SESSION_COOKIE),
      false,
      'no unprefixed session cookie',
    );
    const session = cookies.find((c) => c.name === `__Host-${SESSION_COOKIE}`);
    assert.ok(session, `a __Host- session cookie in ${cookies.map((c) => c.raw).join(' | ')}`);
    assert.equal(session.attributes.get('secure'), true);
    assert.equal(session.attributes.get('path'), '/');
    assert.equal(session.attributes.has('domain'), false, '__Host- cookies have no Domain');
    assert.equal(session.attributes.get('httponly'), true);
    assert.equal(String(session.attributes.get('samesite')).toLowerCase(), 'lax');
    assert.match(String(response.headers['strict-transport-security']), /max-age=/);
    assert.equal((await browser.get('/profile/security')).statusCode, 200);
  });
});

describe('pages in production mode', () => {
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
  after(async () => app?.close());

  it('has no development outbox, neither page nor API', async () => {
    const page = await new Browser(app).get('/dev/outbox');
    assert.equal(page.statusCode, 404);
    assert.doesNotMatch(page.body, /Development outbox/);
    assert.equal((await app.api('GET', '/api/v1/dev/outbox')).statusCode, 404);
    // The sign-in page itself still works.
    assert.equal((await new Browser(app).get('/sign-in')).statusCode, 200);
  });
});
