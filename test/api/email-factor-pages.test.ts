// Emailed codes as a second factor through the pages (inject level): the chooser's
// "Use emailed codes", the code page with "Send again", sign-in with "Get a code by
// email" and "Email me a code", and a confirmation with an emailed code.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FormBrowser, pageText } from '../support/form-browser.js';
import { addUser, setUpAccount, startTestApp, type TestApp } from '../support/harness.js';

/** The no-JavaScript browser of the page suites, its clock a millisecond on before each post. */
function newBrowser(app: TestApp): FormBrowser {
  return new FormBrowser(app, { beforePost: () => app.clock.advance(1) });
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
    const browser = newBrowser(app);
    assert.equal((await browser.signIn('lea@acme.test')).headers.location, '/profile/security');
    const chooser = await browser.get('/profile/two-factor/setup');
    assert.match(pageText(chooser.body), /Use emailed codes/);
    assert.ok(pageText(chooser.body).indexOf('Use text messages') < pageText(chooser.body).indexOf('Use emailed codes'), 'shown after the other factors');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(chooser.body)![1]!;
    const started = await browser.post('/profile/two-factor/email', { _csrf: csrf });
    assert.equal(started.statusCode, 303, started.body.slice(0, 400));
    const pending = await browser.get('/profile/two-factor/email');
    assert.match(pageText(pending.body), /We emailed a 6-digit code to lea@acme.test/);
    assert.match(pending.body, /data-label="Send again"/);
    const verified = await browser.post('/profile/two-factor/email/verify', { _csrf: csrf, code: await latestEmailedCode(app, 'lea@acme.test') });
    assert.equal(verified.statusCode, 200, verified.body.slice(0, 300));
    assert.match(verified.body, /Save your recovery codes/);

    const security = await browser.get('/profile/security');
    assert.match(pageText(security.body), /Emailed code/);
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

    const fresh = newBrowser(app);
    const signedIn = await fresh.signIn('lea@acme.test');
    assert.match(signedIn.headers.location as string, /^\/sign-in\/two-factor/);
    const passcode = await fresh.get('/sign-in/two-factor');
    assert.match(pageText(passcode.body), /We can email a 6-digit code to l•••@acme.test/);
    assert.match(passcode.body, /data-label="Email me a code"/);
    const csrf3 = /name="_csrf" value="([^"]+)"/.exec(passcode.body)![1]!;
    const mailed = await fresh.post('/sign-in/two-factor/email', { _csrf: csrf3 });
    assert.equal(mailed.headers.location, '/sign-in/two-factor?method=email');
    const done = await fresh.post('/sign-in/two-factor', { _csrf: csrf3, method: 'email', code: await latestEmailedCode(app, 'lea@acme.test'), remember: '1' });
    assert.equal(done.statusCode, 303, done.body.slice(0, 300));
    assert.equal(done.headers.location, '/profile/security');
  });
});
