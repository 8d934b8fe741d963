// The forced-enrolment email code against guessing (SECURITY.md, failed attempts:
// every emailed or texted code counts on the person's one failure counter, spends its
// per-code tries by a conditional update, and new codes are capped per hour). With 5
// tries a code, a new code every 30 s and no lock, the attacker who had the password
// could guess the code and enrol their own app (~7% a day on PostgreSQL, where parallel
// requests checked 18–34 guesses against one code).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STRONG_PASSWORD, addUser, dialects, setUpAccount, signIn, startTestApp, type TestApp } from '../support/harness.js';

const MINUTE = 60 * 1000;

for (const dialect of dialects()) {
  describe(`email confirmation code against guessing on ${dialect.name}`, { skip: dialect.skip }, () => {
    let app: TestApp;

    before(async () => {
      app = await startTestApp({ dialect: dialect.name });
      const owner = await setUpAccount(app);
      const on = await app.api('PUT', '/api/v1/admin/security-policy', {
        token: owner.token,
        body: { require_two_factor: 'staff', method: 'password', code: STRONG_PASSWORD },
      });
      assert.equal(on.statusCode, 200, on.body);
    });
    after(async () => app?.close());

    /** A new agent, signed in with their password only: a setup-only session. */
    async function setupSession(email: string): Promise<string> {
      await addUser(app, { account: 'acme', email, role: 'agent' });
      const answer = (await signIn(app, { account: 'acme', email })).json();
      assert.equal(answer.status, 'two_factor_setup_required');
      return answer.session_token;
    }

    async function sendCode(token: string): Promise<string> {
      const sent = await app.api('POST', '/api/v1/me/email-confirmation', { token });
      assert.equal(sent.statusCode, 200, sent.body);
      const me = (await app.api('GET', '/api/v1/me', { token })).json();
      const mail = (await app.outbox()).find((m) => m.to === me.email && /confirmation code/i.test(m.subject))!;
      return /\b(\d{6})\b/.exec(mail.body)![1]!;
    }

    const verify = (token: string, code: string) => app.api('POST', '/api/v1/me/email-confirmation/verify', { token, body: { code } });
    const wrongFor = (code: string, i: number) => String((Number(code) + 1 + i) % 1_000_000).padStart(6, '0');

    it("30 parallel wrong guesses spend at most the code's 5 tries; the right code is then refused", async () => {
      const token = await setupSession('parallel@acme.test');
      const code = await sendCode(token);
      const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => verify(token, wrongFor(code, i))));
      assert.ok(
        answers.every((a) => a.statusCode === 400 || a.statusCode === 429),
        answers.map((a) => a.statusCode).join(','),
      );
      const row = await app.runtime.deps.db
        .selectFrom('one_time_codes')
        .select(['attempts', 'used_at'])
        .where('purpose', '=', 'email_confirmation')
        .orderBy('sent_at', 'desc')
        .executeTakeFirstOrThrow();
      assert.equal(row.attempts, 5, 'exactly the 5 tries were spent: the code is void');
      assert.equal(row.used_at, null, 'and was never used');
      const right = await verify(token, code);
      assert.equal(right.statusCode, 400, right.body);
      assert.equal(right.json().error.code, 'invalid_code');
    });

    it("wrong codes count on the person's one failure counter: after 10, even a new right code is refused until the lock ends", async () => {
      const token = await setupSession('locked@acme.test');
      const first = await sendCode(token);
      for (let i = 0; i < 5; i += 1) assert.equal((await verify(token, wrongFor(first, i))).statusCode, 400);
      app.clock.advance(MINUTE);
      const second = await sendCode(token);
      for (let i = 0; i < 4; i += 1) assert.equal((await verify(token, wrongFor(second, i))).statusCode, 400);
      const tenth = await verify(token, wrongFor(second, 4));
      assert.equal(tenth.statusCode, 429, tenth.body);
      assert.equal(tenth.json().error.code, 'two_factor_locked');
      app.clock.advance(MINUTE);
      const third = await sendCode(token);
      const refused = await verify(token, third);
      assert.equal(refused.statusCode, 429, 'the lock blocks the right code too');
      assert.ok(Number(refused.headers['retry-after']) > 0);
      app.clock.advance(15 * MINUTE);
      const fourth = await sendCode(token);
      assert.equal((await verify(token, fourth)).statusCode, 200, 'the lock ends');
    });

    it('at most 5 codes an hour, whatever the cooldown', async () => {
      const token = await setupSession('flood@acme.test');
      for (let i = 0; i < 5; i += 1) {
        await sendCode(token);
        app.clock.advance(MINUTE);
      }
      const sixth = await app.api('POST', '/api/v1/me/email-confirmation', { token });
      assert.equal(sixth.statusCode, 429, sixth.body);
      assert.equal(sixth.json().error.code, 'rate_limited');
      const wait = sixth.json().error.retry_after_seconds as number;
      assert.ok(wait > 50 * 60 && wait <= 55 * 60, `about 55 minutes to wait, got ${wait} s`);
      const again = (await signIn(app, { account: 'acme', email: 'flood@acme.test' })).json().session_token;
      assert.equal((await app.api('POST', '/api/v1/me/email-confirmation', { token: again })).statusCode, 429, 'a new sign-in does not start a new hour');
      app.clock.advance(wait * 1000);
      const later = (await signIn(app, { account: 'acme', email: 'flood@acme.test' })).json().session_token;
      assert.equal((await app.api('POST', '/api/v1/me/email-confirmation', { token: later })).statusCode, 200, 'a new code once the oldest is an hour old');
    });
  });
}
