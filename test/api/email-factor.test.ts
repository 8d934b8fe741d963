// Emailed codes as a second factor (DESIGN.md row 19, "More ways in and factors"),
// through the API and the pages: enrolment by a code sent to the person's address,
// sign-in with one (a replayed code refused, the 30 s cooldown, the quotas of texts),
// confirmation with method "email", and refusal where the account requires security keys.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { addUser, dialects, setUpAccount, signIn, signInToken, startTestApp, type TestApp } from '../support/harness.js';

const SECOND = 1000;

/** The code of the newest mail to an address that carries one. */
async function latestEmailedCode(app: TestApp, email: string): Promise<string> {
  const mail = (await app.outbox()).find((m) => m.channel === 'email' && m.to === email && /Your code is \d{6}\./.test(m.body));
  if (!mail) throw new Error(`no code mailed to ${email}`);
  return /Your code is (\d{6})\./.exec(mail.body)![1]!;
}

async function codeMailsTo(app: TestApp, email: string): Promise<number> {
  return (await app.outbox()).filter((m) => m.channel === 'email' && m.to === email && /Your code is \d{6}\./.test(m.body)).length;
}

async function failureCount(app: TestApp, email: string): Promise<number> {
  const row = await app.runtime.deps.db.selectFrom('users').select('failed_passcode_count').where('email', '=', email).executeTakeFirstOrThrow();
  return row.failed_passcode_count;
}

function otherCode(code: string): string {
  return code === '000000' ? '111111' : '000000';
}

async function enrolEmail(app: TestApp, email: string): Promise<{ token: string; recoveryCodes: string[] }> {
  await addUser(app, { account: 'acme', email });
  const token = await signInToken(app, { account: 'acme', email });
  const started = await app.api('POST', '/api/v1/me/two-factor/email', { token });
  assert.equal(started.statusCode, 200, started.body);
  const verified = await app.api('POST', '/api/v1/me/two-factor/email/verify', { token, body: { code: await latestEmailedCode(app, email) } });
  assert.equal(verified.statusCode, 200, verified.body);
  return { token, recoveryCodes: verified.json().recovery_codes };
}

for (const dialect of dialects()) {
  describe(`emailed codes as a second factor on ${dialect.name}`, { skip: dialect.skip }, () => {
    let app: TestApp;

    before(async () => {
      app = await startTestApp({ dialect: dialect.name });
      // The test clock stands still and the outbox lists mail newest first by time:
      // each request that may mail a code moves it on by 1 ms (as tickBeforeTexts does).
      const api = app.api.bind(app);
      app.api = (method, url, options) => {
        if (method === 'POST' && /\/email(\/send|\/resend)?$/.test(url)) app.clock.advance(1);
        return api(method, url, options);
      };
      await setUpAccount(app);
    });
    after(async () => app?.close());

    it('turns on by a code emailed to the person: never in the answer, a wrong code counts, the right one gives recovery codes and a notification', async () => {
      await addUser(app, { account: 'acme', email: 'eve@acme.test' });
      const token = await signInToken(app, { account: 'acme', email: 'eve@acme.test' });
      const started = await app.api('POST', '/api/v1/me/two-factor/email', { token });
      assert.equal(started.statusCode, 200, started.body);
      assert.deepEqual(Object.keys(started.json()).sort(), ['email', 'expires_at', 'resend_after_seconds', 'status']);
      assert.equal(started.json().email, 'e•••@acme.test');
      const code = await latestEmailedCode(app, 'eve@acme.test');
      assert.ok(!started.body.includes(code));
      const wrong = await app.api('POST', '/api/v1/me/two-factor/email/verify', { token, body: { code: otherCode(code) } });
      assert.equal(wrong.statusCode, 400);
      assert.equal(await failureCount(app, 'eve@acme.test'), 1);
      const verified = await app.api('POST', '/api/v1/me/two-factor/email/verify', { token, body: { code } });
      assert.equal(verified.statusCode, 200, verified.body);
      assert.equal(verified.json().recovery_codes.length, 10);
      const me = (await app.api('GET', '/api/v1/me', { token })).json();
      assert.deepEqual(me.two_factor, { enabled: true, methods: ['email'], preferred: 'email', recovery_codes_left: 10 });
      const mail = (await app.outbox()).find((m) => m.to === 'eve@acme.test' && /Two-factor authentication is on/.test(m.subject));
      assert.ok(mail && /emailed codes/.test(mail.body), 'the person is told, in the factor list words');
      const row = await app.runtime.deps.db.selectFrom('one_time_codes').selectAll().where('purpose', '=', 'email_enrolment').executeTakeFirstOrThrow();
      assert.ok(!JSON.stringify(row).includes(code), 'only an HMAC of the code is stored');
      assert.equal(
        (await app.api('POST', '/api/v1/me/two-factor/email', { token, body: { method: 'recovery_code', code: verified.json().recovery_codes[0] } }))
          .statusCode,
        409,
      );
    });

    it('signs in with an emailed code: shown last, sent only when asked, 30 s between sends, a replayed code refused and counted', async () => {
      const { token } = await enrolEmail(app, 'fay@acme.test');
      const before = await codeMailsTo(app, 'fay@acme.test');
      const challenge = (await signIn(app, { account: 'acme', email: 'fay@acme.test' })).json();
      assert.deepEqual(challenge.methods, ['email', 'recovery_code']);
      assert.equal(await codeMailsTo(app, 'fay@acme.test'), before, 'no mail before one is asked for');
      const noneYet = await app.api('POST', '/api/v1/sign-in/two-factor', {
        body: { challenge_token: challenge.challenge_token, method: 'email', code: '123456' },
      });
      assert.equal(noneYet.statusCode, 400);
      const sent = await app.api('POST', '/api/v1/sign-in/email', { body: { challenge_token: challenge.challenge_token } });
      assert.equal(sent.statusCode, 200, sent.body);
      assert.equal(sent.json().resend_after_seconds, 30);
      const tooSoon = await app.api('POST', '/api/v1/sign-in/email', { body: { challenge_token: challenge.challenge_token } });
      assert.equal(tooSoon.statusCode, 429);
      assert.equal(tooSoon.headers['retry-after'], '30');
      app.clock.advance(30 * SECOND);
      assert.equal((await app.api('POST', '/api/v1/sign-in/email', { body: { challenge_token: challenge.challenge_token } })).statusCode, 200);
      const code = await latestEmailedCode(app, 'fay@acme.test');
      assert.ok(!sent.body.includes(code));
      const done = await app.api('POST', '/api/v1/sign-in/two-factor', { body: { challenge_token: challenge.challenge_token, method: 'email', code } });
      assert.equal(done.json().status, 'signed_in', done.body);

      const again = (await signIn(app, { account: 'acme', email: 'fay@acme.test' })).json();
      const replay = await app.api('POST', '/api/v1/sign-in/two-factor', { body: { challenge_token: again.challenge_token, method: 'email', code } });
      assert.equal(replay.statusCode, 400, 'bound to its challenge: it opens no other sign-in');
      await app.api('POST', '/api/v1/sign-in/email', { body: { challenge_token: again.challenge_token } });
      const fresh = await latestEmailedCode(app, 'fay@acme.test');
      const answers = await Promise.all(
        Array.from({ length: 20 }, () =>
          app.api('POST', '/api/v1/sign-in/two-factor', { body: { challenge_token: again.challenge_token, method: 'email', code: fresh } }),
        ),
      );
      assert.equal(answers.filter((a) => a.statusCode === 200).length, 1, 'one success among parallel uses');
    });

    it('a confirmation with method "email" works once; a wrong one counts on the one failure counter', async () => {
      const { token } = await enrolEmail(app, 'gus@acme.test');
      assert.equal((await app.api('POST', '/api/v1/me/two-factor/email/send', { token })).statusCode, 200);
      const code = await latestEmailedCode(app, 'gus@acme.test');
      const wrong = await app.api('POST', '/api/v1/me/two-factor/recovery-codes', { token, body: { method: 'email', code: otherCode(code) } });
      assert.equal(wrong.statusCode, 400);
      assert.equal(await failureCount(app, 'gus@acme.test'), 1);
      const made = await app.api('POST', '/api/v1/me/two-factor/recovery-codes', { token, body: { method: 'email', code } });
      assert.equal(made.statusCode, 200, made.body);
      const replay = await app.api('POST', '/api/v1/me/two-factor/recovery-codes', { token, body: { method: 'email', code } });
      assert.equal(replay.statusCode, 400, 'single use');
    });

    it('sends within the quotas of texts: past the per-person quota, 429 and no mail', async () => {
      const { token } = await enrolEmail(app, 'hal@acme.test');
      let refused = null;
      for (let i = 0; i < 12 && !refused; i += 1) {
        app.clock.advance(30 * SECOND);
        const answer = await app.api('POST', '/api/v1/me/two-factor/email/send', { token });
        if (answer.statusCode === 429) refused = answer;
        else assert.equal(answer.statusCode, 200, answer.body);
      }
      assert.ok(refused, 'a quota refuses');
      assert.equal(refused.json().error.code, 'rate_limited');
      const before = await codeMailsTo(app, 'hal@acme.test');
      app.clock.advance(30 * SECOND);
      assert.equal((await app.api('POST', '/api/v1/me/two-factor/email/send', { token })).statusCode, 429);
      assert.equal(await codeMailsTo(app, 'hal@acme.test'), before, 'nothing more is mailed');
    });

    it('is refused where the account requires security keys, and a person whose only factor it was is sent to enrolment', async () => {
      await enrolEmail(app, 'ida@acme.test');
      await addUser(app, { account: 'acme', email: 'joe@acme.test' });
      const joe = await signInToken(app, { account: 'acme', email: 'joe@acme.test' });
      await app.runtime.deps.db.updateTable('accounts').set({ require_phishing_resistant_admins: 1 }).where('slug', '=', 'acme').execute();
      try {
        const refused = await app.api('POST', '/api/v1/me/two-factor/email', { token: joe });
        assert.equal(refused.statusCode, 403);
        assert.equal(refused.json().error.code, 'factor_not_allowed');
        const ida = await signIn(app, { account: 'acme', email: 'ida@acme.test' });
        assert.equal(ida.json().status, 'two_factor_setup_required', ida.body);
      } finally {
        await app.runtime.deps.db.updateTable('accounts').set({ require_phishing_resistant_admins: 0 }).where('slug', '=', 'acme').execute();
      }
    });
  });
}
