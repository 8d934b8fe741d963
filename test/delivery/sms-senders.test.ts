// The SMS providers, driven against a local HTTP server on 127.0.0.1 that checks the
// exact request (path, form fields or JSON, Basic auth, signature) and answers
// success, 4xx or 5xx; then the whole way from a sign-in to the provider and back.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../src/config.js';
import { DevelopmentOutboxSender, DisabledSender, PermanentDeliveryError } from '../../src/delivery/senders.js';
import { chooseSmsSender } from '../../src/delivery/sms-senders.js';
import { TwilioSender } from '../../src/delivery/twilio-sender.js';
import { WebhookSmsSender, webhookSignature } from '../../src/delivery/webhook-sender.js';
import { addUser, setUpAccount, signIn, signInToken, startTestApp, type TestApp } from '../support/harness.js';
import { tickBeforeTexts } from '../support/sms.js';

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A stand-in provider: records each request and answers what `next` says. */
class FakeProvider {
  readonly received: Received[] = [];
  answers: { status: number; body: string }[] = [];
  private server: Server | null = null;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        this.received.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
        const answer = this.answers.shift() ?? { status: 201, body: '{"sid":"SM0123","status":"queued"}' };
        response.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

const TWILIO = { accountSid: 'AC0123456789abcdef0123456789abcdef', authToken: 'twilio-auth-token-secret', from: '+15005550006', messagingServiceSid: null };
const PAYLOAD = { to: '+447400123456', subject: '', text: '123456 is your Tessera (Acme Support) verification code.\n\n@tessera.example #123456' };

function basicAuth(headers: IncomingMessage['headers']): string {
  const match = /^Basic (.+)$/.exec(String(headers.authorization ?? ''));
  return match ? Buffer.from(match[1]!, 'base64').toString('utf8') : '';
}

describe('Twilio sender (Messages REST API)', () => {
  const provider = new FakeProvider();
  before(() => provider.start());
  after(() => provider.stop());

  it('POSTs To, Body and From as a form to /2010-04-01/Accounts/<sid>/Messages.json with Basic auth; 201 is success', async () => {
    await new TwilioSender({ ...TWILIO, apiBaseUrl: provider.url }).send(PAYLOAD, { messageId: 'm1' });
    const request = provider.received.at(-1)!;
    assert.equal(request.method, 'POST');
    assert.equal(request.url, `/2010-04-01/Accounts/${TWILIO.accountSid}/Messages.json`);
    assert.equal(request.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(basicAuth(request.headers), `${TWILIO.accountSid}:${TWILIO.authToken}`);
    const form = new URLSearchParams(request.body);
    assert.deepEqual([...form.keys()].sort(), ['Body', 'From', 'To']);
    assert.equal(form.get('To'), PAYLOAD.to);
    assert.equal(form.get('Body'), PAYLOAD.text);
    assert.equal(form.get('From'), TWILIO.from);
  });

  it('sends MessagingServiceSid instead of From when a Messaging Service is configured', async () => {
    await new TwilioSender({ ...TWILIO, from: null, messagingServiceSid: 'MG0123456789abcdef0123456789abcdef', apiBaseUrl: `${provider.url}/` }).send(PAYLOAD);
    const form = new URLSearchParams(provider.received.at(-1)!.body);
    assert.deepEqual([...form.keys()].sort(), ['Body', 'MessagingServiceSid', 'To']);
    assert.equal(form.get('MessagingServiceSid'), 'MG0123456789abcdef0123456789abcdef');
    assert.equal(provider.received.at(-1)!.url, `/2010-04-01/Accounts/${TWILIO.accountSid}/Messages.json`);
  });

  it('a 4xx is a permanent failure (Twilio error code, never the number); 5xx and 429 are retried', async () => {
    const sender = new TwilioSender({ ...TWILIO, apiBaseUrl: provider.url });
    provider.answers.push({
      status: 400,
      body: JSON.stringify({ code: 21211, message: "The 'To' number +447400123456 is not a valid phone number.", status: 400 }),
    });
    await assert.rejects(sender.send(PAYLOAD), (error: Error) => {
      assert.ok(error instanceof PermanentDeliveryError);
      assert.match(error.message, /HTTP 400.*21211/);
      assert.ok(!error.message.includes('7400123456'), 'no phone number in an error (it is logged)');
      return true;
    });
    provider.answers.push({ status: 401, body: '{"code":20003,"message":"Authenticate"}' });
    await assert.rejects(sender.send(PAYLOAD), PermanentDeliveryError);
    for (const status of [500, 503, 429]) {
      provider.answers.push({ status, body: 'oops' });
      await assert.rejects(
        sender.send(PAYLOAD),
        (error: Error) => !(error instanceof PermanentDeliveryError) && new RegExp(`HTTP ${status}`).test(error.message),
      );
    }
  });

  it('an unreachable API is retried, and the error holds no URL or credentials', async () => {
    const sender = new TwilioSender({ ...TWILIO, apiBaseUrl: 'http://127.0.0.1:1' });
    await assert.rejects(
      sender.send(PAYLOAD),
      (error: Error) => !(error instanceof PermanentDeliveryError) && /could not be reached/.test(error.message) && !error.message.includes(TWILIO.authToken),
    );
  });
});

describe('webhook sender (signed JSON)', () => {
  const provider = new FakeProvider();
  const secret = 'webhook-shared-secret-0123456789';
  before(() => provider.start());
  after(() => provider.stop());

  it('POSTs JSON {id, to, body} with a timestamp and an HMAC-SHA-256 signature of "<timestamp>.<raw body>"', async () => {
    const now = Date.UTC(2026, 10, 28, 12, 0, 0);
    provider.answers.push({ status: 204, body: '' });
    await new WebhookSmsSender({ url: `${provider.url}/sms/send?tenant=acme`, secret }, () => now).send(PAYLOAD, { messageId: 'msg-1' });
    const request = provider.received.at(-1)!;
    assert.equal(request.method, 'POST');
    assert.equal(request.url, '/sms/send?tenant=acme');
    assert.equal(request.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(request.body), { id: 'msg-1', to: PAYLOAD.to, body: PAYLOAD.text });
    const timestamp = String(request.headers['x-tessera-timestamp']);
    assert.equal(timestamp, String(now / 1000));
    // What a gateway does: recompute over the raw bytes and compare in constant time.
    const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(`${timestamp}.${request.body}`).digest('hex')}`);
    const given = Buffer.from(String(request.headers['x-tessera-signature']));
    assert.ok(given.length === expected.length && timingSafeEqual(given, expected), 'the signature verifies');
    assert.equal(webhookSignature(secret, timestamp, request.body), given.toString());
    // The timestamp is signed: replaying the body with a fresher timestamp breaks it.
    assert.notEqual(webhookSignature(secret, String(now / 1000 + 600), request.body), given.toString());
    assert.notEqual(webhookSignature('another secret', timestamp, request.body), given.toString());
  });

  it('4xx is permanent, 5xx is retried', async () => {
    const sender = new WebhookSmsSender({ url: provider.url, secret });
    provider.answers.push({ status: 422, body: '{}' });
    await assert.rejects(sender.send(PAYLOAD), PermanentDeliveryError);
    provider.answers.push({ status: 502, body: '{}' });
    await assert.rejects(sender.send(PAYLOAD), (error: Error) => !(error instanceof PermanentDeliveryError) && /HTTP 502/.test(error.message));
  });
});

describe('the SMS sender chosen from configuration', () => {
  it('outbox in development, off in production, Twilio or the webhook when configured', () => {
    const base = { TESSERA_DATA_DIR: '/tmp/tessera-unused' };
    assert.ok(chooseSmsSender(loadConfig(base)) instanceof DevelopmentOutboxSender);
    assert.ok(chooseSmsSender(loadConfig({ ...base, TESSERA_SMS_PROVIDER: 'off' })) instanceof DisabledSender);
    const twilio = loadConfig({
      ...base,
      TESSERA_SMS_PROVIDER: 'twilio',
      TESSERA_TWILIO_ACCOUNT_SID: 'AC1',
      TESSERA_TWILIO_AUTH_TOKEN: 't',
      TESSERA_TWILIO_FROM: '+15005550006',
    });
    assert.ok(chooseSmsSender(twilio) instanceof TwilioSender);
    const webhook = loadConfig({
      ...base,
      TESSERA_SMS_PROVIDER: 'webhook',
      TESSERA_SMS_WEBHOOK_URL: 'https://gateway.example/sms',
      TESSERA_SMS_WEBHOOK_SECRET: 's',
    });
    assert.ok(chooseSmsSender(webhook) instanceof WebhookSmsSender);
    assert.throws(() => loadConfig({ ...base, TESSERA_SMS_DAILY_BUDGET: 'lots' }), /TESSERA_SMS_DAILY_BUDGET/);
    assert.equal(loadConfig(base).smsDailyBudget, 10000);
  });
});

describe('from sign-in to Twilio and back (TESSERA_SMS_PROVIDER=twilio, local API)', () => {
  const provider = new FakeProvider();
  let app: TestApp;
  before(async () => {
    await provider.start();
    app = tickBeforeTexts(
      await startTestApp({
        env: {
          TESSERA_SMS_PROVIDER: 'twilio',
          TESSERA_TWILIO_ACCOUNT_SID: TWILIO.accountSid,
          TESSERA_TWILIO_AUTH_TOKEN: TWILIO.authToken,
          TESSERA_TWILIO_FROM: TWILIO.from,
          TESSERA_TWILIO_API_URL: provider.url,
        },
      }),
    );
    await setUpAccount(app);
  });
  after(async () => {
    await app?.close();
    await provider.stop();
  });

  const lastTextedCode = () =>
    /^(\d{6}) is your Tessera \(Acme Support\) verification code\.\n\n@localhost #\1$/.exec(
      new URLSearchParams(provider.received.at(-1)!.body).get('Body') ?? '',
    )?.[1];

  it('enrols and signs in with codes delivered through the worker; 5xx is retried; the payload is erased once sent', async () => {
    await addUser(app, { account: 'acme', email: 'tw@acme.test' });
    const token = await signInToken(app, { account: 'acme', email: 'tw@acme.test' });
    assert.equal((await app.api('POST', '/api/v1/me/two-factor/sms', { token, body: { phone: '+44 7400 123456' } })).statusCode, 200);
    assert.equal(provider.received.length, 0, 'nothing leaves before the worker runs');
    await app.runtime.worker.drain();
    assert.equal(provider.received.length, 1);
    assert.equal(new URLSearchParams(provider.received[0]!.body).get('To'), '+447400123456');
    const enrolCode = lastTextedCode();
    assert.ok(enrolCode);
    assert.equal((await app.api('GET', '/api/v1/me/two-factor/sms', { token })).json().pending.delivery, 'sent');
    assert.equal((await app.outbox()).filter((m) => m.channel === 'sms').length, 0, 'a sent text keeps neither number nor code');
    assert.equal((await app.api('POST', '/api/v1/me/two-factor/sms/verify', { token, body: { code: enrolCode } })).statusCode, 200);

    const challenge = (await signIn(app, { account: 'acme', email: 'tw@acme.test' })).json().challenge_token;
    provider.answers.push({ status: 503, body: '{"code":20429,"message":"Too many requests"}' });
    assert.equal((await app.api('POST', '/api/v1/sign-in/sms', { body: { challenge_token: challenge } })).statusCode, 200);
    await app.runtime.worker.drain();
    assert.equal((await app.api('POST', '/api/v1/sign-in/sms/status', { body: { challenge_token: challenge } })).json().delivery, 'retrying');
    app.clock.advance(1000);
    await app.runtime.worker.drain();
    assert.equal(provider.received.length, 3, 'tried again after the backoff');
    assert.equal((await app.api('POST', '/api/v1/sign-in/sms/status', { body: { challenge_token: challenge } })).json().delivery, 'sent');
    const done = await app.api('POST', '/api/v1/sign-in/two-factor', { body: { challenge_token: challenge, method: 'sms', code: lastTextedCode() } });
    assert.equal(done.json().status, 'signed_in', done.body);
    assert.ok(!app.logs.join('\n').includes('7400123456'), 'no number in the logs, even of the failed attempt');
  });

  it('a refused text (Twilio 400) fails at once and the person is told to use the app or a recovery code', async () => {
    const challenge = (await signIn(app, { account: 'acme', email: 'tw@acme.test' })).json().challenge_token;
    provider.answers.push({ status: 400, body: '{"code":21610,"message":"Attempt to send to unsubscribed recipient"}' });
    await app.api('POST', '/api/v1/sign-in/sms', { body: { challenge_token: challenge } });
    await app.runtime.worker.drain();
    assert.equal((await app.api('POST', '/api/v1/sign-in/sms/status', { body: { challenge_token: challenge } })).json().delivery, 'failed');
    const answer = await app.api('POST', '/api/v1/sign-in/two-factor', { body: { challenge_token: challenge, method: 'sms', code: '123456' } });
    assert.equal(answer.statusCode, 409);
    assert.equal(answer.json().error.message, 'We could not send a text. Try the app or a recovery code.');
  });
});
