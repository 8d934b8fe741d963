// Password reset requests (SECURITY.md: no answer or timing tells who exists; limits
// per address and per person). The request answers before the person is looked up:
// known and unknown emails cost the request the same work, one limit hit and one task
// queued for after the answer.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { addUser, dialects, setUpAccount, startTestApp, type TestApp } from '../support/harness.js';

for (const dialect of dialects()) {
  describe(`password reset requests on ${dialect.name}`, { skip: dialect.skip }, () => {
    let app: TestApp;

    before(async () => {
      app = await startTestApp({ dialect: dialect.name });
      await setUpAccount(app);
      await addUser(app, { account: 'acme', email: 'known@acme.test' });
    });
    after(async () => app?.close());

    it('a known and an unknown email get the same answer, and neither is looked up before it', async () => {
      const background = app.runtime.deps.background;
      const queued: (() => Promise<void>)[] = [];
      const run = background.run;
      background.run = (task) => void queued.push(task);
      try {
        const known = await app.api('POST', '/api/v1/password-reset', { body: { account: 'acme', email: 'known@acme.test' } });
        const unknown = await app.api('POST', '/api/v1/password-reset', { body: { account: 'acme', email: 'nobody@acme.test' } });
        const noAccount = await app.api('POST', '/api/v1/password-reset', { body: { account: 'nowhere', email: 'known@acme.test' } });
        for (const answer of [known, unknown, noAccount]) assert.deepEqual([answer.statusCode, answer.json()], [200, { status: 'sent_if_known' }]);
        assert.equal(queued.length, 3, 'each request queued its work for after the answer');
        const before = await app.runtime.deps.db.selectFrom('action_tokens').select('id').where('purpose', '=', 'password_reset').execute();
        assert.equal(before.length, 0, 'nothing was written while answering');
        for (const task of queued) await task();
      } finally {
        background.run = run;
      }
      const mails = (await app.outbox()).filter((m) => /Reset your password/.test(m.subject));
      assert.deepEqual(
        mails.map((m) => m.to),
        ['known@acme.test'],
      );
    });

    it('past 30 requests an hour from one address the answer is 429, whoever is asked for; another address goes on', async () => {
      const ip = '203.0.113.77';
      for (let i = 0; i < 30; i += 1) {
        const answer = await app.api('POST', '/api/v1/password-reset', { ip, body: { account: 'acme', email: `someone-${i}@acme.test` } });
        assert.equal(answer.statusCode, 200, `request ${i + 1}`);
      }
      const limited = await app.api('POST', '/api/v1/password-reset', { ip, body: { account: 'acme', email: 'known@acme.test' } });
      assert.equal(limited.statusCode, 429);
      assert.equal(limited.json().error.code, 'rate_limited');
      assert.ok(Number(limited.headers['retry-after']) > 0);
      assert.equal(
        (await app.api('POST', '/api/v1/password-reset', { ip: '203.0.113.78', body: { account: 'acme', email: 'known@acme.test' } })).statusCode,
        200,
      );
    });

    it('at most 3 reset mails an hour to one person, from any number of addresses', async () => {
      await addUser(app, { account: 'acme', email: 'popular@acme.test' });
      for (let i = 0; i < 6; i += 1) {
        assert.equal((await app.api('POST', '/api/v1/password-reset', { body: { account: 'acme', email: 'popular@acme.test' } })).statusCode, 200);
      }
      const mails = (await app.outbox()).filter((m) => m.to === 'popular@acme.test' && /Reset your password/.test(m.subject));
      assert.equal(mails.length, 3);
    });
  });
}
