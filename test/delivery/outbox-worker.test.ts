// The outbox worker: one message's failure never holds back the others nor crashes
// the process; a hanging sender is given up on; retries back off and end; and the
// sender each mode and configuration gets.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { OutboxWorker, backoffInMilliseconds, type DeliveryFailure } from '../../src/delivery/outbox-worker.js';
import { DevelopmentOutboxSender, DisabledSender, PermanentDeliveryError, type Delivery, type Sender } from '../../src/delivery/senders.js';
import { SmtpSender } from '../../src/delivery/smtp-sender.js';
import { chooseSenders } from '../../src/runtime.js';
import { migrateToLatest, openStore } from '../../src/store/database.js';
import { enqueueMessage, type OutboxPayload } from '../../src/store/outbox.js';
import { addUser, createExtraAccount, startTestApp, type TestApp } from '../support/harness.js';

const PRODUCTION_ENV = {
  TESSERA_MODE: 'production',
  TESSERA_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
  TESSERA_HMAC_KEY: randomBytes(32).toString('base64'),
};

/** A sender that records what it is given, failing for some recipients. */
class RecordingSender implements Sender {
  readonly keepsPayload = false;
  readonly sent: string[] = [];
  readonly signals: AbortSignal[] = [];
  constructor(private readonly behaviour: (payload: OutboxPayload) => 'ok' | 'fail' | 'permanent' | 'hang' = () => 'ok') {}
  async send(payload: OutboxPayload, delivery?: Delivery): Promise<void> {
    if (delivery?.signal) this.signals.push(delivery.signal);
    switch (this.behaviour(payload)) {
      case 'ok':
        this.sent.push(payload.to);
        return;
      case 'fail':
        throw new Error(`451 try later for ${payload.to}`);
      case 'permanent':
        throw new PermanentDeliveryError('cannot ever send this');
      case 'hang':
        return new Promise(() => {});
    }
  }
}

describe('outbox worker', { timeout: 60_000 }, () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(async () => app?.close());

  async function enqueue(to: string): Promise<string> {
    return enqueueMessage(
      app.runtime.deps.db,
      app.runtime.keys,
      { accountId: null, userId: null, channel: 'email', purpose: 'test', payload: { to, subject: 's', text: 't' } },
      app.clock.now(),
    );
  }
  const row = (id: string) => app.runtime.deps.db.selectFrom('outbox_messages').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  function worker(sender: Sender, extra: { sendTimeoutInMilliseconds?: number; onDeliveryFailed?: (failure: DeliveryFailure) => void } = {}): OutboxWorker {
    return new OutboxWorker({
      db: app.runtime.deps.db,
      keys: app.runtime.keys,
      now: app.clock.now,
      senders: { email: sender, sms: new DevelopmentOutboxSender(), backchannel: new DevelopmentOutboxSender() },
      ...extra,
    });
  }

  it('a failing message is retried later; the messages after it go out in the same drain', async () => {
    const failures: DeliveryFailure[] = [];
    const sender = new RecordingSender((payload) => (payload.to === 'fails@acme.test' ? 'fail' : 'ok'));
    const first = await enqueue('fails@acme.test');
    app.clock.advance(1);
    const second = await enqueue('fine@acme.test');
    assert.equal(await worker(sender, { onDeliveryFailed: (failure) => failures.push(failure) }).drain(), 1);
    assert.deepEqual(sender.sent, ['fine@acme.test']);
    const failed = await row(first);
    assert.equal(failed.status, 'pending');
    assert.equal(failed.attempts, 1);
    assert.match(failed.last_error ?? '', /451 try later/);
    assert.equal((await row(second)).status, 'sent');
    assert.equal(failures.length, 1);
    assert.deepEqual(
      Object.keys(failures[0]!).sort(),
      ['attempts', 'channel', 'error', 'gaveUp', 'id', 'nextAttemptAt', 'purpose'],
      'no content in what is logged',
    );
    assert.equal(failures[0]!.gaveUp, false);
    assert.equal(failures[0]!.nextAttemptAt, app.clock.now() + 1000);
  });

  it('a text waiting behind a backlog of mail goes out first', async () => {
    const mailSender = new RecordingSender();
    const smsSent: string[] = [];
    for (let i = 0; i < 5; i += 1) await enqueue(`backlog-${i}@acme.test`);
    app.clock.advance(1000);
    await enqueueMessage(
      app.runtime.deps.db,
      app.runtime.keys,
      { accountId: null, userId: null, channel: 'sms', purpose: 'sms_sign_in_code', payload: { to: '+447700900123', subject: '', text: 'code' } },
      app.clock.now(),
    );
    const order: string[] = [];
    const sms: Sender = {
      keepsPayload: false,
      async send(payload) {
        smsSent.push(payload.to);
        order.push('sms');
      },
    };
    const mail: Sender = {
      keepsPayload: false,
      async send(payload) {
        await mailSender.send(payload);
        order.push('email');
      },
    };
    await new OutboxWorker({
      db: app.runtime.deps.db,
      keys: app.runtime.keys,
      now: app.clock.now,
      senders: { email: mail, sms, backchannel: new DevelopmentOutboxSender() },
    }).drain();
    assert.deepEqual(smsSent, ['+447700900123']);
    assert.equal(order[0], 'sms', order.join(','));
  });

  it('backs off exponentially up to 10 minutes, and gives up after 20 attempts', async () => {
    assert.deepEqual([1, 2, 3, 4, 10, 11, 19].map(backoffInMilliseconds), [1000, 2000, 4000, 8000, 512_000, 600_000, 600_000]);
    const id = await enqueue('never@acme.test');
    await app.runtime.deps.db.updateTable('outbox_messages').set({ attempts: 18 }).where('id', '=', id).execute();
    const failing = worker(new RecordingSender(() => 'fail'));
    await failing.drain();
    assert.equal((await row(id)).status, 'pending', 'attempt 19 is not the last');
    app.clock.advance(backoffInMilliseconds(19));
    await failing.drain();
    const gaveUp = await row(id);
    assert.equal(gaveUp.attempts, 20);
    assert.equal(gaveUp.status, 'failed');
    app.clock.advance(60 * 60_000);
    await failing.drain();
    assert.equal((await row(id)).attempts, 20, 'a failed message is not tried again');
  });

  it('a permanent failure is marked failed at once', async () => {
    const id = await enqueue('permanent@acme.test');
    await worker(new RecordingSender(() => 'permanent')).drain();
    const failed = await row(id);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.attempts, 1);
    assert.equal(failed.last_error, 'cannot ever send this');
  });

  it('a sender that never answers is given up on (and aborted) within the send timeout, and tried again later', async () => {
    const sender = new RecordingSender((payload) => (payload.to === 'hangs@acme.test' ? 'hang' : 'ok'));
    const id = await enqueue('hangs@acme.test');
    app.clock.advance(1);
    await enqueue('next@acme.test');
    const started = Date.now();
    assert.equal(await worker(sender, { sendTimeoutInMilliseconds: 200 }).drain(), 1);
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 150 && elapsed < 2000, `drain took ${elapsed} ms`);
    assert.deepEqual(sender.sent, ['next@acme.test']);
    assert.ok(sender.signals[0]!.aborted, 'the attempt was aborted');
    const waiting = await row(id);
    assert.equal(waiting.status, 'pending');
    assert.equal(waiting.attempts, 1);
    assert.match(waiting.last_error ?? '', /no answer within 200 ms/);
  });

  it('a logger that throws changes nothing', async () => {
    const id = await enqueue('loud@acme.test');
    const noisy = worker(new RecordingSender(() => 'fail'), {
      onDeliveryFailed: () => {
        throw new Error('logger broke');
      },
    });
    assert.equal(await noisy.drain(), 0);
    assert.equal((await row(id)).attempts, 1);
  });

  it('on its timer, it delivers new messages by itself', async () => {
    const sender = new RecordingSender();
    const timed = new OutboxWorker({
      db: app.runtime.deps.db,
      keys: app.runtime.keys,
      now: app.clock.now,
      senders: { email: sender, sms: new DevelopmentOutboxSender(), backchannel: new DevelopmentOutboxSender() },
      intervalInMilliseconds: 20,
    });
    app.clock.advance(24 * 60 * 60_000); // everything earlier is due or done
    timed.start();
    try {
      await enqueue('timer@acme.test');
      const deadline = Date.now() + 5000;
      while (!sender.sent.includes('timer@acme.test') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.ok(sender.sent.includes('timer@acme.test'));
    } finally {
      await timed.stop();
    }
  });
});

describe('outbox worker with its database gone', { timeout: 30_000 }, () => {
  it('reports the error on every tick and keeps the process alive', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-worker-'));
    const store = openStore(`sqlite:${join(dir, 'gone.db')}`);
    await migrateToLatest(store.db, store.dialect);
    const app = await startTestApp();
    const errors: unknown[] = [];
    const timed = new OutboxWorker({
      db: store.db,
      keys: app.runtime.keys,
      now: Date.now,
      senders: { email: new DevelopmentOutboxSender(), sms: new DevelopmentOutboxSender(), backchannel: new DevelopmentOutboxSender() },
      intervalInMilliseconds: 10,
      onError: (error) => errors.push(error),
    });
    try {
      await store.close();
      timed.start();
      const deadline = Date.now() + 5000;
      while (errors.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.ok(errors.length >= 3, `errors reported: ${errors.length}`);
    } finally {
      await timed.stop();
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('which sender email gets', () => {
  const smtp = { TESSERA_SMTP_URL: 'smtp://127.0.0.1:2525' };
  it('SMTP whenever it is configured, in development as in production', () => {
    assert.ok(chooseSenders(loadConfig(smtp, '/tmp')).email instanceof SmtpSender);
    assert.ok(chooseSenders(loadConfig({ ...PRODUCTION_ENV, ...smtp }, '/tmp')).email instanceof SmtpSender);
  });
  it('without SMTP: the development outbox in development, off in production', () => {
    assert.ok(chooseSenders(loadConfig({}, '/tmp')).email instanceof DevelopmentOutboxSender);
    assert.ok(chooseSenders(loadConfig(PRODUCTION_ENV, '/tmp')).email instanceof DisabledSender);
  });
});

describe('production without SMTP', { timeout: 60_000 }, () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp({ env: PRODUCTION_ENV });
    await createExtraAccount(app, 'acme');
    await addUser(app, { account: 'acme', email: 'ann@acme.test' });
  });
  after(async () => app?.close());

  it('the action succeeds; its mail fails at once and stays listed as failed, with the reason', async () => {
    const asked = await app.api('POST', '/api/v1/password-reset', { body: { account: 'acme', email: 'ann@acme.test' } });
    assert.equal(asked.statusCode, 200);
    await app.runtime.deps.background.settle(); // the reset's mail is written after its answer
    assert.equal(await app.runtime.worker.drain(), 0);
    const messages = await app.outbox();
    const mail = messages.find((message) => message.to === 'ann@acme.test');
    assert.ok(mail, 'listed (bin/tessera outbox) for the operator');
    assert.equal(mail.status, 'failed');
    const row = await app.runtime.deps.db.selectFrom('outbox_messages').selectAll().where('id', '=', mail.id).executeTakeFirstOrThrow();
    assert.equal(row.attempts, 1);
    assert.equal(row.last_error, 'email (TESSERA_SMTP_URL) is not configured');
    assert.ok(
      app.logs.some((line) => line.includes('outbox message failed for good') && line.includes(mail.id)),
      'and logged, without its content',
    );
    assert.ok(!app.logs.some((line) => line.includes('/password/reset?token=')), 'no link in the log');
  });
});
