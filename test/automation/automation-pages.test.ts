// /admin/automation through app.inject, without JavaScript: an admin makes an API token
// (scopes, expiry, their password as the confirmation) and sees it once; a wrong
// confirmation or no scope keeps the form with an error beside it (never a 500); the
// token works on the API and is revoked from the page; a webhook is added, its secret
// shown once, its deliveries listed, paused, resumed and resent; agents are refused.
// SQLite only: the pages share every query with the API suites, which run on both.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Clock, STRONG_PASSWORD, addUser, setUpAccount, startTestApp, type TestApp } from '../support/harness.js';
import { FormBrowser, csrfOf, pageText } from '../support/form-browser.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

describe('automation pages', () => {
  let app: TestApp;
  let receiver: WebhookReceiver;
  let receiverUrl: string;
  const browser = () => new FormBrowser(app);

  before(async () => {
    receiver = new WebhookReceiver();
    receiverUrl = await receiver.start();
    // Real time: receivers refuse signatures whose timestamp is more than five minutes off.
    app = await startTestApp({ clock: new Clock(Date.now()), env: { TESSERA_OUTBOUND_ALLOW: '127.0.0.1/32' } });
    await setUpAccount(app);
    await addUser(app, { account: 'acme', email: 'amos@acme.test', role: 'agent' });
  });
  after(async () => {
    await app?.close();
    await receiver?.close();
  });

  it('makes an API token with the admin’s password, shows it once, and revokes it', async () => {
    const admin = browser();
    await admin.signIn('owner@acme.test');
    const page = await admin.get('/admin/automation');
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /aria-current="page">Automation</);
    const csrf = csrfOf(page.body);

    const noScope = await admin.post('/admin/api-tokens', { _csrf: csrf, name: 'HR sync', expires_in_days: '30', method: 'password', code: STRONG_PASSWORD });
    assert.equal(noScope.statusCode, 400);
    assert.match(pageText(noScope.body), /Choose at least one scope/);
    assert.match(noScope.body, /value="HR sync"/, 'what was typed stays');

    const wrong = await admin.post('/admin/api-tokens', {
      _csrf: csrf,
      name: 'HR sync',
      'scope:users:read': '1',
      expires_in_days: '30',
      method: 'password',
      code: 'not my password',
    });
    assert.equal(wrong.statusCode, 400);
    assert.match(wrong.body, /aria-invalid="true"/);
    assert.match(wrong.body, /name="scope:users:read" value="1" checked/);

    const made = await admin.post('/admin/api-tokens', {
      _csrf: csrf,
      name: 'HR sync',
      'scope:users:read': '1',
      'scope:audit:read': '1',
      expires_in_days: '30',
      method: 'password',
      code: STRONG_PASSWORD,
    });
    assert.equal(made.statusCode, 200, pageText(made.body).slice(0, 300));
    const token = /value="(tsr_[A-Za-z0-9_-]{65})"/.exec(made.body)?.[1];
    assert.ok(token, 'the token is on the page');
    assert.match(pageText(made.body), /shown this once/);
    assert.match(String(made.headers['cache-control']), /no-store/);
    assert.equal((await app.api('GET', '/api/v1/admin/users', { token })).statusCode, 200);

    const listed = await admin.get('/admin/automation');
    assert.ok(!listed.body.includes(token!), 'the list never shows it again');
    assert.match(pageText(listed.body), /HR sync users:read, audit:read owner@acme.test/);
    const revokeAction = /action="(\/admin\/api-tokens\/[^"]+\/revoke)"/.exec(listed.body)![1]!;
    const revoked = await admin.post(revokeAction, { _csrf: csrfOf(listed.body) });
    assert.equal(revoked.statusCode, 303);
    assert.match(pageText((await admin.get(String(revoked.headers.location))).body), /The token was revoked\..*Revoked/);
    assert.equal((await app.api('GET', '/api/v1/admin/users', { token })).statusCode, 401);
  });

  it('adds a webhook, shows its secret once, lists its deliveries, pauses, resumes and resends', async () => {
    const admin = browser();
    await admin.signIn('owner@acme.test');
    const csrf = csrfOf((await admin.get('/admin/automation')).body);
    const refused = await admin.post('/admin/webhooks', {
      _csrf: csrf,
      url: 'https://10.0.0.9/hook',
      'event:user.invited': '1',
      method: 'password',
      code: STRONG_PASSWORD,
    });
    assert.equal(refused.statusCode, 400);
    assert.match(pageText(refused.body), /Webhooks cannot call a private/);

    const made = await admin.post('/admin/webhooks', {
      _csrf: csrf,
      url: `${receiverUrl}/hook`,
      'event:user.invited': '1',
      method: 'password',
      code: STRONG_PASSWORD,
    });
    assert.equal(made.statusCode, 200, pageText(made.body).slice(0, 300));
    receiver.secret = /value="(whsec_[^"]+)"/.exec(made.body)![1]!;
    const detail = /href="(\/admin\/webhooks\/[^"]+)"/.exec(made.body)![1]!;

    assert.equal(
      (await app.api('POST', '/api/v1/admin/users', { token: await setUpToken(), body: { email: 'nova@acme.test', role: 'agent' } })).statusCode,
      200,
    );
    await app.runtime.webhookWorker.drain();
    assert.equal(receiver.received.length, 1);
    assert.ok(receiver.received[0]!.verified, receiver.received[0]!.verifyError ?? '');

    let page = await admin.get(detail);
    assert.match(pageText(page.body), /user\.invited Delivered 1 200/);
    const pause = await admin.post(`${detail}/pause`, { _csrf: csrfOf(page.body) });
    assert.equal(pause.statusCode, 303);
    page = await admin.get(String(pause.headers.location));
    assert.match(pageText(page.body), /The webhook was paused\..*Paused/);
    const resume = await admin.post(`${detail}/resume`, { _csrf: csrfOf(page.body) });
    page = await admin.get(String(resume.headers.location));
    const resend = /action="([^"]+\/resend)"/.exec(page.body)![1]!;
    assert.equal((await admin.post(resend, { _csrf: csrfOf(page.body) })).statusCode, 303);
    await app.runtime.webhookWorker.drain();
    assert.equal(receiver.received.length, 2);
    assert.equal(receiver.received[1]!.headers['webhook-id'], receiver.received[0]!.headers['webhook-id']);
  });

  it('is for admins only', async () => {
    const agent = browser();
    await agent.signIn('amos@acme.test');
    assert.equal((await agent.get('/admin/automation')).statusCode, 403);
    const csrf = csrfOf((await agent.get('/profile/security')).body);
    assert.equal((await agent.post('/admin/api-tokens', { _csrf: csrf, name: 'x', 'scope:users:read': '1', expires_in_days: '7' })).statusCode, 403);
  });

  /** A session token for the API, as the owner. */
  async function setUpToken(): Promise<string> {
    const response = await app.api('POST', '/api/v1/sign-in', { body: { account: 'acme', email: 'owner@acme.test', password: STRONG_PASSWORD } });
    return response.json().session_token;
  }
});
