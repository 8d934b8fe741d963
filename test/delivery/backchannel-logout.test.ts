// Back-channel logout through the outbox, on every dialect: the call is written in the
// caller's transaction (sealed like every payload), and the real worker delivers it to
// an app on 127.0.0.1 (allowed with TESSERA_OUTBOUND_ALLOW) as a form-encoded logout
// token that an independent JWT library accepts; a 5xx is retried with a freshly signed
// token, a 400 fails at once, an address the operator did not allow is never called, and
// without a signer (chooseSenders given none) each logout fails with the reason.
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPair, jwtVerify, SignJWT, decodeProtectedHeader, type CryptoKey, type JWTPayload } from 'jose';
import { backoffInMilliseconds } from '../../src/delivery/outbox-worker.js';
import { BackchannelLogoutSender, UnsignedBackchannelLogoutSender, type SignLogoutToken } from '../../src/delivery/backchannel-logout-sender.js';
import { OutboundClient } from '../../src/delivery/outbound.js';
import { PermanentDeliveryError } from '../../src/delivery/senders.js';
import { BACKCHANNEL_LOGOUT_EVENT, LOGOUT_TOKEN_TYPE, logoutTokenClaims } from '../../src/domain/logout-token.js';
import { loadConfig } from '../../src/config.js';
import { enqueueBackchannelLogout } from '../../src/store/outbox.js';
import { Clock, dialects, startTestApp, type TestApp } from '../support/harness.js';

const ISSUER = 'https://sign-in.acme.test';
const CLIENT_ID = 'grafana-7Qm2';

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

/** An app's back-channel logout endpoint on 127.0.0.1: records each call and answers
 * with the next status queued (200 when none is). */
class LogoutEndpoint {
  readonly received: Received[] = [];
  statuses: number[] = [];
  private server: Server | null = null;
  port = 0;

  get uri(): string {
    return `http://127.0.0.1:${this.port}/oidc/backchannel-logout?tenant=acme`;
  }

  async start(): Promise<void> {
    this.server = createServer((request: IncomingMessage, response: ServerResponse) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        this.received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
        const status = this.statuses.shift() ?? 200;
        response.writeHead(status, { 'cache-control': 'no-store' }).end(status === 400 ? '{"error":"invalid_request"}' : '');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server!.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  /** The logout_token of the last call. */
  lastToken(): string {
    const received = this.received.at(-1);
    assert.ok(received, 'the app was called');
    assert.equal(received.headers['content-type'], 'application/x-www-form-urlencoded');
    const form = new URLSearchParams(received.body);
    assert.deepEqual([...form.keys()], ['logout_token']);
    return form.get('logout_token')!;
  }
}

/** Signs as the OpenID Connect provider will: ES256, typed logout+jwt, at the clock's time. */
async function testSigner(clock: Clock): Promise<{ sign: SignLogoutToken; publicKey: CryptoKey }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const sign: SignLogoutToken = (claims) =>
    new SignJWT(logoutTokenClaims(claims, { issuer: ISSUER, nowInMilliseconds: clock.now(), jti: randomUUID() }) as unknown as JWTPayload)
      .setProtectedHeader({ alg: 'ES256', typ: LOGOUT_TOKEN_TYPE, kid: 'test-key' })
      .sign(privateKey);
  return { sign, publicKey };
}

/** What an app checks (Back-Channel Logout 1.0 §2.6), with a JWT library of its own. */
async function verifyLogoutToken(token: string, publicKey: CryptoKey, clock: Clock): Promise<JWTPayload> {
  const { payload, protectedHeader } = await jwtVerify(token, publicKey, {
    issuer: ISSUER,
    audience: CLIENT_ID,
    typ: LOGOUT_TOKEN_TYPE,
    algorithms: ['ES256'],
    currentDate: new Date(clock.now()),
    requiredClaims: ['iat', 'exp', 'jti', 'events'],
  });
  assert.equal(protectedHeader.typ, 'logout+jwt');
  assert.deepEqual(payload.events, { [BACKCHANNEL_LOGOUT_EVENT]: {} });
  assert.ok(!('nonce' in payload), 'a logout token never carries a nonce (§2.4)');
  assert.equal(typeof payload.jti, 'string');
  assert.ok(payload.jti!.length >= 16);
  assert.ok(payload.exp! > payload.iat! && payload.exp! - payload.iat! <= 120, 'short-lived (§4: at most two minutes)');
  return payload;
}

describe('the back-channel logout sender', { timeout: 30_000 }, () => {
  const endpoint = new LogoutEndpoint();
  const clock = new Clock();
  let signer: { sign: SignLogoutToken; publicKey: CryptoKey };
  before(async () => {
    await endpoint.start();
    signer = await testSigner(clock);
  });
  after(() => endpoint.stop());

  const sender = () =>
    new BackchannelLogoutSender(new OutboundClient({ allowed: loadConfig({ TESSERA_OUTBOUND_ALLOW: '127.0.0.0/8' }).outboundAllow }), signer.sign);

  it('POSTs a form-encoded logout token that a JWT library accepts: aud, sub, sid, events, iat, jti, no nonce', async () => {
    await sender().send({ uri: endpoint.uri, client_id: CLIENT_ID, sub: 'user-41', sid: 'session-9' }, { messageId: 'm1' });
    const payload = await verifyLogoutToken(endpoint.lastToken(), signer.publicKey, clock);
    assert.equal(payload.sub, 'user-41');
    assert.equal(payload.sid, 'session-9');
    assert.equal(payload.aud, CLIENT_ID);
    assert.equal(payload.iat, Math.floor(clock.now() / 1000));
    assert.equal(decodeProtectedHeader(endpoint.lastToken()).alg, 'ES256');

    await sender().send({ uri: endpoint.uri, client_id: CLIENT_ID, sub: 'user-41' }, { messageId: 'm2' });
    assert.ok(!('sid' in (await verifyLogoutToken(endpoint.lastToken(), signer.publicKey, clock))), 'no sid when the call names none');
  });

  it('200 and 204 are done; 400 and other refusals are permanent; 5xx, 408 and 429 are worth retrying', async () => {
    const payload = { uri: endpoint.uri, client_id: CLIENT_ID, sub: 'user-41' };
    for (const status of [200, 204]) {
      endpoint.statuses = [status];
      await sender().send(payload);
    }
    for (const [status, permanent, message] of [
      [400, true, /^app "grafana-7Qm2" \(back-channel logout\) answered HTTP 400 \(the app refused the logout token\)$/],
      [401, true, /answered HTTP 401$/],
      [404, true, /answered HTTP 404$/],
      [500, false, /answered HTTP 500$/],
      [503, false, /answered HTTP 503$/],
      [408, false, /answered HTTP 408$/],
      [429, false, /answered HTTP 429$/],
      [302, true, /answered HTTP 302, a redirect, which is not followed$/],
    ] as const) {
      endpoint.statuses = [status];
      await assert.rejects(sender().send(payload), (error: unknown) => {
        assert.ok(error instanceof Error);
        assert.equal(error instanceof PermanentDeliveryError, permanent, `${status}: ${error.message}`);
        assert.match(error.message, message);
        assert.ok(!error.message.includes('tenant=acme'), 'never the query');
        return true;
      });
    }
  });

  it('a signer that fails is retried later; a malformed message is not', async () => {
    const broken = new BackchannelLogoutSender(new OutboundClient({ allowed: [] }), async () => {
      throw new Error('signing keys unavailable');
    });
    await assert.rejects(broken.send({ uri: endpoint.uri, client_id: CLIENT_ID, sub: 'u' }), (error: unknown) => {
      assert.ok(error instanceof Error && !(error instanceof PermanentDeliveryError));
      assert.match(error.message, /the logout token could not be signed \(signing keys unavailable\)/);
      return true;
    });
    await assert.rejects(sender().send({ uri: endpoint.uri } as never), PermanentDeliveryError);
    await assert.rejects(new UnsignedBackchannelLogoutSender().send(), /OpenID Connect signing is not set up/);
  });
});

for (const dialect of dialects()) {
  describe(`back-channel logout through the outbox on ${dialect.name}`, { skip: dialect.skip, timeout: 60_000 }, () => {
    const endpoint = new LogoutEndpoint();
    const clock = new Clock();
    let signer: { sign: SignLogoutToken; publicKey: CryptoKey };
    let app: TestApp;
    before(async () => {
      await endpoint.start();
      signer = await testSigner(clock);
      app = await startTestApp({ dialect: dialect.name, clock, env: { TESSERA_OUTBOUND_ALLOW: '127.0.0.0/8' }, runtime: { signLogoutToken: signer.sign } });
    });
    after(async () => {
      await app?.close();
      await endpoint.stop();
    });
    beforeEach(() => {
      endpoint.statuses = [];
      clock.advance(60 * 60_000); // every earlier message due or done
    });

    const enqueue = (uri = endpoint.uri, sid?: string) =>
      app.runtime.deps.db
        .transaction()
        .execute((trx) =>
          enqueueBackchannelLogout(
            trx,
            app.runtime.keys,
            { accountId: 'account-1', userId: 'user-41', uri, clientId: CLIENT_ID, sub: 'user-41', ...(sid ? { sid } : {}) },
            clock.now(),
          ),
        );
    const row = (id: string) => app.runtime.deps.db.selectFrom('outbox_messages').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

    it("is written in the caller's transaction, sealed, and delivered by the worker", async () => {
      await assert.rejects(
        app.runtime.deps.db.transaction().execute(async (trx) => {
          await enqueueBackchannelLogout(
            trx,
            app.runtime.keys,
            { accountId: 'account-1', userId: 'user-41', uri: endpoint.uri, clientId: CLIENT_ID, sub: 'rolled-back' },
            clock.now(),
          );
          throw new Error('the sign-out failed');
        }),
        /the sign-out failed/,
      );
      const id = await enqueue(endpoint.uri, 'session-9');
      const written = await row(id);
      assert.equal(written.channel, 'backchannel');
      assert.equal(written.purpose, 'backchannel_logout');
      assert.equal(written.account_id, 'account-1');
      assert.equal(written.user_id, 'user-41');
      for (const secret of ['user-41', CLIENT_ID, '127.0.0.1', 'session-9']) assert.ok(!written.payload_ciphertext!.includes(secret), `${secret} is sealed`);

      const before = endpoint.received.length;
      assert.equal(await app.runtime.worker.drain(), 1);
      assert.equal(endpoint.received.length, before + 1, 'one call: the rolled-back logout was never written');
      const payload = await verifyLogoutToken(endpoint.lastToken(), signer.publicKey, clock);
      assert.equal(payload.sub, 'user-41');
      assert.equal(payload.sid, 'session-9');
      const sent = await row(id);
      assert.equal(sent.status, 'sent');
      assert.equal(sent.payload_ciphertext, null, 'which app and person are erased once delivered');
    });

    it('a 500 is retried after the backoff, with a freshly signed token; then it is done', async () => {
      endpoint.statuses = [500];
      const id = await enqueue();
      assert.equal(await app.runtime.worker.drain(), 0);
      const first = await verifyLogoutToken(endpoint.lastToken(), signer.publicKey, clock);
      const waiting = await row(id);
      assert.equal(waiting.status, 'pending');
      assert.equal(waiting.attempts, 1);
      assert.equal(waiting.last_error, 'app "grafana-7Qm2" (back-channel logout) answered HTTP 500');
      assert.equal(waiting.next_attempt_at, clock.now() + backoffInMilliseconds(1));

      const calls = endpoint.received.length;
      assert.equal(await app.runtime.worker.drain(), 0, 'not before its time');
      assert.equal(endpoint.received.length, calls);
      clock.advance(backoffInMilliseconds(1));
      assert.equal(await app.runtime.worker.drain(), 1);
      const second = await verifyLogoutToken(endpoint.lastToken(), signer.publicKey, clock);
      assert.ok(second.iat! > first.iat!, 'signed when sent: a fresh iat');
      assert.notEqual(second.jti, first.jti);
      assert.equal((await row(id)).status, 'sent');
    });

    it('a 400 fails at once: the app refused it, and sending it again cannot help', async () => {
      endpoint.statuses = [400];
      const id = await enqueue();
      await app.runtime.worker.drain();
      const failed = await row(id);
      assert.equal(failed.status, 'failed');
      assert.equal(failed.attempts, 1);
      assert.equal(failed.last_error, 'app "grafana-7Qm2" (back-channel logout) answered HTTP 400 (the app refused the logout token)');
      const calls = endpoint.received.length;
      clock.advance(24 * 60 * 60_000);
      await app.runtime.worker.drain();
      assert.equal(endpoint.received.length, calls, 'never tried again');
      assert.ok(
        app.logs.some((line) => line.includes('outbox message failed for good') && line.includes(id) && !line.includes('tenant=acme')),
        'logged, without the address',
      );
    });

    it('an address the operator did not allow is never called, and fails at once', async () => {
      const id = await enqueue(`http://[::1]:${endpoint.port}/oidc/backchannel-logout`);
      const metadata = await enqueue('http://169.254.169.254/latest/meta-data/');
      const calls = endpoint.received.length;
      await app.runtime.worker.drain();
      assert.equal(endpoint.received.length, calls);
      const refused = await row(id);
      assert.equal(refused.status, 'failed');
      assert.match(
        refused.last_error ?? '',
        /^app "grafana-7Qm2" \(back-channel logout\): refused: \[::1\]:\d+ is a loopback address \(RFC 4291\); TESSERA_OUTBOUND_ALLOW does not allow it$/,
      );
      assert.match((await row(metadata)).last_error ?? '', /refused: 169\.254\.169\.254 is a link-local address/);
    });
  });
}
