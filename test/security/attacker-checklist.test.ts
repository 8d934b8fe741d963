// Going through SECURITY.md as an attacker would (issue "prove it under fire").
// Each test fails when its rule breaks.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Authenticator } from '../support/authenticator.js';
import { STRONG_PASSWORD, addUser, setUpAccount, signIn, signInToken, startTestApp, type TestApp } from '../support/harness.js';
import { listRoutes } from '../support/routes.js';

const SECOND_STEP_ROUTES = /^\/api\/v1\/sign-in\/(two-factor|sms|webauthn)/;

function fill(path: string): string {
  return path.replace(/:[a-z]+/g, 'AAAAAAAAAAAAAAAAAAAAAA');
}

function cookiesFrom(setCookie: string | string[] | undefined): Record<string, string> {
  const jar: Record<string, string> = {};
  for (const header of Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : []) {
    const [pair] = header.split(';');
    const eq = pair!.indexOf('=');
    jar[pair!.slice(0, eq)] = pair!.slice(eq + 1);
  }
  return jar;
}

function cookieHeader(jar: Record<string, string>): string {
  return Object.entries(jar)
    .filter(([, value]) => value !== '')
    .map(([name, value]) => `${name}=${value}`)
    .join('; ');
}

describe("the attacker's checklist", () => {
  let app: TestApp;
  let authenticator: Authenticator;

  before(async () => {
    app = await startTestApp();
    await setUpAccount(app);
    await addUser(app, { account: 'acme', email: 'ann@acme.test' });
    const token = await signInToken(app, { account: 'acme', email: 'ann@acme.test' });
    const started = (await app.api('POST', '/api/v1/me/two-factor/totp', { token })).json();
    authenticator = new Authenticator(started.otpauth_uri);
    await app.api('POST', '/api/v1/me/two-factor/totp/verify', { token, body: { code: authenticator.code(app.clock.now()) } });
  });
  after(async () => app?.close());

  it('no endpoint but the second-factor ones accepts a challenge token', async () => {
    const challenge = (await signIn(app, { account: 'acme', email: 'ann@acme.test' })).json().challenge_token as string;
    const routes = listRoutes(app.runtime.app).filter((r) => r.path.startsWith('/api/v1/') && !SECOND_STEP_ROUTES.test(r.path));
    assert.ok(routes.length > 20, `found ${routes.length} API routes`);
    let authenticatedRoutes = 0;
    for (const route of routes) {
      const response = await app.api(route.method, fill(route.path), {
        token: challenge,
        body: ['POST', 'PUT', 'PATCH', 'DELETE'].includes(route.method) ? {} : undefined,
      });
      if (/^\/api\/v1\/(me|admin|sign-out)/.test(route.path)) {
        authenticatedRoutes += 1;
        assert.equal(response.statusCode, 401, `${route.method} ${route.path} with a challenge token: ${response.body}`);
      } else {
        // Public routes ignore the header: they must not answer as if signed in.
        assert.ok(!/session_token|"email":"ann@acme.test"/.test(response.body), `${route.method} ${route.path} leaked a session: ${response.body}`);
      }
    }
    assert.ok(authenticatedRoutes > 10);
  });

  it('the challenge cookie opens the passcode page and nothing else; replayed after sign-in it is dead', async () => {
    const page = await app.inject({ method: 'GET', url: '/sign-in' });
    const jar = cookiesFrom(page.headers['set-cookie']);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
    const posted = await app.inject({
      method: 'POST',
      url: '/sign-in',
      headers: { cookie: cookieHeader(jar), 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ _csrf: csrf, account: 'acme', email: 'ann@acme.test', password: STRONG_PASSWORD }).toString(),
    });
    assert.equal(posted.headers.location, '/sign-in/two-factor');
    Object.assign(jar, cookiesFrom(posted.headers['set-cookie']));
    assert.ok(jar.tessera_challenge, 'a challenge cookie');
    assert.ok(!jar.tessera_session, 'no session before the passcode');
    for (const url of ['/profile/security', '/admin/users', '/profile/two-factor/setup']) {
      const response = await app.inject({ method: 'GET', url, headers: { cookie: cookieHeader(jar) } });
      assert.equal(response.statusCode, 303, url);
      assert.match(String(response.headers.location), /^\/sign-in/, `${url} sends to sign-in`);
    }
    // A client claiming to be signed in gains nothing: state is on the server.
    const claimed = await app.inject({
      method: 'GET',
      url: '/profile/security',
      headers: { cookie: `${cookieHeader(jar)}; tessera_session=${jar.tessera_challenge}` },
    });
    assert.equal(claimed.statusCode, 303);
    app.clock.advance(30_000);
    const form = await app.inject({ method: 'GET', url: '/sign-in/two-factor', headers: { cookie: cookieHeader(jar) } });
    const done = await app.inject({
      method: 'POST',
      url: '/sign-in/two-factor',
      headers: { cookie: cookieHeader(jar), 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        _csrf: /name="_csrf" value="([^"]+)"/.exec(form.body)![1]!,
        method: 'totp',
        code: authenticator.code(app.clock.now()),
      }).toString(),
    });
    assert.equal(done.statusCode, 303, done.body);
    const session = cookiesFrom(done.headers['set-cookie']).tessera_session;
    assert.ok(session && session !== jar.tessera_challenge, 'a new session token, not the challenge token');
    const replay = await app.inject({ method: 'GET', url: '/sign-in/two-factor', headers: { cookie: cookieHeader(jar) } });
    assert.equal(replay.statusCode, 401, 'the spent challenge opens nothing');
  });

  it('every state-changing page route refuses a cross-site POST without the CSRF token', async () => {
    const token = await signInToken(app, { account: 'acme', email: 'owner@acme.test' });
    // The OpenID Connect endpoints (/oidc/*, served by oidc-provider) take no session
    // cookie of ours and guard themselves (client authentication, the logout form's own
    // token): test/oidc covers them.
    const posts = listRoutes(app.runtime.app).filter((r) => r.method === 'POST' && !r.path.startsWith('/api/') && !r.path.includes('*'));
    assert.ok(posts.length >= 15, `found ${posts.length} page POST routes`);
    for (const route of posts) {
      for (const cookie of [`tessera_session=${token}`, '']) {
        const response = await app.inject({
          method: 'POST',
          url: fill(route.path),
          headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
          payload: 'account=acme&email=owner%40acme.test&password=x&role=admin&code=123456',
        });
        if (cookie === '' && response.statusCode === 303) {
          // Pages for signed-in people send the anonymous to sign in first; no change happens.
          assert.match(String(response.headers.location), /^\/sign-in/, route.path);
          continue;
        }
        assert.equal(response.statusCode, 403, `POST ${route.path} (${cookie ? 'signed in' : 'anonymous'}) without a CSRF token: ${response.statusCode}`);
      }
    }
  });

  it('no state changes on GET: signing in, out, or anything else needs a POST', async () => {
    const token = await signInToken(app, { account: 'acme', email: 'owner@acme.test' });
    for (const url of ['/sign-out', '/profile/two-factor/disable', '/profile/sessions/revoke-others', '/profile/trusted-devices/forget-all']) {
      const response = await app.inject({ method: 'GET', url, headers: { cookie: `tessera_session=${token}` } });
      assert.notEqual(response.statusCode, 200, url);
    }
    assert.equal((await app.api('GET', '/api/v1/me', { token })).statusCode, 200, 'still signed in');
  });

  it('session fixation: a session cookie planted before sign-in is replaced, never promoted', async () => {
    const planted = await signInToken(app, { account: 'acme', email: 'owner@acme.test' });
    const page = await app.inject({ method: 'GET', url: '/sign-in' });
    const jar = { ...cookiesFrom(page.headers['set-cookie']), tessera_session: planted };
    const posted = await app.inject({
      method: 'POST',
      url: '/sign-in',
      headers: { cookie: cookieHeader(jar), 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        _csrf: /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!,
        account: 'acme',
        email: 'ann@acme.test',
        password: STRONG_PASSWORD,
      }).toString(),
    });
    const after = cookiesFrom(posted.headers['set-cookie']);
    assert.equal(after.tessera_session, '', 'the planted session cookie is cleared on the way to the passcode');
    const me = (await app.api('GET', '/api/v1/me', { token: planted })).json();
    assert.equal(me.email, 'owner@acme.test', "the planted token was not turned into the victim's session");
  });

  it('security headers on every page; no-referrer where tokens travel in URLs', async () => {
    const token = await signInToken(app, { account: 'acme', email: 'owner@acme.test' });
    const pages = listRoutes(app.runtime.app).filter((r) => r.method === 'GET' && !r.path.startsWith('/api/') && !r.path.includes(':'));
    assert.ok(pages.length >= 10);
    for (const route of pages) {
      const response = await app.inject({ method: 'GET', url: route.path, headers: { cookie: `tessera_session=${token}` } });
      const csp = String(response.headers['content-security-policy']);
      assert.match(csp, /frame-ancestors 'none'/, route.path);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, route.path);
      assert.equal(response.headers['x-content-type-options'], 'nosniff', route.path);
      assert.equal(response.headers['referrer-policy'], 'no-referrer', route.path);
      if (String(response.headers['content-type']).startsWith('text/html'))
        // A JSON data block (app.js's messages) is data: browsers never run it.
        assert.doesNotMatch(response.body, /<script(?![^>]*\ssrc=)(?![^>]*\stype="application\/json")[^>]*>/i, `${route.path} has no inline script`);
    }
  });

  it('an unknown email and a wrong password take the same time (medians of 200 within 10%)', { timeout: 120_000 }, async () => {
    const unknown: number[] = [];
    const wrong: number[] = [];
    // Interleaved, from many addresses, so load and limits fall on both alike.
    for (let i = 0; i < 200; i += 1) {
      for (const [samples, email] of [
        [unknown, `nobody${i}@acme.test`],
        [wrong, 'ann@acme.test'],
      ] as const) {
        const started = process.hrtime.bigint();
        const response = await app.api('POST', '/api/v1/sign-in', {
          body: { account: 'acme', email, password: `wrong password ${i}` },
          ip: `10.9.${i % 250}.${samples === unknown ? 1 : 2}`,
        });
        samples.push(Number(process.hrtime.bigint() - started) / 1e6);
        assert.equal(response.statusCode, 401);
      }
    }
    const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
    const ratio = median(unknown) / median(wrong);
    console.log(
      `[timing] unknown email median ${median(unknown).toFixed(2)} ms, wrong password median ${median(wrong).toFixed(2)} ms, ratio ${ratio.toFixed(3)}`,
    );
    assert.ok(ratio > 0.9 && ratio < 1.1, `ratio ${ratio}`);
  });
});
