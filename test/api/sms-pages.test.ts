// Text messages in the HTML pages, through app.inject with a small cookie jar: the
// method choice (the app recommended, SMS called the weaker "restricted" method), the
// country picker, verifying a number, the passcode page (sent automatically from the
// password POST when SMS is preferred, never from a GET; "Text me a code" / "Send
// again" with the cooldown), a text that could not be sent, and Security settings.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PermanentDeliveryError } from '../../src/delivery/senders.js';
import { Authenticator } from '../support/authenticator.js';
import { FormBrowser, pageText } from '../support/form-browser.js';
import { addUser, setUpAccount, signInToken, startTestApp, type TestApp } from '../support/harness.js';
import { CountingSmsSender, freshUsNumber, latestCode, textsTo, tickBeforeTexts } from '../support/sms.js';

/** The no-JavaScript browser of the page suites, its clock a millisecond on before each sign-in and each texted code's post. */
function newBrowser(app: TestApp): FormBrowser {
  return new FormBrowser(app, {
    beforePost: (url) => {
      if (/\/sms(\/send|\/resend)?(\?|$)/.test(url) || url === '/sign-in') app.clock.advance(1);
    },
  });
}

async function smsPersonThroughPages(app: TestApp, email: string): Promise<{ browser: FormBrowser; phone: ReturnType<typeof freshUsNumber> }> {
  await addUser(app, { account: 'acme', email });
  const browser = newBrowser(app);
  assert.equal((await browser.signIn(email)).headers.location, '/profile/security');
  const phone = freshUsNumber();
  const csrf = await browser.csrf('/profile/two-factor/setup');
  const started = await browser.post('/profile/two-factor/sms', { _csrf: csrf, country: 'US', phone: phone.national });
  assert.equal(started.statusCode, 303, started.body.slice(0, 500));
  assert.equal(started.headers.location, '/profile/two-factor/sms');
  const pending = await browser.get('/profile/two-factor/sms');
  assert.match(pageText(pending.body), new RegExp(`We texted a 6-digit code to •••• ••• ${phone.lastDigits}`));
  assert.match(pending.body, /data-cooldown="30" data-label="Send again"/);
  const verified = await browser.post('/profile/two-factor/sms/verify', { _csrf: csrf, code: await latestCode(app, phone.e164) });
  assert.equal(verified.statusCode, 200, verified.body.slice(0, 300));
  assert.match(verified.body, /Save your recovery codes/);
  return { browser, phone };
}

describe('text messages in the pages (sqlite)', () => {
  let app: TestApp;

  before(async () => {
    app = tickBeforeTexts(await startTestApp());
    await setUpAccount(app);
  });
  after(async () => app?.close());

  it('the method choice recommends the app and says plainly, without jargon, that text messages are the weaker method', async () => {
    await addUser(app, { account: 'acme', email: 'choice@acme.test' });
    const browser = newBrowser(app);
    await browser.signIn('choice@acme.test');
    const page = await browser.get('/profile/two-factor/setup');
    assert.equal(page.statusCode, 200);
    const words = pageText(page.body);
    assert.match(words, /Use an authenticator app Recommended/);
    assert.match(words, /Text messages are the weaker method/);
    assert.doesNotMatch(words, /NIST|800-63/, 'the standard is cited in the code, not to the person');
    assert.match(words, /Use an authenticator app if you can/);
    // The country picker defaults to the account's country, and lists every country.
    assert.match(page.body, /<option value="US" selected>United States \(\+1\)<\/option>/);
    assert.ok((page.body.match(/<option /g) ?? []).length > 200);
    assert.match(page.body, /<label for="field-country">Country<\/label>/);
    assert.match(page.body, /<input id="field-phone" name="phone" type="tel" value="" autocomplete="tel"/);

    await app.runtime.deps.db.updateTable('accounts').set({ country: 'GB', sms_allowed_countries: 'GB,IE' }).where('slug', '=', 'acme').execute();
    try {
      const limited = await browser.get('/profile/two-factor/setup');
      assert.deepEqual([...limited.body.matchAll(/<option value="([A-Z]{2})"/g)].map((m) => m[1]).sort(), ['GB', 'IE']);
      assert.match(limited.body, /<option value="GB" selected>/);
      const csrf = /name="_csrf" value="([^"]+)"/.exec(limited.body)![1]!;
      const refused = await browser.post('/profile/two-factor/sms', { _csrf: csrf, country: 'GB', phone: '+1 201 555 0199' });
      assert.equal(refused.statusCode, 400);
      assert.match(pageText(refused.body), /does not allow text messages to this country/);
      assert.match(refused.body, /value="\+1 201 555 0199"/, 'the number typed is kept');
    } finally {
      await app.runtime.deps.db.updateTable('accounts').set({ country: 'US', sms_allowed_countries: null }).where('slug', '=', 'acme').execute();
    }
  });

  it('turns SMS on through the pages; Security settings shows the number masked and a "Text me a code" for confirmations', async () => {
    const { browser, phone } = await smsPersonThroughPages(app, 'pages@acme.test');
    const security = await browser.get('/profile/security');
    assert.match(pageText(security.body), new RegExp(`Text messages to •••• ••• ${phone.lastDigits}`));
    assert.ok(!security.body.includes(phone.e164) && !security.body.includes(phone.national));
    assert.match(security.body, /<button type="submit" class="link" form="send-confirmation-text">Text me a code<\/button>/);
    assert.match(security.body, /<input type="radio" name="method" value="sms" checked>/, 'SMS-only: the texted passcode is the default');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(security.body)![1]!;
    const before = (await textsTo(app, phone.e164)).length;
    const sent = await browser.post('/profile/two-factor/sms/send', { _csrf: csrf, back: '/profile/security' });
    assert.equal(sent.statusCode, 303);
    assert.equal(sent.headers.location, '/profile/security?sms=sent');
    assert.equal((await textsTo(app, phone.e164)).length, before + 1);
    assert.match(pageText((await browser.get('/profile/security?sms=sent')).body), /We texted you a code/);
    const regenerated = await browser.post('/profile/two-factor/recovery-codes', { _csrf: csrf, method: 'sms', code: await latestCode(app, phone.e164) });
    assert.equal(regenerated.statusCode, 200, regenerated.body.slice(0, 300));
    assert.match(regenerated.body, /New recovery codes/);
    // Off-site "back" is ignored.
    const offsite = await browser.post('/profile/two-factor/sms/send', { _csrf: csrf, back: '//evil.test' });
    assert.ok([303, 429].includes(offsite.statusCode));
    if (offsite.statusCode === 303) assert.match(String(offsite.headers.location), /^\/profile\/security/);
  });

  it('SMS preferred: the password POST texts a code, the passcode page (a GET) texts nothing; "Send again" waits 30 s', async () => {
    const { phone } = await smsPersonThroughPages(app, 'auto@acme.test');
    const browser = newBrowser(app);
    app.clock.advance(31_000);
    const before = (await textsTo(app, phone.e164)).length;
    const signedIn = await browser.signIn('auto@acme.test');
    assert.equal(signedIn.headers.location, '/sign-in/two-factor');
    assert.equal((await textsTo(app, phone.e164)).length, before + 1, 'texted from the POST that accepted the password');
    const page = await browser.get('/sign-in/two-factor');
    await browser.get('/sign-in/two-factor');
    assert.equal((await textsTo(app, phone.e164)).length, before + 1, 'a GET texts nothing');
    const words = pageText(page.body);
    assert.match(words, new RegExp(`We texted a 6-digit code to •••• ••• ${phone.lastDigits} for Acme Support`));
    assert.match(page.body, /<button type="submit" data-cooldown="30" data-label="Send again">Send again<\/button>/);
    assert.match(page.body, /<form method="post" action="\/sign-in\/two-factor" novalidate data-webotp>/);
    assert.match(page.body, /autocomplete="one-time-code"/);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
    const tooSoon = await browser.post('/sign-in/two-factor/sms', { _csrf: csrf });
    assert.equal(tooSoon.statusCode, 429);
    assert.ok(Number(tooSoon.headers['retry-after']) > 0);
    assert.match(pageText(tooSoon.body), /You can ask for another in \d+ seconds/);
    app.clock.advance(30_000);
    const again = await browser.post('/sign-in/two-factor/sms', { _csrf: csrf });
    assert.equal(again.statusCode, 303);
    assert.equal(again.headers.location, '/sign-in/two-factor?method=sms&sent=again');
    assert.match(
      pageText((await browser.get(again.headers.location as string)).body),
      /The code we texted before no longer works/,
      'a resent text says the first code is void',
    );
    assert.equal((await textsTo(app, phone.e164)).length, before + 2);
    const done = await browser.post('/sign-in/two-factor', { _csrf: csrf, method: 'sms', code: await latestCode(app, phone.e164), remember: '1' });
    assert.equal(done.statusCode, 303, done.body.slice(0, 400));
    assert.equal(done.headers.location, '/profile/security');
    // Without a CSRF token nothing is sent.
    const other = newBrowser(app);
    await other.signIn('auto@acme.test');
    const count = (await textsTo(app, phone.e164)).length;
    assert.equal((await other.post('/sign-in/two-factor/sms', {})).statusCode, 403);
    assert.equal((await textsTo(app, phone.e164)).length, count);
  });

  it('the app preferred: no text until asked; "Get a code by text message" then "Text me a code"; the preferred method is chosen in Security settings', async () => {
    await addUser(app, { account: 'acme', email: 'both@acme.test' });
    const token = await signInToken(app, { account: 'acme', email: 'both@acme.test' });
    const started = (await app.api('POST', '/api/v1/me/two-factor/totp', { token })).json();
    const authenticator = new Authenticator(started.otpauth_uri);
    await app.api('POST', '/api/v1/me/two-factor/totp/verify', { token, body: { code: authenticator.code(app.clock.now()) } });
    const browser = newBrowser(app);
    assert.equal((await browser.signIn('both@acme.test')).headers.location, '/sign-in/two-factor');
    const signInCsrf = await browser.csrf('/sign-in/two-factor');
    app.clock.advance(30_000);
    const done = await browser.post('/sign-in/two-factor', { _csrf: signInCsrf, method: 'totp', code: authenticator.code(app.clock.now()) });
    assert.equal(done.headers.location, '/profile/security');

    // Adding SMS in the pages needs a current passcode.
    const setup = await browser.get('/profile/two-factor/setup');
    assert.match(pageText(setup.body), /Add a two-factor method/);
    assert.doesNotMatch(setup.body, /action="\/profile\/two-factor\/totp"/, 'the app is there already');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(setup.body)![1]!;
    const phone = freshUsNumber();
    const bare = await browser.post('/profile/two-factor/sms', { _csrf: csrf, country: 'US', phone: phone.national });
    assert.equal(bare.statusCode, 403);
    assert.equal((await textsTo(app, phone.e164)).length, 0);
    app.clock.advance(30_000);
    const confirmed = await browser.post('/profile/two-factor/sms', {
      _csrf: csrf,
      country: 'US',
      phone: phone.national,
      method: 'totp',
      code: authenticator.code(app.clock.now()),
    });
    assert.equal(confirmed.statusCode, 303, pageText(confirmed.body).slice(0, 500));
    const verified = await browser.post('/profile/two-factor/sms/verify', { _csrf: csrf, code: await latestCode(app, phone.e164) });
    assert.equal(verified.headers.location, '/profile/security?done=sms-on');

    const security = await browser.get('/profile/security');
    assert.match(security.body, /<input type="radio" name="method" value="totp" checked> Authenticator app/);
    const before = (await textsTo(app, phone.e164)).length;
    const fresh = newBrowser(app);
    await fresh.signIn('both@acme.test');
    assert.equal((await textsTo(app, phone.e164)).length, before, 'the app is preferred: nothing texted');
    const appPage = await fresh.get('/sign-in/two-factor');
    assert.match(pageText(appPage.body), /Open your authenticator app/);
    assert.match(appPage.body, /<a href="\/sign-in\/two-factor\?method=sms">Get a code by text message<\/a>/);
    const smsPage = await fresh.get('/sign-in/two-factor?method=sms');
    assert.match(smsPage.body, /data-cooldown="0" data-label="Text me a code">Text me a code<\/button>/);
    assert.equal((await textsTo(app, phone.e164)).length, before);
    const freshCsrf = /name="_csrf" value="([^"]+)"/.exec(smsPage.body)![1]!;
    assert.equal((await fresh.post('/sign-in/two-factor/sms', { _csrf: freshCsrf })).statusCode, 303);
    assert.equal((await textsTo(app, phone.e164)).length, before + 1);

    const saved = await browser.post('/profile/two-factor/preferred', { _csrf: csrf, method: 'sms' });
    assert.equal(saved.headers.location, '/profile/security?done=preferred');
    assert.match((await browser.get('/profile/security')).body, /<input type="radio" name="method" value="sms" checked> Text message<\/label>/);
    assert.equal((await app.api('GET', '/api/v1/me', { token })).json().two_factor.preferred, 'sms');
  });
});

describe('a text that could not be sent, in the pages (sqlite)', () => {
  let app: TestApp;
  let failing = false;
  before(async () => {
    const provider = new CountingSmsSender(() => {
      if (failing) throw new PermanentDeliveryError('Twilio answered HTTP 400 (Twilio error 21610)');
    });
    app = tickBeforeTexts(await startTestApp({ runtime: { senders: { sms: provider } } }));
    await setUpAccount(app);
  });
  after(async () => app?.close());

  it('the passcode page says "We could not send a text. Try the app or a recovery code."', async () => {
    const { phone } = await smsPersonThroughPages(app, 'down@acme.test');
    failing = true;
    await app.runtime.worker.drain();
    const browser = newBrowser(app);
    await browser.signIn('down@acme.test');
    await app.runtime.worker.drain();
    const page = await browser.get('/sign-in/two-factor');
    assert.match(pageText(page.body), /We could not send a text\. Try the app or a recovery code\./);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
    const tried = await browser.post('/sign-in/two-factor', { _csrf: csrf, method: 'sms', code: '123456' });
    assert.equal(tried.statusCode, 409);
    assert.match(pageText(tried.body), /We could not send a text/);
    assert.match(tried.body, /Use a recovery code/);
    assert.ok((await textsTo(app, phone.e164)).length >= 2);
  });
});
