// The development outbox page: each message's subject, recipient, time and status,
// the text part readable with our own links clickable, the HTML part as escaped
// source, and nothing a message holds can run script on the page.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { enqueueBackchannelLogout, enqueueMessage } from '../../src/store/outbox.js';
import { setUpAccount, startTestApp, type TestApp } from '../support/harness.js';
import { TestSmtpServer } from '../support/smtp-server.js';

function getPage(app: TestApp): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url: '/dev/outbox' });
}

function assertStrictPage(page: LightMyRequestResponse): void {
  assert.equal(page.statusCode, 200);
  const csp = String(page.headers['content-security-policy']);
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.match(csp, /style-src 'self'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|frame-src|child-src/);
  // The only scripts run are the app's own files (app.js and the WebAuthn helper), beside
  // app.js's messages as a JSON data block, which no browser executes; no inline style or frame on the page.
  assert.deepEqual(page.body.match(/<script[^>]*>/g), [
    '<script type="application/json" id="tessera-messages">',
    '<script src="/assets/webauthn.js" defer>',
    '<script src="/assets/app.js" defer>',
  ]);
  assert.doesNotMatch(page.body, /<[a-z]+[^>]* style=/i);
  assert.doesNotMatch(page.body, /<iframe|<object|<embed/i);
}

describe('development outbox page', { timeout: 60_000 }, () => {
  let app: TestApp;
  let ownerToken: string;

  before(async () => {
    app = await startTestApp();
    ownerToken = (await setUpAccount(app)).token;
  });
  after(async () => app?.close());

  it('shows the subject, recipient, time and status; the text part with its link; the HTML part as source', async () => {
    const invite = await app.api('POST', '/api/v1/admin/users', { token: ownerToken, body: { email: 'nina.new@acme.test', role: 'agent' } });
    assert.equal(invite.statusCode, 200, invite.body);
    const before = await getPage(app);
    assertStrictPage(before);
    assert.match(before.body, /<h2 class="subject">You are invited — Tessera \(Acme Support\)<\/h2>/);
    assert.match(before.body, /to <strong>nina\.new@acme\.test<\/strong>/);
    assert.match(before.body, /<time datetime="2026-11-28T12:00:00\.000Z">2026-11-28 12:00:00 UTC<\/time>/);
    assert.match(before.body, /<span class="badge">Waiting<\/span>/);
    const link = /<a href="(http:\/\/localhost:3000\/invitation\?token=[^"]+)">\1<\/a>/.exec(before.body);
    assert.ok(link, 'the invitation link is clickable');
    assert.match(before.body, /<pre class="message-body">[^<]*invited you to Acme Support/);
    assert.match(
      before.body,
      /<details><summary>HTML part \(source\)<\/summary><pre class="message-body"><code>&lt;!doctype html&gt;&lt;html&gt;&lt;body style=&quot;/,
    );

    await app.runtime.worker.drain();
    const after = await getPage(app);
    assert.match(after.body, /<span class="badge badge-on">Sent<\/span> <time/);
    assert.ok(after.body.includes(link[1]!), 'still readable after the development "send"');
  });

  it('escapes everything a message holds; links go only to this server', async () => {
    await enqueueMessage(
      app.runtime.deps.db,
      app.runtime.keys,
      {
        accountId: null,
        userId: null,
        channel: 'email',
        purpose: 'test',
        payload: {
          to: '"><script>alert(1)</script>@acme.test',
          subject: '<img src=x onerror=alert(2)>',
          text: 'Go to https://evil.example/phish or http://localhost:3000/profile/security. Or "><script>alert(3)</script>',
          html: '<script>alert(4)</script><iframe src="https://evil.example"></iframe>',
        },
      },
      app.clock.now(),
    );
    const page = await getPage(app);
    assertStrictPage(page);
    assert.ok(!page.body.includes('<img src=x'));
    assert.ok(page.body.includes('&lt;img src=x onerror=alert(2)&gt;'));
    assert.ok(page.body.includes('&lt;script&gt;alert(4)&lt;/script&gt;&lt;iframe src=&quot;https://evil.example&quot;&gt;'));
    assert.ok(!page.body.includes('href="https://evil.example'), 'no link off this server');
    assert.ok(
      page.body.includes(
        '<a href="http://localhost:3000/profile/security">http://localhost:3000/profile/security</a>. Or &quot;&gt;&lt;script&gt;alert(3)&lt;/script&gt;',
      ),
    );
  });

  it('lists a back-channel logout call to an app, escaped, with why it failed', async () => {
    await enqueueBackchannelLogout(
      app.runtime.deps.db,
      app.runtime.keys,
      {
        accountId: 'account-1',
        userId: 'user-1',
        uri: 'https://127.0.0.1/logout?x="><script>alert(5)</script>',
        clientId: 'grafana<b>',
        sub: 'user-1',
        sid: 'sid-1',
      },
      app.clock.now(),
    );
    await app.runtime.worker.drain();
    const page = await getPage(app);
    assertStrictPage(page);
    assert.match(page.body, /<h2 class="subject">Back-channel logout<\/h2>/);
    assert.ok(page.body.includes('to <strong>grafana&lt;b&gt;</strong> at https://127.0.0.1/logout?x=&quot;&gt;&lt;script&gt;alert(5)&lt;/script&gt;'));
    assert.match(page.body, /Signs out <code>user-1<\/code>, session <code>sid-1<\/code>\./);
    assert.match(page.body, /<span class="badge badge-off">Failed<\/span> after 1 attempt/);
    // Refused for good: a loopback address, without the operator's allow-list.
    assert.match(page.body, /<p class="error">Last error: app &quot;grafana&lt;b&gt;&quot; \(back-channel logout\): [^<]*refused[^<]*<\/p>/);
    assert.ok(!(await app.outbox()).some((entry) => entry.to.includes('127.0.0.1')), 'not an email or a text');
  });

  it('a message that keeps failing shows its attempts, next try and last error', async () => {
    const failing = await startTestApp({
      runtime: { senders: { email: { keepsPayload: true, send: async () => Promise.reject(new Error('421 <mx.acme.test> busy')) } } },
    });
    try {
      await enqueueMessage(
        failing.runtime.deps.db,
        failing.runtime.keys,
        { accountId: null, userId: null, channel: 'email', purpose: 'test', payload: { to: 'x@acme.test', subject: 'Hello', text: 'Hi' } },
        failing.clock.now(),
      );
      await failing.runtime.worker.drain();
      const page = await getPage(failing);
      assertStrictPage(page);
      assert.match(page.body, /<span class="badge">Retrying<\/span> 1 failed attempt, next <time datetime="2026-11-28T12:00:01\.000Z">/);
      assert.match(page.body, /<p class="error">Last error: 421 &lt;mx\.acme\.test&gt; busy<\/p>/);
      // In German (the browser's language), the error itself as the server said it.
      const german = await failing.inject({ method: 'GET', url: '/dev/outbox', headers: { 'accept-language': 'de' } });
      assert.match(german.body, /<h1>Entwicklungs-Postausgang<\/h1>/);
      assert.match(german.body, /<span class="badge">Neuer Versuch<\/span> 1 fehlgeschlagener Versuch, nächster <time datetime="2026-11-28T12:00:01\.000Z">/);
      assert.match(german.body, /<p class="error">Letzter Fehler: 421 &lt;mx\.acme\.test&gt; busy<\/p>/);
    } finally {
      await failing.close();
    }
  });
});

describe('development outbox page with SMTP configured', { timeout: 60_000 }, () => {
  let smtp: TestSmtpServer;
  let app: TestApp;
  before(async () => {
    smtp = await TestSmtpServer.start();
    app = await startTestApp({ env: { TESSERA_SMTP_URL: smtp.url } });
  });
  after(async () => {
    await app?.close();
    await smtp?.close();
  });

  it('a mail sent by SMTP is listed with its status, its content erased', async () => {
    await setUpAccount(app);
    await enqueueMessage(
      app.runtime.deps.db,
      app.runtime.keys,
      {
        accountId: null,
        userId: null,
        channel: 'email',
        purpose: 'test',
        payload: { to: 'secret.person@acme.test', subject: 'Private', text: 'http://localhost:3000/password/reset?token=abc' },
      },
      app.clock.now(),
    );
    assert.equal(await app.runtime.worker.drain(), 1);
    assert.equal(smtp.mailsTo('secret.person@acme.test').length, 1);
    const page = await getPage(app);
    assertStrictPage(page);
    assert.match(page.body, /Email \(content erased after sending\)/);
    assert.match(page.body, /<span class="badge badge-on">Sent<\/span>/);
    assert.ok(!page.body.includes('secret.person@acme.test') && !page.body.includes('token=abc'));
  });
});
