// Forward-auth (DESIGN.md row 17) as a proxy and a browser see it, without the proxy
// itself (test/browser/forward-auth.test.ts puts real nginx and Caddy in front): the
// check's answers, the sign-in for a guarded host and its way back, the forward-auth
// cookie, and every way `rd` could be turned into an open redirect.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GUARDED_HOST_CACHE_MILLISECONDS } from '../../src/services/guarded-hosts.js';
import { STRONG_PASSWORD, addUser, createExtraAccount, dialects, setUpAccount, startTestApp, type TestApp } from '../support/harness.js';
import { trustedProxies } from '../../src/http/forward-auth/route.js';

const BASE = 'http://auth.acme.test';
const GUARDED = 'http://grafana.acme.test/d/abc?x=1&y=%C3%A9';
const CONFIRMATION = { reason: 'dashboards behind the proxy', method: 'password', code: STRONG_PASSWORD };
const PROXY = '127.0.0.1';

/** A jar of cookies, kept as a browser under acme.test would. */
class Jar {
  readonly cookies = new Map<string, { value: string; domain: string | null }>();
  keep(setCookie: string | string[] | undefined): void {
    for (const line of ([] as string[]).concat(setCookie ?? [])) {
      const [pair, ...attributes] = line.split(';');
      const name = pair!.slice(0, pair!.indexOf('=')).trim();
      const value = pair!.slice(pair!.indexOf('=') + 1).trim();
      const domain =
        attributes
          .map((a) => a.trim())
          .find((a) => /^domain=/i.test(a))
          ?.split('=')[1] ?? null;
      if (value === '' || attributes.some((a) => /max-age=0|expires=Thu, 01 Jan 1970/i.test(a))) this.cookies.delete(name);
      else this.cookies.set(name, { value, domain });
    }
  }
  /** The Cookie header for Tessera's host, or for a guarded host (domain cookies only). */
  header(forGuardedHost = false): string {
    return [...this.cookies]
      .filter(([, cookie]) => !forGuardedHost || cookie.domain !== null)
      .map(([name, cookie]) => `${name}=${cookie.value}`)
      .join('; ');
  }
}

for (const dialect of dialects()) {
  describe(`forward-auth on ${dialect.name}`, { skip: dialect.skip }, () => {
    let app: TestApp;
    let ownerToken: string;

    before(async () => {
      app = await startTestApp({
        dialect: dialect.name,
        env: { TESSERA_BASE_URL: BASE, TESSERA_COOKIE_DOMAIN: 'acme.test', TESSERA_TRUST_PROXY: PROXY },
      });
      ownerToken = (await setUpAccount(app)).token;
      const created = await app.api('POST', '/api/v1/admin/apps', {
        token: ownerToken,
        body: { name: 'Grafana', type: 'proxy', host: 'grafana.acme.test', allowed_roles: ['admin', 'agent'], ...CONFIRMATION },
      });
      assert.equal(created.statusCode, 200, created.body);
      await addUser(app, { account: 'acme', email: 'ada@acme.test' });
      await addUser(app, { account: 'acme', email: 'eli@acme.test', role: 'end_user' });
    });
    after(async () => app?.close());

    /** What the proxy asks, as Caddy and Traefik send it (or nginx, with `nginx`). */
    const check = (jar: Jar | null, options: { nginx?: boolean; from?: string; url?: string; method?: string; headers?: Record<string, string> } = {}) => {
      const url = new URL(options.url ?? GUARDED);
      return app.inject({
        method: 'GET',
        url: `/api/v1/forward-auth${options.nginx ? '?mode=nginx' : ''}`,
        remoteAddress: options.from ?? PROXY,
        headers: {
          ...(options.nginx
            ? { 'x-original-url': url.toString(), 'x-original-method': options.method ?? 'GET' }
            : {
                'x-forwarded-proto': url.protocol.slice(0, -1),
                'x-forwarded-host': url.host,
                'x-forwarded-uri': `${url.pathname}${url.search}`,
                'x-forwarded-method': options.method ?? 'GET',
              }),
          ...(jar ? { cookie: jar.header(true) } : {}),
          ...options.headers,
        },
      });
    };

    async function signInFor(email: string, rd = GUARDED): Promise<{ jar: Jar; landing: string }> {
      const jar = new Jar();
      const page = await app.inject({ method: 'GET', url: `/sign-in?rd=${encodeURIComponent(rd)}` });
      jar.keep(page.headers['set-cookie']);
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /Sign in to grafana\.acme\.test/);
      assert.match(page.body, /Acme Support/);
      const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
      const posted = await app.inject({
        method: 'POST',
        url: `/sign-in?rd=${encodeURIComponent(rd)}`,
        headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ _csrf: csrf, email, password: STRONG_PASSWORD, account: 'someone-else' }).toString(),
      });
      jar.keep(posted.headers['set-cookie']);
      assert.equal(posted.statusCode, 303, posted.body);
      const next = String(posted.headers.location);
      assert.match(next, /^\/proxy\/continue\?rd=/);
      const handOver = await app.inject({ method: 'GET', url: next, headers: { cookie: jar.header() } });
      jar.keep(handOver.headers['set-cookie']);
      const refresh = /<meta http-equiv="refresh" content="0;url=([^"]+)">/.exec(handOver.body);
      return { jar, landing: refresh ? refresh[1]!.replace(/&amp;/g, '&') : `${handOver.statusCode}` };
    }

    it('signed out: the proxy is sent to the sign-in page with the address kept (401 with Location for nginx)', async () => {
      const redirect = await check(null);
      assert.equal(redirect.statusCode, 302);
      assert.equal(redirect.headers.location, `${BASE}/sign-in?rd=${encodeURIComponent(GUARDED)}`);
      const nginx = await check(null, { nginx: true });
      assert.equal(nginx.statusCode, 401);
      assert.equal(nginx.headers.location, redirect.headers.location);
    });

    it('signs in for the guarded host, lands back on exactly that address, and the proxy gets who it is', async () => {
      const { jar, landing } = await signInFor('ada@acme.test');
      assert.equal(landing, GUARDED);
      const forwardAuth = [...jar.cookies].find(([name]) => name === 'tessera_forward_auth');
      assert.equal(forwardAuth?.[1].domain, 'acme.test', 'the forward-auth cookie reaches the guarded hosts');
      assert.equal(jar.cookies.get('tessera_session')?.domain, null, "Tessera's own session cookie stays on its host");

      for (const nginx of [false, true]) {
        const allowed = await check(jar, { nginx, headers: { 'remote-user': 'someone-else' } });
        assert.equal(allowed.statusCode, 200, allowed.body);
        const ada = await app.runtime.deps.db.selectFrom('users').select(['id', 'name']).where('email', '=', 'ada@acme.test').executeTakeFirstOrThrow();
        assert.equal(allowed.headers['remote-user'], ada.id);
        assert.equal(allowed.headers['remote-email'], 'ada@acme.test');
        assert.equal(allowed.headers['remote-role'], 'agent');
        assert.equal(allowed.headers['remote-account'], 'acme');
        assert.equal(Buffer.from(String(allowed.headers['remote-name']), 'latin1').toString('utf8'), ada.name);
      }

      // A check that names a state-changing request changes nothing.
      const posted = await check(jar, { method: 'POST', url: 'http://grafana.acme.test/sign-out' });
      assert.equal(posted.statusCode, 200);
      assert.equal((await check(jar)).statusCode, 200, 'still signed in');

      // The forward-auth cookie opens nothing but the check.
      const forwardAuthToken = forwardAuth![1].value;
      assert.equal((await app.api('GET', '/api/v1/me', { token: forwardAuthToken })).statusCode, 401);
      const asSession = await app.inject({ method: 'GET', url: '/profile/security', headers: { cookie: `tessera_session=${forwardAuthToken}` } });
      assert.equal(asSession.statusCode, 303, 'a forward-auth token is no session');
      // Nor does a session token pass the check.
      const session = jar.cookies.get('tessera_session')!.value;
      assert.equal((await check(null, { headers: { cookie: `tessera_forward_auth=${session}` } })).statusCode, 302);

      // Signing out: the very next check is refused.
      const settings = await app.inject({ method: 'GET', url: '/profile/security', headers: { cookie: jar.header() } });
      const csrf = /name="_csrf" value="([^"]+)"/.exec(settings.body)![1]!;
      const signedOut = await app.inject({
        method: 'POST',
        url: '/sign-out',
        headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
        payload: `_csrf=${encodeURIComponent(csrf)}`,
      });
      const keptToken = jar.cookies.get('tessera_forward_auth')!.value;
      jar.keep(signedOut.headers['set-cookie']);
      assert.equal(jar.cookies.has('tessera_forward_auth'), false, 'sign-out clears the forward-auth cookie');
      assert.equal((await check(null, { headers: { cookie: `tessera_forward_auth=${keptToken}` } })).statusCode, 302, 'and the old one is dead');
    });

    it('signed in but not let in: a role the app does not allow, another account, a suspension: 403 with a page that says why', async () => {
      const { jar, landing } = await signInFor('eli@acme.test');
      assert.equal(landing, '403');
      const refused = await check(jar);
      assert.equal(refused.statusCode, 403);
      assert.match(refused.body, /lets only some people use grafana\.acme\.test/);

      await createExtraAccount(app, 'beta');
      await addUser(app, { account: 'beta', email: 'bo@beta.test' });
      const other = new Jar();
      const page = await app.inject({ method: 'GET', url: '/sign-in' });
      other.keep(page.headers['set-cookie']);
      const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
      const signedIn = await app.inject({
        method: 'POST',
        url: '/sign-in',
        headers: { cookie: other.header(), 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ _csrf: csrf, account: 'beta', email: 'bo@beta.test', password: STRONG_PASSWORD }).toString(),
      });
      other.keep(signedIn.headers['set-cookie']);
      const otherAccount = await check(other);
      assert.equal(otherAccount.statusCode, 403);
      assert.match(otherAccount.body, /belongs to Acme Support/);

      const { jar: ada } = await signInFor('ada@acme.test');
      assert.equal((await check(ada)).statusCode, 200);
      const adaId = (await app.runtime.deps.db.selectFrom('users').select('id').where('email', '=', 'ada@acme.test').executeTakeFirstOrThrow()).id;
      const suspended = await app.api('PATCH', `/api/v1/admin/users/${adaId}`, { token: ownerToken, body: { suspended: true, ...CONFIRMATION } });
      assert.equal(suspended.statusCode, 200, suspended.body);
      assert.equal((await check(ada)).statusCode, 302, 'suspended: the very next request is refused');
    });

    it('believes X-Forwarded-* and X-Original-URL only from the proxies it trusts, and guards only registered hosts', async () => {
      const { jar } = await signInFor('owner@acme.test');
      assert.equal((await check(jar)).statusCode, 200);
      const fromElsewhere = await check(jar, { from: '198.51.100.7' });
      assert.equal(fromElsewhere.statusCode, 403);
      assert.equal(fromElsewhere.json().error.code, 'forbidden');
      const unknown = await check(jar, { url: 'http://other.acme.test/' });
      assert.equal(unknown.statusCode, 403);
      const missing = await app.inject({ method: 'GET', url: '/api/v1/forward-auth', remoteAddress: PROXY });
      assert.equal(missing.statusCode, 400);
      assert.equal(missing.json().error.code, 'invalid_request');
    });

    it('an app changed or removed in Apps is honoured at once by this instance, and a new one too', async () => {
      const WIKI = 'http://wiki.acme.test/page';
      await addUser(app, { account: 'acme', email: 'ivy@acme.test' });
      const { jar } = await signInFor('ivy@acme.test');
      assert.equal((await check(jar, { url: WIKI })).statusCode, 403, 'not guarded yet');
      const created = await app.api('POST', '/api/v1/admin/apps', {
        token: ownerToken,
        body: { name: 'Wiki', type: 'proxy', host: 'wiki.acme.test', allowed_roles: ['admin', 'agent'], ...CONFIRMATION },
      });
      assert.equal(created.statusCode, 200, created.body);
      const id = created.json().id as string;
      assert.equal((await check(jar, { url: WIKI })).statusCode, 200, 'guarded at once');
      const changed = await app.api('PATCH', `/api/v1/admin/apps/${id}`, { token: ownerToken, body: { allowed_roles: ['admin'], ...CONFIRMATION } });
      assert.equal(changed.statusCode, 200, changed.body);
      assert.equal((await check(jar, { url: WIKI })).statusCode, 403, 'agents refused at once');
      const removed = await app.api('DELETE', `/api/v1/admin/apps/${id}`, { token: ownerToken, body: CONFIRMATION });
      assert.equal(removed.statusCode, 204, removed.body);
      const gone = await check(jar, { url: WIKI });
      assert.equal(gone.statusCode, 403);
      assert.equal(gone.json().error.code, 'forbidden', 'no longer guarded, so no longer let through');
    });

    it(`an app changed or removed by another instance (or bin/tessera) is honoured within ${GUARDED_HOST_CACHE_MILLISECONDS / 1000} s`, async () => {
      const DOCS = 'http://docs.acme.test/';
      const created = await app.api('POST', '/api/v1/admin/apps', {
        token: ownerToken,
        body: { name: 'Docs', type: 'proxy', host: 'docs.acme.test', allowed_roles: ['admin', 'agent'], ...CONFIRMATION },
      });
      assert.equal(created.statusCode, 200, created.body);
      const id = created.json().id as string;
      await addUser(app, { account: 'acme', email: 'jo@acme.test' });
      const { jar } = await signInFor('jo@acme.test');
      assert.equal((await check(jar, { url: DOCS })).statusCode, 200);
      // Another instance's change: the row changes, this instance is not told.
      const db = app.runtime.deps.db;
      await db
        .updateTable('apps')
        .set({ allowed_roles: JSON.stringify(['admin']) })
        .where('id', '=', id)
        .execute();
      app.clock.advance(GUARDED_HOST_CACHE_MILLISECONDS - 1000);
      assert.equal((await check(jar, { url: DOCS })).statusCode, 200, 'kept for a few seconds');
      app.clock.advance(1000);
      assert.equal((await check(jar, { url: DOCS })).statusCode, 403, `refused ${GUARDED_HOST_CACHE_MILLISECONDS / 1000} s after the change at most`);
      await db.deleteFrom('apps').where('id', '=', id).execute();
      app.clock.advance(GUARDED_HOST_CACHE_MILLISECONDS);
      const gone = await check(jar, { url: DOCS });
      assert.equal(gone.statusCode, 403);
      assert.equal(gone.json().error.code, 'forbidden', 'no longer guarded');
      // The session is never kept: signing out holds on the very next check, cache or not.
      const jo = await db.selectFrom('users').select('id').where('email', '=', 'jo@acme.test').executeTakeFirstOrThrow();
      assert.equal((await check(jar)).statusCode, 200);
      await db.deleteFrom('sessions').where('user_id', '=', jo.id).execute();
      assert.equal((await check(jar)).statusCode, 302, 'signed out on the very next check');
    });

    it('rd returns only to a registered host: no open redirect through look-alikes, backslashes or encodings', async () => {
      const evil = [
        '//evil.example/',
        'https://evil.example/',
        'http://grafana.acme.test.evil.net/',
        'http://evil.net/grafana.acme.test',
        'http://grafana.acme.test@evil.net/',
        'http:\\\\evil.net',
        'http:/\\evil.net',
        '/\\evil.net',
        'http%3A%2F%2Fevil.net',
        'javascript:alert(1)',
        'http://evil.net%2F@grafana.acme.test/',
        ' http://grafana.acme.test/',
        'http://grafana.acme.test\t.evil.net/',
        'HTTP://GRAFANA.ACME.TEST.evil.net/',
      ];
      for (const rd of evil) {
        const page = await app.inject({ method: 'GET', url: `/sign-in?rd=${encodeURIComponent(rd)}` });
        assert.equal(page.statusCode, 200, rd);
        assert.doesNotMatch(page.body, /Sign in to grafana/, `${rd}: not taken for the guarded host`);
        assert.doesNotMatch(page.body, /evil/, `${rd}: not echoed into the form`);
        const continued = await app.inject({ method: 'GET', url: `/proxy/continue?rd=${encodeURIComponent(rd)}` });
        const location = String(continued.headers.location ?? '');
        assert.ok(location === '' || (location.startsWith('/') && !location.startsWith('//') && !location.startsWith('/\\')), `${rd}: ${location}`);
        assert.doesNotMatch(continued.body, /evil/, rd);
      }
      // A look-alike signed in through is sent to Security settings, not away.
      const jar = new Jar();
      const page = await app.inject({ method: 'GET', url: '/sign-in' });
      jar.keep(page.headers['set-cookie']);
      const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
      const posted = await app.inject({
        method: 'POST',
        url: `/sign-in?rd=${encodeURIComponent('http://grafana.acme.test.evil.net/')}`,
        headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ _csrf: csrf, account: 'acme', email: 'owner@acme.test', password: STRONG_PASSWORD }).toString(),
      });
      assert.equal(posted.statusCode, 303);
      assert.equal(posted.headers.location, '/profile/security');
    });
  });
}

describe('who forward-auth believes', () => {
  it('takes the addresses, ranges and names TESSERA_TRUST_PROXY takes', () => {
    const loopback = trustedProxies('loopback');
    assert.equal(loopback('127.0.0.1'), true);
    assert.equal(loopback('::1'), true);
    assert.equal(loopback('10.0.0.1'), false);
    const listed = trustedProxies('10.1.0.0/16, 192.0.2.7');
    assert.equal(listed('10.1.200.3'), true);
    assert.equal(listed('192.0.2.7'), true);
    assert.equal(listed('192.0.2.8'), false);
    assert.equal(trustedProxies(false)('127.0.0.1'), false, 'nobody, when no proxy is trusted');
  });
});
