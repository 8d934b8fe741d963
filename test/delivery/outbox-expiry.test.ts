// A message whose code has expired is not sent late; other mail still is.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { enqueueMessage } from '../../src/store/outbox.js';
import { startTestApp } from '../support/harness.js';
import { CountingSmsSender } from '../support/sms.js';

describe('outbox message lifetimes', () => {
  it('drops a texted code or confirmation code older than 10 minutes; an invitation still goes', async () => {
    const sms = new CountingSmsSender();
    const email = new CountingSmsSender();
    const app = await startTestApp({ runtime: { senders: { sms, email } } });
    try {
      const { db, keys } = app.runtime.deps;
      const payload = (to: string) => ({ to, subject: 'x', text: 'x' });
      const code = await enqueueMessage(
        db,
        keys,
        { accountId: null, userId: null, channel: 'sms', purpose: 'sms_sign_in_code', payload: payload('+447400123456') },
        app.clock.now(),
      );
      const confirmation = await enqueueMessage(
        db,
        keys,
        { accountId: null, userId: null, channel: 'email', purpose: 'email_confirmation', payload: payload('a@acme.test') },
        app.clock.now(),
      );
      const invitation = await enqueueMessage(
        db,
        keys,
        { accountId: null, userId: null, channel: 'email', purpose: 'invitation', payload: payload('b@acme.test') },
        app.clock.now(),
      );
      const fresh = await enqueueMessage(
        db,
        keys,
        { accountId: null, userId: null, channel: 'sms', purpose: 'sms_sign_in_code', payload: payload('+447400123457') },
        app.clock.now() + 10 * 60_000,
      );
      app.clock.advance(10 * 60_000 + 1);
      await app.runtime.worker.drain();
      assert.deepEqual(
        sms.received.map((p) => p.to),
        ['+447400123457'],
        'only the code still within its 10 minutes',
      );
      assert.deepEqual(
        email.received.map((p) => p.to),
        ['b@acme.test'],
      );
      const rows = await db.selectFrom('outbox_messages').select(['id', 'status', 'last_error']).execute();
      const byId = new Map(rows.map((row) => [row.id, row]));
      for (const id of [code, confirmation]) {
        assert.equal(byId.get(id)!.status, 'failed');
        assert.match(byId.get(id)!.last_error!, /expired/);
      }
      assert.equal(byId.get(invitation)!.status, 'sent');
      assert.equal(byId.get(fresh)!.status, 'sent');
    } finally {
      await app.close();
    }
  });
});
