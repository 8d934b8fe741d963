// What a new team tripped over in the walkthrough (issue "What a new team trips over"),
// through the pages with a cookie jar and through the API.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { Authenticator } from '../support/authenticator.js';
import { STRONG_PASSWORD, addUser, setUpAccount, signIn, signInToken, startTestApp, type TestApp } from '../support/harness.js';

/** A browser: cookies kept between requests, forms posted with their CSRF token. */
class Browser {
  private readonly jar = new Map<string, string>();
  constructor(private readonly app: TestApp) {}

  private keep(response: LightMyRequestResponse): void {
    for (const raw of ([] as string[]).concat(response.headers['set-cookie'] ?? [])) {
      const [pair = ''] = raw.split(';');
      const name = pair.slice(0, pair.indexOf('='));
      const value = pair.slice(pair.indexOf('=') + 1);
      if (value === '' || /max-age=0/i.test(raw)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }

  async get(url: string): Promise<LightMyRequestResponse> {
    const response = await this.app.inject({ method: 'GET', url, headers: { cookie: this.cookie() } });
    this.keep(response);
    return response;
  }

  async post(url: string, form: Record<string, string>): Promise<LightMyRequestResponse> {
    const response = await this.app.inject({
      method: 'POST',
      url,
      headers: { cookie: this.cookie(), 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams(form).toString(),
    });
    this.keep(response);
    return response;
  }

  async csrf(url: string): Promise<string> {
    return /name="_csrf" value="([^"]+)"/.exec((await this.get(url)).body)![1]!;
  }

  async signIn(email: string): Promise<void> {
    const answer = await this.post('/sign-in', { _csrf: await this.csrf('/sign-in'), account: 'acme', email, password: STRONG_PASSWORD });
    assert.equal(answer.statusCode, 303, answer.body.slice(0, 300));
  }

  private cookie(): string {
    return [...this.jar].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

describe('walkthrough fixes (sqlite)', () => {
  let app: TestApp;
  let ownerToken: string;
  const admin = () => {
    const browser = new Browser(app);
    return browser.signIn('owner@acme.test').then(() => browser);
  };

  before(async () => {
    app = await startTestApp();
    ownerToken = (await setUpAccount(app)).token;
  });
  after(async () => app?.close());

  async function personWithApp(email: string): Promise<{ id: string; authenticator: Authenticator }> {
    await addUser(app, { account: 'acme', email });
    const token = await signInToken(app, { account: 'acme', email });
    const started = (await app.api('POST', '/api/v1/me/two-factor/totp', { token })).json();
    const authenticator = new Authenticator(started.otpauth_uri);
    assert.equal((await app.api('POST', '/api/v1/me/two-factor/totp/verify', { token, body: { code: authenticator.code(app.clock.now()) } })).statusCode, 200);
    const id = (await app.api('GET', '/api/v1/me', { token })).json().id as string;
    return { id, authenticator };
  }

  async function lockPasscodes(email: string): Promise<void> {
    for (let i = 0; i < 10; i += 1) {
      const challenge = (await signIn(app, { account: 'acme', email })).json().challenge_token;
      await app.api('POST', '/api/v1/sign-in/two-factor', { body: { challenge_token: challenge, method: 'totp', code: '000000' } });
    }
  }

  it('1: the person page shows a passcode lock, and "Unlock" (reason, confirmation) lifts it, audited and emailed', async () => {
    const person = await personWithApp('locked.out@acme.test');
    await lockPasscodes('locked.out@acme.test');
    const browser = await admin();
    const page = await browser.get(`/admin/users/${person.id}`);
    assert.match(page.body, /Sign-in paused/);
    assert.match(page.body, /Too many wrong passcodes/);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
    const refused = await browser.post(`/admin/users/${person.id}/unlock`, { _csrf: csrf, reason: '', method: 'password', code: STRONG_PASSWORD });
    assert.equal(refused.statusCode, 400);
    const unlocked = await browser.post(`/admin/users/${person.id}/unlock`, {
      _csrf: csrf,
      reason: 'called the desk, typo in the app',
      method: 'password',
      code: STRONG_PASSWORD,
    });
    assert.equal(unlocked.statusCode, 303, unlocked.body.slice(0, 300));
    assert.doesNotMatch((await browser.get(unlocked.headers.location as string)).body, /Sign-in paused/);
    app.clock.advance(30_000);
    const challenge = (await signIn(app, { account: 'acme', email: 'locked.out@acme.test' })).json().challenge_token;
    const done = await app.api('POST', '/api/v1/sign-in/two-factor', {
      body: { challenge_token: challenge, method: 'totp', code: person.authenticator.code(app.clock.now()) },
    });
    assert.equal(done.json().status, 'signed_in', done.body);
    const audit = await app.runtime.deps.db
      .selectFrom('audit_events')
      .select('reason')
      .where('type', '=', 'sign_in_unlocked_by_admin')
      .executeTakeFirstOrThrow();
    assert.equal(audit.reason, 'called the desk, typo in the app');
    assert.ok((await app.outbox()).some((m) => m.to === 'locked.out@acme.test' && /unlocked your sign-in/.test(m.subject)));
  });

  it('1: an admin-issued code rescues a person locked by wrong passcodes', async () => {
    await personWithApp('rescued@acme.test');
    await lockPasscodes('rescued@acme.test');
    const id = (await app.api('GET', '/api/v1/admin/users', { token: ownerToken }))
      .json()
      .users.find((u: { email: string }) => u.email === 'rescued@acme.test').id;
    const issued = await app.api('POST', `/api/v1/admin/users/${id}/recovery-code`, {
      token: ownerToken,
      body: { reason: 'lost phone', method: 'password', code: STRONG_PASSWORD },
    });
    const challenge = (await signIn(app, { account: 'acme', email: 'rescued@acme.test' })).json().challenge_token;
    const used = await app.api('POST', '/api/v1/sign-in/two-factor', {
      body: { challenge_token: challenge, method: 'recovery_code', code: issued.json().code },
    });
    assert.equal(used.json().status, 'two_factor_setup_required', used.body);
  });

  it("1: the admin's code works for its person even after someone with the password locks them again", async () => {
    await personWithApp('relocked@acme.test');
    const id = (await app.api('GET', '/api/v1/admin/users', { token: ownerToken }))
      .json()
      .users.find((u: { email: string }) => u.email === 'relocked@acme.test').id;
    const issued = await app.api('POST', `/api/v1/admin/users/${id}/recovery-code`, {
      token: ownerToken,
      body: { reason: 'lost phone', method: 'password', code: STRONG_PASSWORD },
    });
    await lockPasscodes('relocked@acme.test');
    const challenge = (await signIn(app, { account: 'acme', email: 'relocked@acme.test' })).json().challenge_token;
    const wrongWhileLocked = await app.api('POST', '/api/v1/sign-in/two-factor', {
      body: { challenge_token: challenge, method: 'recovery_code', code: 'AAAA-BBBB-CCCC-DDDD' },
    });
    assert.equal(wrongWhileLocked.statusCode, 429, 'anything else is still refused');
    const used = await app.api('POST', '/api/v1/sign-in/two-factor', {
      body: { challenge_token: challenge, method: 'recovery_code', code: issued.json().code },
    });
    assert.equal(used.json().status, 'two_factor_setup_required', used.body);
  });

  it('4: adding a phone refused by the text quotas does not use up the recovery code that confirmed it', async () => {
    await addUser(app, { account: 'acme', email: 'quota@acme.test' });
    const token = await signInToken(app, { account: 'acme', email: 'quota@acme.test' });
    const started = (await app.api('POST', '/api/v1/me/two-factor/totp', { token })).json();
    const authenticator = new Authenticator(started.otpauth_uri);
    const verified = (await app.api('POST', '/api/v1/me/two-factor/totp/verify', { token, body: { code: authenticator.code(app.clock.now()) } })).json();
    const me = (await app.api('GET', '/api/v1/me', { token })).json();
    for (let i = 0; i < 10; i += 1) await app.runtime.deps.limits.smsByUser.hit(me.id);
    const refused = await app.api('POST', '/api/v1/me/two-factor/sms', {
      token,
      body: { phone: '+1 201 555 0144', method: 'recovery_code', code: verified.recovery_codes[0] },
    });
    assert.equal(refused.statusCode, 429, refused.body);
    assert.equal(refused.json().error.code, 'sms_rate_limited');
    assert.equal((await app.api('GET', '/api/v1/me', { token })).json().two_factor.recovery_codes_left, 10, 'the code is not spent');
  });

  it('2: the issued code is shown after a redirect, once: a reload makes no second code', async () => {
    const person = await personWithApp('reload@acme.test');
    const browser = await admin();
    const csrf = await browser.csrf(`/admin/users/${person.id}`);
    const posted = await browser.post(`/admin/users/${person.id}/recovery-code`, {
      _csrf: csrf,
      reason: 'lost phone',
      method: 'password',
      code: STRONG_PASSWORD,
    });
    assert.equal(posted.statusCode, 303);
    const shown = await browser.get(posted.headers.location as string);
    const code = /id="issued-code">([^<]+)</.exec(shown.body)?.[1];
    assert.ok(code, 'the code is on the page');
    const reloaded = await browser.get(posted.headers.location as string);
    assert.doesNotMatch(reloaded.body, /id="issued-code"/, 'shown once');
    assert.match(reloaded.body, /shown once/);
    const codes = await app.runtime.deps.db.selectFrom('recovery_codes').select('id').where('user_id', '=', person.id).where('kind', '=', 'admin').execute();
    assert.equal(codes.length, 1);
    const mails = (await app.outbox()).filter((m) => m.to === 'reload@acme.test' && /issued a recovery code/.test(m.subject));
    assert.equal(mails.length, 1, 'one email');
  });

  it('6 and 8: the invite form shows a too-long name beside its field; the person page has no duplicate ids', async () => {
    const browser = await admin();
    const csrf = await browser.csrf('/admin/users');
    assert.match((await browser.get('/admin/users')).body, /name="name"[^>]*maxlength="100"/);
    const long = await browser.post('/admin/users/invite', { _csrf: csrf, email: 'long.name@acme.test', name: 'N'.repeat(101), role: 'agent' });
    assert.equal(long.statusCode, 400);
    assert.match(long.body, /id="field-name-error"[^>]*>The name must be 1 to 100 characters/);
    const person = await personWithApp('ids@acme.test');
    await lockPasscodes('ids@acme.test');
    const page = (await browser.get(`/admin/users/${person.id}`)).body;
    const ids = [...page.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]!);
    assert.deepEqual(
      ids.filter((id, i) => ids.indexOf(id) !== i),
      [],
      'every id once',
    );
  });

  it('7: the words: one "Try again" in a lock, a reused code is "already used", the last try says so', async () => {
    const person = await personWithApp('words@acme.test');
    app.clock.advance(30_000);
    const code = person.authenticator.code(app.clock.now());
    const first = (await signIn(app, { account: 'acme', email: 'words@acme.test' })).json().challenge_token;
    assert.equal((await app.api('POST', '/api/v1/sign-in/two-factor', { body: { challenge_token: first, method: 'totp', code } })).json().status, 'signed_in');
    const second = (await signIn(app, { account: 'acme', email: 'words@acme.test' })).json().challenge_token;
    const reused = await app.api('POST', '/api/v1/sign-in/two-factor', { body: { challenge_token: second, method: 'totp', code } });
    assert.match(reused.json().error.message, /already used/);
    let last: LightMyRequestResponse | null = null;
    for (let i = 0; i < 4; i += 1)
      last = await app.api('POST', '/api/v1/sign-in/two-factor', { body: { challenge_token: second, method: 'totp', code: '000001' } });
    assert.match(last!.json().error.message, /last try for this sign-in/);
    for (let i = 0; i < 5; i += 1) {
      const challenge = (await signIn(app, { account: 'acme', email: 'words@acme.test' })).json().challenge_token;
      last = await app.api('POST', '/api/v1/sign-in/two-factor', { body: { challenge_token: challenge, method: 'totp', code: '000002' } });
    }
    const locked = last!.json().error.message as string;
    assert.equal(last!.statusCode, 429, last!.body);
    assert.equal(locked.match(/Try again/g)?.length, 1, locked);
  });

  it('7: back to the passcode page after signing in goes to Security settings, not "expired"', async () => {
    const person = await personWithApp('back@acme.test');
    const browser = new Browser(app);
    await browser.signIn('back@acme.test');
    const csrf = await browser.csrf('/sign-in/two-factor');
    app.clock.advance(30_000);
    const done = await browser.post('/sign-in/two-factor', { _csrf: csrf, method: 'totp', code: person.authenticator.code(app.clock.now()) });
    assert.equal(done.statusCode, 303);
    const back = await browser.get('/sign-in/two-factor');
    assert.equal(back.statusCode, 303);
    assert.equal(back.headers.location, '/profile/security');
  });
});
