// Emailed codes as a second factor through the pages (inject level): the chooser's
// "Use emailed codes", the code page with "Send again", sign-in with "Get a code by
// email" and "Email me a code", and a confirmation with an emailed code.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { STRONG_PASSWORD, addUser, setUpAccount, startTestApp, type TestApp } from '../support/harness.js';

const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';

class Browser {
  readonly jar = new Map<string, string>();
  constructor(private readonly app: TestApp) {}

  private store(response: LightMyRequestResponse): void {
    const header = response.headers['set-cookie'];
    for (const raw of header === undefined ? [] : Array.isArray(header) ? header : [header]) {
      const [pair = ''] = raw.split(';');
      const name = pair.slice(0, pair.indexOf('=')).trim();
      const value = decodeURIComponent(pair.slice(pair.indexOf('=') + 1).trim());
      if (value === '' || /max-age=0/i.test(raw) || /expires=Thu, 01 Jan 1970/i.test(raw)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }

  private headers(): Record<string, string> {
    return { cookie: [...this.jar].map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join('; '), 'user-agent': USER_AGENT };
  }

  async get(url: string): Promise<LightMyRequestResponse> {
    const response = await this.app.inject({ method: 'GET', url, remoteAddress: '127.0.0.1', headers: this.headers() });
    this.store(response);
    return response;
  }

  async post(url: string, form: Record<string, string>): Promise<LightMyRequestResponse> {
    this.app.clock.advance(1);
    const response = await this.app.inject({
      method: 'POST',
      url,
      remoteAddress: '127.0.0.1',
      headers: { ...this.headers(), 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams(form).toString(),
    });
    this.store(response);
    return response;
  }

  async csrf(url: string): Promise<string> {
    const page = await this.get(url);
    assert.equal(page.statusCode, 200, `${url}: ${page.body.slice(0, 300)}`);
    return /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
  }

  async signIn(email: string): Promise<LightMyRequestResponse> {
    const csrf = await this.csrf('/sign-in');
    return this.post('/sign-in', { _csrf: csrf, account: 'acme', email, password: STRONG_PASSWORD });
  }
}

function text(html: string): string {
  return html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
}

async function latestEmailedCode(app: TestApp, email: string): Promise<string> {
  const mail = (await app.outbox()).find((m) => m.channel === 'email' && m.to === email && /Your code is \d{6}\./.test(m.body));
  if (!mail) throw new Error(`no code mailed to ${email}`);
  return /Your code is (\d{6})\./.exec(mail.body)![1]!;
}

describe('emailed codes in the pages (sqlite)', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
    await setUpAccount(app);
  });
  after(async () => app?.close());

  it('turns on from the chooser, signs in with "Email me a code", confirms with an emailed code', async () => {
    await addUser(app, { account: 'acme', email: 'lea@acme.test' });
    const browser = new Browser(app);
    assert.equal((await browser.signIn('lea@acme.test')).headers.location, '/profile/security');
    const chooser = await browser.get('/profile/two-factor/setup');
    assert.match(text(chooser.body), /Use emailed codes/);
    assert.ok(text(chooser.body).indexOf('Use text messages') < text(chooser.body).indexOf('Use emailed codes'), 'shown after the other factors');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(chooser.body)![1]!;
    const started = await browser.post('/profile/two-factor/email', { _csrf: csrf });
    assert.equal(started.statusCode, 303, started.body.slice(0, 400));
    const pending = await browser.get('/profile/two-factor/email');
    assert.match(text(pending.body), /We emailed a 6-digit code to lea@acme.test/);
    assert.match(pending.body, /data-label="Send again"/);
    const verified = await browser.post('/profile/two-factor/email/verify', { _csrf: csrf, code: await latestEmailedCode(app, 'lea@acme.test') });
    assert.equal(verified.statusCode, 200, verified.body.slice(0, 300));
    assert.match(verified.body, /Save your recovery codes/);

    const security = await browser.get('/profile/security');
    assert.match(text(security.body), /Emailed code/);
    assert.match(security.body, /form="send-confirmation-email">Email me a code<\/button>/);
    const csrf2 = /name="_csrf" value="([^"]+)"/.exec(security.body)![1]!;
    const sent = await browser.post('/profile/two-factor/email/send', { _csrf: csrf2, back: '/profile/security' });
    assert.equal(sent.headers.location, '/profile/security?email=sent');
    const made = await browser.post('/profile/two-factor/recovery-codes', {
      _csrf: csrf2,
      method: 'email',
      code: await latestEmailedCode(app, 'lea@acme.test'),
    });
    assert.equal(made.statusCode, 200, made.body.slice(0, 300));
    assert.match(made.body, /New recovery codes/);

    const fresh = new Browser(app);
    const signedIn = await fresh.signIn('lea@acme.test');
    assert.match(signedIn.headers.location as string, /^\/sign-in\/two-factor/);
    const passcode = await fresh.get('/sign-in/two-factor');
    assert.match(text(passcode.body), /We can email a 6-digit code to l•••@acme.test/);
    assert.match(passcode.body, /data-label="Email me a code"/);
    const csrf3 = /name="_csrf" value="([^"]+)"/.exec(passcode.body)![1]!;
    const mailed = await fresh.post('/sign-in/two-factor/email', { _csrf: csrf3 });
    assert.equal(mailed.headers.location, '/sign-in/two-factor?method=email');
    const done = await fresh.post('/sign-in/two-factor', { _csrf: csrf3, method: 'email', code: await latestEmailedCode(app, 'lea@acme.test'), remember: '1' });
    assert.equal(done.statusCode, 303, done.body.slice(0, 300));
    assert.equal(done.headers.location, '/profile/security');
  });
});
