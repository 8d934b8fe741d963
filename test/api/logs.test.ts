// No secret in any log line (SECURITY.md, "Logs and notices"): a full flow through the
// API and the pages (setup, invitation, sign-in, password change, password reset),
// with request logging at level info, then every captured line is searched for every
// session token, emailed-link token, password, Authorization and Cookie value used.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { OTHER_STRONG_PASSWORD, STRONG_PASSWORD, dialects, linkFrom, startTestApp, tokenFromLink, type TestApp } from '../support/harness.js';
import { issueSetupLink } from '../../src/services/accounts.js';

const THIRD_PASSWORD = 'plum orchard 1987 whistling kettle';
const RESET_PASSWORD = 'granite comet seventy ferns';
const WRONG_PASSWORD = 'Hunter2-is-not-it-either';

/** Every value that must never reach a log line, with what it is (for the message). */
class Secrets {
  readonly values = new Map<string, string>();

  add(what: string, value: string | undefined | null): void {
    if (!value) return;
    this.values.set(value, what);
    // Forms and URLs carry values encoded; look for those spellings too.
    this.values.set(encodeURIComponent(value), `${what} (URL-encoded)`);
    this.values.set(new URLSearchParams({ v: value }).toString().slice(2), `${what} (form-encoded)`);
    // A token's secret half alone is as bad as the whole token.
    const secret = /^[A-Za-z0-9_-]{22}\.([A-Za-z0-9_-]{43})$/.exec(value)?.[1];
    if (secret) this.values.set(secret, `${what} (secret part)`);
  }

  addCookies(response: LightMyRequestResponse): void {
    const header = response.headers['set-cookie'];
    for (const raw of header === undefined ? [] : Array.isArray(header) ? header : [header]) {
      const [pair = ''] = raw.split(';');
      const [name = '', value = ''] = pair.split('=');
      this.add(`cookie ${name}`, decodeURIComponent(value));
    }
  }
}

for (const dialect of dialects()) {
  describe(`no secret in the logs (${dialect.name})`, { skip: dialect.skip }, () => {
    let app: TestApp;
    const secrets = new Secrets();
    const jar = new Map<string, string>();
    const userAgent = 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0';

    function cookieHeader(): string {
      return [...jar.entries()].map(([name, value]) => `${name}=${value}`).join('; ');
    }

    /** A browser-like request: cookies sent and stored, and every value remembered. */
    async function page(method: 'GET' | 'POST', url: string, form?: Record<string, string>): Promise<LightMyRequestResponse> {
      const cookie = cookieHeader();
      if (cookie) secrets.add('Cookie header', cookie);
      const response = await app.inject({
        method,
        url,
        headers: { 'user-agent': userAgent, ...(cookie ? { cookie } : {}), ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
        ...(form ? { payload: new URLSearchParams(form).toString() } : {}),
      });
      secrets.addCookies(response);
      const header = response.headers['set-cookie'];
      for (const raw of header === undefined ? [] : Array.isArray(header) ? header : [header]) {
        const [pair = ''] = raw.split(';');
        const equals = pair.indexOf('=');
        const name = pair.slice(0, equals);
        const value = pair.slice(equals + 1);
        if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(raw)) jar.delete(name);
        else jar.set(name, value);
      }
      return response;
    }

    function csrfOf(html: string): string {
      const match = /name="_csrf" value="([^"]+)"/.exec(html);
      assert.ok(match, 'a CSRF field');
      return match[1]!;
    }

    /** An API request with a bearer token, the header value remembered. */
    async function api(method: string, url: string, options: { token?: string; body?: unknown } = {}): Promise<LightMyRequestResponse> {
      if (options.token) {
        secrets.add('session token', options.token);
        secrets.add('Authorization header', `Bearer ${options.token}`);
      }
      const response = await app.api(method, url, options);
      const body = response.headers['content-type']?.toString().includes('json') ? (response.json() as Record<string, unknown>) : {};
      for (const key of ['session_token', 'challenge_token', 'trusted_device_token']) {
        if (typeof body[key] === 'string') secrets.add(key, body[key] as string);
      }
      return response;
    }

    async function mailTo(email: string, subject: RegExp): Promise<string> {
      const mail = (await app.outbox()).find((m) => m.to === email && subject.test(m.subject));
      assert.ok(mail, `a mail to ${email} matching ${subject}`);
      return mail.body;
    }

    before(async () => {
      app = await startTestApp({ dialect: dialect.name });
      for (const [what, value] of [
        ['password', STRONG_PASSWORD],
        ['password', OTHER_STRONG_PASSWORD],
        ['password', THIRD_PASSWORD],
        ['password', RESET_PASSWORD],
        ['wrong password', WRONG_PASSWORD],
      ] as const) {
        secrets.add(what, value);
      }
    });
    after(async () => app?.close());

    it('runs the whole flow: setup, invitation, sign-in, password change, password reset', async () => {
      // Setup: the link opens the page, the API completes it.
      const setupLink = (await issueSetupLink(app.runtime.deps))!;
      const setupToken = tokenFromLink(setupLink);
      secrets.add('setup link token', setupToken);
      const setupPage = await page('GET', new URL(setupLink).pathname + new URL(setupLink).search);
      assert.equal(setupPage.statusCode, 200);
      const setup = await api('POST', '/api/v1/setup', {
        body: {
          token: setupToken,
          account_name: 'Acme Support',
          account_slug: 'acme',
          name: 'Olive Owner',
          email: 'owner@acme.test',
          password: STRONG_PASSWORD,
        },
      });
      assert.equal(setup.statusCode, 200, setup.body);
      const ownerToken = setup.json().session_token as string;

      // Invitation, accepted through the emailed link (page, then form post).
      const invite = await api('POST', '/api/v1/admin/users', { token: ownerToken, body: { email: 'ivy@acme.test', role: 'agent', name: 'Ivy Invited' } });
      assert.equal(invite.statusCode, 200, invite.body);
      const invitationLink = linkFrom(await mailTo('ivy@acme.test', /invited/i), '/invitation');
      const invitationToken = tokenFromLink(invitationLink);
      secrets.add('invitation link token', invitationToken);
      const invitationPage = await page('GET', `/invitation?token=${encodeURIComponent(invitationToken)}`);
      assert.equal(invitationPage.statusCode, 200, invitationPage.body.slice(0, 200));
      const accepted = await page('POST', '/invitation', { _csrf: csrfOf(invitationPage.body), token: invitationToken, new_password: OTHER_STRONG_PASSWORD });
      assert.equal(accepted.statusCode, 303, accepted.body.slice(0, 300));
      assert.equal((await page('GET', '/profile/security')).statusCode, 200);

      // A second invitation, accepted through the API.
      await api('POST', '/api/v1/admin/users', { token: ownerToken, body: { email: 'abe@acme.test', role: 'end_user' } });
      const abeToken = tokenFromLink(linkFrom(await mailTo('abe@acme.test', /invited/i), '/invitation'));
      secrets.add('invitation link token', abeToken);
      const abe = await api('POST', '/api/v1/invitations/accept', { body: { token: abeToken, password: THIRD_PASSWORD } });
      assert.equal(abe.json().status, 'signed_in');

      // Sign-in: a wrong password, then the right one, through the page and the API.
      jar.clear();
      const signInPage = await page('GET', '/sign-in');
      const wrong = await page('POST', '/sign-in', { _csrf: csrfOf(signInPage.body), account: 'acme', email: 'owner@acme.test', password: WRONG_PASSWORD });
      assert.equal(wrong.statusCode, 401);
      const right = await page('POST', '/sign-in', { _csrf: csrfOf(wrong.body), account: 'acme', email: 'owner@acme.test', password: STRONG_PASSWORD });
      assert.equal(right.statusCode, 303);
      const security = await page('GET', '/profile/security');
      assert.equal(security.statusCode, 200);
      const apiSignIn = await api('POST', '/api/v1/sign-in', { body: { account: 'acme', email: 'ivy@acme.test', password: OTHER_STRONG_PASSWORD } });
      const ivyToken = apiSignIn.json().session_token as string;
      assert.equal((await api('GET', '/api/v1/me', { token: ivyToken })).statusCode, 200);
      assert.equal((await api('POST', '/api/v1/sign-in', { body: { account: 'acme', email: 'ivy@acme.test', password: WRONG_PASSWORD } })).statusCode, 401);

      // Password changes: the API (Ivy) and the page (the owner).
      const changed = await api('PUT', '/api/v1/me/password', {
        token: ivyToken,
        body: { current_password: OTHER_STRONG_PASSWORD, new_password: THIRD_PASSWORD },
      });
      assert.equal(changed.statusCode, 200, changed.body);
      const refused = await api('PUT', '/api/v1/me/password', { token: ivyToken, body: { current_password: WRONG_PASSWORD, new_password: RESET_PASSWORD } });
      assert.equal(refused.statusCode, 401);
      const pageChange = await page('POST', '/profile/password', {
        _csrf: csrfOf(security.body),
        current_password: STRONG_PASSWORD,
        new_password: THIRD_PASSWORD,
      });
      assert.equal(pageChange.statusCode, 303, pageChange.body.slice(0, 300));

      // Password reset: requested on the API, the emailed link used on the page.
      await api('POST', '/api/v1/password-reset', { body: { account: 'acme', email: 'ivy@acme.test' } });
      const resetToken = tokenFromLink(linkFrom(await mailTo('ivy@acme.test', /reset/i), '/password/reset'));
      secrets.add('password reset link token', resetToken);
      jar.clear();
      const resetPage = await page('GET', `/password/reset?token=${encodeURIComponent(resetToken)}`);
      assert.equal(resetPage.statusCode, 200, resetPage.body.slice(0, 200));
      const reset = await page('POST', '/password/reset', { _csrf: csrfOf(resetPage.body), token: resetToken, new_password: RESET_PASSWORD });
      assert.equal(reset.statusCode, 303, reset.body.slice(0, 300));
      // A second reset, completed on the API; and a used link tried again.
      await api('POST', '/api/v1/password-reset', { body: { account: 'acme', email: 'abe@acme.test' } });
      const abeReset = tokenFromLink(linkFrom(await mailTo('abe@acme.test', /reset/i), '/password/reset'));
      secrets.add('password reset link token', abeReset);
      const abeAgain = await api('POST', '/api/v1/password-reset/complete', { body: { token: abeReset, new_password: RESET_PASSWORD } });
      assert.equal(abeAgain.json().status, 'signed_in');
      assert.equal((await page('GET', `/password/reset?token=${encodeURIComponent(abeReset)}`)).statusCode, 400);

      // Bad requests log errors of their own: a malformed body that holds a password,
      // a forged token in the URL of a page, sign-out.
      const malformed = await app.inject({
        method: 'POST',
        url: '/api/v1/sign-in',
        headers: { 'content-type': 'application/json' },
        payload: `{"password":"${WRONG_PASSWORD}"`,
      });
      assert.equal(malformed.statusCode, 400);
      assert.equal((await api('POST', '/api/v1/sign-out', { token: ownerToken })).statusCode, 401, 'the owner token ended with the page password change');
      assert.equal((await api('POST', '/api/v1/sign-out', { token: ivyToken })).statusCode, 401, "Ivy's token ended with the reset");
      assert.equal((await api('POST', '/api/v1/sign-out', { token: abeAgain.json().session_token })).statusCode, 200);
      const forged = 'AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB';
      secrets.add('forged link token', forged);
      assert.equal((await page('GET', `/invitation?token=${forged}`)).statusCode, 400);
      assert.equal((await api('GET', '/api/v1/me', { token: forged })).statusCode, 401);
    });

    it('logged the requests (the check below is not vacuous)', () => {
      const all = app.logs.join('');
      assert.ok(app.logs.length > 20, `${app.logs.length} log lines`);
      for (const path of ['/api/v1/setup', '/invitation', '/api/v1/sign-in', '/api/v1/me/password', '/password/reset', '/profile/password']) {
        assert.ok(all.includes(`"${path}"`), `a log line for ${path}`);
      }
      assert.ok(secrets.values.size > 20, `${secrets.values.size} secret spellings collected`);
    });

    it('no log line holds a session token, a link token, a password, or an Authorization or Cookie value', () => {
      const leaks: string[] = [];
      for (const [index, line] of app.logs.entries()) {
        for (const [value, what] of secrets.values) {
          if (value.length >= 8 && line.includes(value)) leaks.push(`line ${index} holds a ${what}: ${line.slice(0, 300)}`);
        }
        // No header dump either, redacted or not.
        if (/"authorization"\s*:\s*"(?!\[redacted\])/i.test(line)) leaks.push(`line ${index} holds an authorization header: ${line.slice(0, 300)}`);
        if (/"cookie"\s*:\s*"(?!\[redacted\])/i.test(line)) leaks.push(`line ${index} holds a cookie header: ${line.slice(0, 300)}`);
        if (/token=/.test(line)) leaks.push(`line ${index} holds a token= query: ${line.slice(0, 300)}`);
      }
      assert.deepEqual(leaks.slice(0, 20), []);
    });
  });
}
