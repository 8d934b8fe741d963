// Webhooks (DESIGN.md, Automation; SECURITY.md: outgoing calls never reach loopback or
// private addresses unless the operator allowed them, redirects included): added with
// the admin's confirmation, the secret shown once and sealed at rest; each event written
// with its action and delivered once, signed so that an independent implementation of
// Standard Webhooks (the `standardwebhooks` package) accepts it; retried after 500s;
// paused after a day of failures (fake clock) with the admins emailed; resumed and
// resent; never sent to a private address or through a redirect.
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WEBHOOK_EVENTS } from '../../src/domain/automation.js';
import { WEBHOOK_DELIVERIES_KEPT_FOR_MILLISECONDS } from '../../src/delivery/webhook-worker.js';
import { newWebhookSecret } from '../../src/crypto/webhook-signatures.js';
import { encryptSecret, sealedPlace } from '../../src/crypto/secret-box.js';
import { Clock, STRONG_PASSWORD, addUser, dialects, expectErrorShape, setUpAccount, startTestApp, type TestApp } from '../support/harness.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const CONFIRM = { method: 'password', code: STRONG_PASSWORD };
const HOUR = 60 * 60 * 1000;

for (const dialect of dialects()) {
  describe(`webhooks on ${dialect.name}`, { skip: dialect.skip }, () => {
    let app: TestApp;
    let ownerToken: string;
    let receiver: WebhookReceiver;
    let receiverUrl: string;
    // Real time: receivers refuse signatures whose timestamp is more than five minutes off.
    const clock = new Clock(Date.now());

    before(async () => {
      receiver = new WebhookReceiver();
      receiverUrl = await receiver.start();
      app = await startTestApp({ dialect: dialect.name, clock, env: { TESSERA_OUTBOUND_ALLOW: '127.0.0.1/32' } });
      ownerToken = (await setUpAccount(app)).token;
      await addUser(app, { account: 'acme', email: 'amos@acme.test', role: 'agent' });
    });
    after(async () => {
      await app?.close();
      await receiver?.close();
    });
    beforeEach(async () => {
      // Each test starts with no webhook and an empty receiver.
      for (const webhook of (await app.api('GET', '/api/v1/admin/webhooks', { token: ownerToken })).json().webhooks) {
        await app.api('DELETE', `/api/v1/admin/webhooks/${webhook.id}`, { token: ownerToken });
      }
      receiver.received.length = 0;
      receiver.answers = [];
      receiver.defaultStatus = 200;
    });

    const addWebhook = async (events: readonly string[], url = `${receiverUrl}/hooks/tessera`) => {
      const response = await app.api('POST', '/api/v1/admin/webhooks', { token: ownerToken, body: { url, events, ...CONFIRM } });
      assert.equal(response.statusCode, 200, response.body);
      const body = response.json();
      receiver.secret = body.secret;
      return body as { id: string; secret: string };
    };
    const personId = async (email: string) =>
      (await app.runtime.deps.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow()).id;
    const deliveries = async (webhookId: string) =>
      (await app.api('GET', `/api/v1/admin/webhooks/${webhookId}/deliveries`, { token: ownerToken })).json().deliveries;

    it('is added with the admin’s confirmation; its secret is shown once and sealed at rest', async () => {
      const unconfirmed = await app.api('POST', '/api/v1/admin/webhooks', { token: ownerToken, body: { url: `${receiverUrl}/x`, events: ['user.suspended'] } });
      assert.equal(unconfirmed.statusCode, 403);
      assert.equal(unconfirmed.json().error.code, 'confirmation_required');
      const made = await addWebhook(['user.suspended']);
      assert.match(made.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
      const listed = (await app.api('GET', '/api/v1/admin/webhooks', { token: ownerToken })).json().webhooks;
      assert.deepEqual(
        listed.map((w: Record<string, unknown>) => ({ url: w.url, events: w.events, status: w.status, secret: w.secret })),
        [{ url: `${receiverUrl}/hooks/tessera`, events: ['user.suspended'], status: 'active', secret: undefined }],
      );
      const row = await app.runtime.deps.db.selectFrom('webhooks').selectAll().where('id', '=', made.id).executeTakeFirstOrThrow();
      assert.ok(!JSON.stringify(row).includes(made.secret.slice('whsec_'.length, 20)), 'no part of the secret in clear');
    });

    it('refuses addresses that are not https, hold credentials, or are private or loopback literals the operator did not allow', async () => {
      for (const url of [
        'http://hooks.example.com/x',
        'https://user:pw@hooks.example.com/x',
        'ftp://hooks.example.com/',
        'https://10.0.0.7/hooks',
        'https://169.254.169.254/latest',
        'https://[::1]/x',
        'https://hooks.example.com/#frag',
        'not a url',
      ]) {
        const response = await app.api('POST', '/api/v1/admin/webhooks', { token: ownerToken, body: { url, events: ['user.suspended'], ...CONFIRM } });
        assert.equal(response.statusCode, 400, `${url}: ${response.body}`);
        expectErrorShape(response.json());
        assert.equal(response.json().error.field, 'url', url);
      }
      const unknownEvent = await app.api('POST', '/api/v1/admin/webhooks', {
        token: ownerToken,
        body: { url: `${receiverUrl}/x`, events: ['user.deleted'], ...CONFIRM },
      });
      assert.equal(unknownEvent.statusCode, 400);
    });

    it('delivers each event once, signed per Standard Webhooks, written with its action, with ids and facts only', async () => {
      const webhook = await addWebhook(WEBHOOK_EVENTS);
      const amos = await personId('amos@acme.test');
      assert.equal((await app.api('POST', '/api/v1/admin/users', { token: ownerToken, body: { email: 'nina@acme.test', role: 'agent' } })).statusCode, 200);
      assert.equal(
        (await app.api('PATCH', `/api/v1/admin/users/${amos}`, { token: ownerToken, body: { role: 'end_user', reason: 'moved to customers', ...CONFIRM } }))
          .statusCode,
        200,
      );
      assert.equal(
        (await app.api('PATCH', `/api/v1/admin/users/${amos}`, { token: ownerToken, body: { suspended: true, reason: 'left the company', ...CONFIRM } }))
          .statusCode,
        200,
      );
      assert.equal((await app.api('PUT', '/api/v1/admin/security-policy', { token: ownerToken, body: { session_days: 10, ...CONFIRM } })).statusCode, 200);
      for (let i = 0; i < 10; i += 1)
        await app.api('POST', '/api/v1/sign-in', { body: { account: 'acme', email: 'amos@acme.test', password: `wrong password ${i}` } });
      const queued = await app.runtime.deps.db.selectFrom('webhook_deliveries').select('event_type').where('webhook_id', '=', webhook.id).execute();
      assert.deepEqual(queued.map((d) => d.event_type).sort(), [
        'security_policy.changed',
        'sign_in.locked',
        'user.invited',
        'user.role_changed',
        'user.suspended',
      ]);

      await app.runtime.webhookWorker.drain();
      assert.equal(receiver.received.length, 5);
      for (const request of receiver.received) {
        assert.ok(request.verified, `signature: ${request.verifyError}`);
        assert.equal(request.headers['content-type'], 'application/json');
        assert.match(String(request.headers['webhook-id']), /^msg_/);
        assert.ok(
          !request.body.includes(STRONG_PASSWORD) && !request.body.includes('wrong password') && !request.body.includes('whsec_'),
          'no secrets or codes',
        );
      }
      const byType = new Map(receiver.received.map((r) => [JSON.parse(r.body).type, JSON.parse(r.body)]));
      const suspended = byType.get('user.suspended');
      assert.equal(suspended.data.user.email, 'amos@acme.test');
      assert.equal(suspended.data.user.id, amos);
      assert.equal(suspended.data.reason, 'left the company');
      assert.equal(suspended.data.actor.user_id, await personId('owner@acme.test'));
      assert.deepEqual(byType.get('user.role_changed').data.details, { from: 'agent', to: 'end_user' });
      assert.equal(byType.get('sign_in.locked').data.user.email, 'amos@acme.test');
      assert.match(suspended.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

      const listed = await deliveries(webhook.id);
      assert.equal(listed.length, 5);
      assert.ok(
        listed.every(
          (d: { status: string; attempts: number; last_response_status: number }) =>
            d.status === 'delivered' && d.attempts === 1 && d.last_response_status === 200,
        ),
      );
      await app.runtime.webhookWorker.drain();
      assert.equal(receiver.received.length, 5, 'nothing goes twice');
    });

    it('sends only the events a webhook chose; a paused one keeps its events and gets them when resumed', async () => {
      const webhook = await addWebhook(['user.suspended']);
      assert.equal((await app.api('POST', '/api/v1/admin/users', { token: ownerToken, body: { email: 'otto@acme.test', role: 'agent' } })).statusCode, 200);
      await app.runtime.webhookWorker.drain();
      assert.equal(receiver.received.length, 0);
      assert.equal((await app.api('PATCH', `/api/v1/admin/webhooks/${webhook.id}`, { token: ownerToken, body: { active: false } })).json().status, 'paused');
      const amos = await personId('amos@acme.test');
      await app.api('PATCH', `/api/v1/admin/users/${amos}`, { token: ownerToken, body: { suspended: false, reason: 'back again', ...CONFIRM } });
      await app.api('PATCH', `/api/v1/admin/users/${amos}`, { token: ownerToken, body: { suspended: true, reason: 'left again', ...CONFIRM } });
      await app.runtime.webhookWorker.drain();
      assert.equal(receiver.received.length, 0, 'nothing goes to a paused webhook');
      const held = await deliveries(webhook.id);
      assert.deepEqual(
        held.map((d: { event: string; status: string }) => [d.event, d.status]),
        [['user.suspended', 'paused']],
      );
      const resumed = await app.api('PATCH', `/api/v1/admin/webhooks/${webhook.id}`, { token: ownerToken, body: { active: true } });
      assert.equal(resumed.json().status, 'active');
      await app.runtime.webhookWorker.drain();
      assert.equal(receiver.received.length, 1, 'what it missed goes once it is resumed');
      assert.equal(JSON.parse(receiver.received[0]!.body).data.reason, 'left again');
    });

    it('keeps a secret rotated meanwhile when another change comes from an older read', async () => {
      const webhook = await addWebhook(['user.invited']);
      const rotated = await app.api('PATCH', `/api/v1/admin/webhooks/${webhook.id}`, { token: ownerToken, body: { rotate_secret: true, ...CONFIRM } });
      assert.equal(rotated.statusCode, 200, rotated.body);
      const newSecret = rotated.json().secret as string;
      assert.match(newSecret, /^whsec_/);
      await app.api('PATCH', `/api/v1/admin/webhooks/${webhook.id}`, { token: ownerToken, body: { events: ['user.invited', 'user.suspended'] } });
      receiver.secret = newSecret;
      await app.api('POST', '/api/v1/admin/users', { token: ownerToken, body: { email: 'rosa@acme.test', role: 'agent' } });
      await app.runtime.webhookWorker.drain();
      assert.equal(receiver.received.length, 1);
      assert.ok(receiver.received[0]!.verified, 'signed with the rotated secret');
    });

    it('retries after 500s with backoff until the receiver takes it', async () => {
      const webhook = await addWebhook(['user.invited']);
      receiver.answers = [500, 503];
      await app.api('POST', '/api/v1/admin/users', { token: ownerToken, body: { email: 'rita@acme.test', role: 'agent' } });
      await app.runtime.webhookWorker.drain();
      let [delivery] = await deliveries(webhook.id);
      assert.deepEqual(
        { status: delivery.status, attempts: delivery.attempts, last: delivery.last_response_status },
        { status: 'pending', attempts: 1, last: 500 },
      );
      assert.equal(new Date(delivery.next_attempt_at).getTime(), clock.now() + 5_000);
      const failing = (await app.api('GET', `/api/v1/admin/webhooks/${webhook.id}`, { token: ownerToken })).json();
      assert.equal(failing.failing_since, new Date(clock.now()).toISOString(), 'a failure starts the run');
      await app.runtime.webhookWorker.drain();
      assert.equal(receiver.received.length, 1, 'not again before its time');
      clock.advance(5_000);
      await app.runtime.webhookWorker.drain();
      [delivery] = await deliveries(webhook.id);
      assert.deepEqual(
        { status: delivery.status, attempts: delivery.attempts, last: delivery.last_response_status },
        { status: 'pending', attempts: 2, last: 503 },
      );
      clock.advance(10_000);
      await app.runtime.webhookWorker.drain();
      [delivery] = await deliveries(webhook.id);
      assert.deepEqual(
        { status: delivery.status, attempts: delivery.attempts, last: delivery.last_response_status },
        { status: 'delivered', attempts: 3, last: 200 },
      );
      const recovered = (await app.api('GET', `/api/v1/admin/webhooks/${webhook.id}`, { token: ownerToken })).json();
      assert.equal(recovered.failing_since, null, 'a good delivery ends it');
      assert.equal(receiver.received.length, 3);
      assert.equal(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size, 1, 'every attempt carries the same webhook-id');
      assert.equal(new Set(receiver.received.map((r) => r.body)).size, 1);
    });

    it('is paused after a day of failures, its admins emailed once; resumed, a delivery is resent', async () => {
      const webhook = await addWebhook(['user.invited']);
      receiver.defaultStatus = 500;
      await app.api('POST', '/api/v1/admin/users', { token: ownerToken, body: { email: 'sam@acme.test', role: 'agent' } });
      await app.runtime.webhookWorker.drain();
      const started = clock.now();
      // Every retry until a day has passed: hourly at most.
      while (clock.now() - started <= 24 * HOUR) {
        clock.advance(HOUR);
        await app.runtime.webhookWorker.drain();
      }
      const state = (await app.api('GET', `/api/v1/admin/webhooks/${webhook.id}`, { token: ownerToken })).json();
      assert.equal(state.status, 'paused');
      const [delivery] = await deliveries(webhook.id);
      assert.equal(delivery.status, 'failed', 'given up after a day');
      assert.ok(delivery.attempts >= 20, `${delivery.attempts} attempts in the day`);
      const mails = (await app.outbox()).filter((m) => m.purpose === 'webhook_paused');
      assert.equal(mails.length, 1, 'the one admin is emailed once');
      assert.equal(mails[0]!.to, 'owner@acme.test');
      assert.ok(mails[0]!.body.includes(receiverUrl), 'the mail names the receiver');
      assert.ok(!mails[0]!.body.includes('/hooks/tessera'), 'but not its path, which may hold a secret');
      const paused = (await app.api('GET', '/api/v1/admin/audit-events?type=webhook_paused', { token: ownerToken })).json().audit_events;
      assert.equal(paused.length, 1);

      const refused = await app.api('POST', `/api/v1/admin/webhooks/${webhook.id}/deliveries/${delivery.id}/resend`, { token: ownerToken });
      assert.equal(refused.statusCode, 400, 'resume first');
      receiver.defaultStatus = 200;
      receiver.received.length = 0;
      clock.time = Date.now();
      const resumed = await app.api('PATCH', `/api/v1/admin/webhooks/${webhook.id}`, { token: ownerToken, body: { active: true } });
      assert.deepEqual({ status: resumed.json().status, failing_since: resumed.json().failing_since }, { status: 'active', failing_since: null });
      const resent = await app.api('POST', `/api/v1/admin/webhooks/${webhook.id}/deliveries/${delivery.id}/resend`, { token: ownerToken });
      assert.equal(resent.statusCode, 200, resent.body);
      await app.runtime.webhookWorker.drain();
      assert.equal(receiver.received.length, 1);
      assert.ok(receiver.received[0]!.verified, receiver.received[0]!.verifyError ?? '');
      assert.equal(receiver.received[0]!.headers['webhook-id'], delivery.webhook_id, 'a resend is the same event');
      assert.equal((await deliveries(webhook.id)).length, 2);
    });

    it('forgets finished deliveries after 30 days, and keeps those still waiting', async () => {
      const webhook = await addWebhook(['user.invited']);
      await app.api('POST', '/api/v1/admin/users', { token: ownerToken, body: { email: 'old@acme.test', role: 'agent' } });
      await app.runtime.webhookWorker.drain();
      receiver.defaultStatus = 500;
      await app.api('POST', '/api/v1/admin/users', { token: ownerToken, body: { email: 'late@acme.test', role: 'agent' } });
      await app.runtime.webhookWorker.drain();
      const rows = () =>
        app.runtime.deps.db.selectFrom('webhook_deliveries').select(['status', 'payload']).where('webhook_id', '=', webhook.id).orderBy('created_at').execute();
      assert.deepEqual(
        // Both made at the same instant (the clock stands still): compared as a set.
        (await rows()).map((row) => row.status).sort(),
        ['delivered', 'pending'],
      );
      const start = clock.now();
      try {
        // Past the 30 days (the owner's session with them: the rows are read directly).
        clock.advance(WEBHOOK_DELIVERIES_KEPT_FOR_MILLISECONDS + 2 * HOUR);
        await app.runtime.webhookWorker.drain();
        const left = await rows();
        assert.equal(left.length, 1, 'the delivered one is forgotten');
        assert.match(left[0]!.payload, /late@acme\.test/, 'the one still being retried was kept (and given up only now)');
      } finally {
        clock.time = start;
        receiver.defaultStatus = 200;
      }
    });

    it('never reaches a private or loopback address the operator did not allow, nor follows a redirect', async () => {
      // A redirect from an allowed receiver to another local server is not followed.
      const target = new WebhookReceiver();
      const targetUrl = await target.start();
      try {
        const webhook = await addWebhook(['user.invited']);
        receiver.answers = [{ status: 307, headers: { location: `${targetUrl}/internal` } }];
        await app.api('POST', '/api/v1/admin/users', { token: ownerToken, body: { email: 'rex@acme.test', role: 'agent' } });
        await app.runtime.webhookWorker.drain();
        const [delivery] = await deliveries(webhook.id);
        assert.equal(delivery.status, 'pending');
        assert.match(delivery.last_error, /redirect/i);
        assert.equal(target.received.length, 0, 'the redirect was not followed');

        // Addresses are checked at each delivery, not only when they are typed: here ones
        // stored before the operator narrowed TESSERA_OUTBOUND_ALLOW (this instance
        // allows 127.0.0.1 only): IPv6 loopback, a private address, and the metadata
        // service written as an IPv4-mapped IPv6 address.
        const db = app.runtime.deps.db;
        const now = clock.now();
        for (const [index, url] of [
          `http://[::1]:${new URL(targetUrl).port}/internal`,
          'https://10.20.30.40/hooks',
          'https://[::ffff:a9fe:a9fe]/latest',
        ].entries()) {
          const id = `stale-${index}`;
          await db
            .insertInto('webhooks')
            .values({
              id,
              account_id: (await db.selectFrom('accounts').select('id').executeTakeFirstOrThrow()).id,
              url,
              events: JSON.stringify(['user.invited']),
              secret_ciphertext: encryptSecret(app.runtime.keys, newWebhookSecret(), sealedPlace('webhooks', 'secret_ciphertext', id)),
              status: 'active',
              failing_since: null,
              created_by_user_id: null,
              created_at: now,
              updated_at: now,
            })
            .execute();
        }
        await app.api('POST', '/api/v1/admin/users', { token: ownerToken, body: { email: 'ria@acme.test', role: 'agent' } });
        await app.runtime.webhookWorker.drain();
        const stale = await db.selectFrom('webhook_deliveries').select(['webhook_id', 'last_error', 'status']).where('webhook_id', 'like', 'stale-%').execute();
        assert.equal(stale.length, 3);
        for (const row of stale) assert.match(String(row.last_error), /refused/, `${row.webhook_id}: ${row.last_error}`);
        assert.equal(target.received.length, 0, 'nothing reached the loopback server');
        await db.deleteFrom('webhook_deliveries').where('webhook_id', 'like', 'stale-%').execute();
        await db.deleteFrom('webhooks').where('id', 'like', 'stale-%').execute();
      } finally {
        await target.close();
      }
    });
  });
}
