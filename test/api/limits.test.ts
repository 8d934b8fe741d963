// Password-guessing limits (DESIGN.md, API; SECURITY.md, "Failed attempts and abuse"):
// per person (a quiet lock: the answer stays that of a wrong password, and the person
// is emailed) and per client address (429 with Retry-After; IPv6 per /64; only
// failures count).
//
// The limit counters live in rate-limiter-flexible's memory store, which keeps time
// with Date.now() and expires keys with setTimeout, not with the app's clock. To test
// the end of a lock, that one test mocks Date and setTimeout (node:test mock timers)
// while it runs (so the limit's key is created and expired in mocked time), and
// advances the app's clock by the same amount.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { STRONG_PASSWORD, addUser, dialects, expectErrorShape, setUpAccount, signIn, startTestApp, type TestApp } from '../support/harness.js';

const FIFTEEN_MINUTES = 15 * 60 * 1000;
const WRONG = 'not the password at all 77';

/** Failed sign-ins from one address, each for a different unknown email so no
 * per-person limit is involved; a few at a time (each costs one argon2id verify). */
async function failFrom(app: TestApp, ip: string, count: number, tag: string): Promise<LightMyRequestResponse[]> {
  const answers: LightMyRequestResponse[] = [];
  for (let start = 0; start < count; start += 10) {
    const batch = Array.from({ length: Math.min(10, count - start) }, (_, i) =>
      signIn(app, { account: 'acme', email: `ghost-${tag}-${start + i}@acme.test`, password: WRONG, ip }),
    );
    answers.push(...(await Promise.all(batch)));
  }
  return answers;
}

function assertRateLimited(response: LightMyRequestResponse): number {
  assert.equal(response.statusCode, 429, response.body);
  const body = response.json() as { error: { code: string; message: string; retry_after_seconds?: number } };
  expectErrorShape(body);
  assert.equal(body.error.code, 'rate_limited');
  const seconds = body.error.retry_after_seconds ?? -1;
  assert.ok(Number.isInteger(seconds) && seconds > 0 && seconds <= 15 * 60, `retry_after_seconds ${seconds}`);
  assert.equal(response.headers['retry-after'], String(seconds));
  assert.match(body.error.message, /try again in \d+ (minute|second)s?/i);
  return seconds;
}

for (const dialect of dialects()) {
  describe(`password-guessing limits on ${dialect.name}`, { skip: dialect.skip }, () => {
    let app: TestApp;

    before(async () => {
      app = await startTestApp({ dialect: dialect.name });
      await setUpAccount(app);
      await addUser(app, { account: 'acme', email: 'target@acme.test' });
      await addUser(app, { account: 'acme', email: 'bystander@acme.test' });
    });
    after(async () => app?.close());

    /** Ten wrong passwords for one person, from one address; returns the first answer. */
    async function lockOut(email: string, ip: string): Promise<LightMyRequestResponse> {
      const first = await signIn(app, { account: 'acme', email, password: WRONG, ip });
      assert.equal(first.statusCode, 401);
      for (let attempt = 2; attempt <= 10; attempt += 1) {
        const response = await signIn(app, { account: 'acme', email, password: `${WRONG} ${attempt}`, ip });
        assert.equal(response.statusCode, 401, `attempt ${attempt}`);
        assert.deepEqual(response.json(), first.json());
      }
      return first;
    }

    const lockNotices = async (email: string) => (await app.outbox()).filter((m) => m.to === email && /paused|failed attempts/i.test(m.subject));

    it('10 wrong passwords lock the person quietly: the right one then answers exactly like a wrong one', async () => {
      const ip = '192.0.2.10';
      const first = await lockOut('target@acme.test', ip);
      const right = await signIn(app, { account: 'acme', email: 'target@acme.test', password: STRONG_PASSWORD, ip });
      assert.equal(right.statusCode, first.statusCode, 'the lock is not revealed by the status');
      assert.deepEqual(right.json(), first.json(), 'nor by the body');
      assert.equal(right.headers['retry-after'], undefined, 'nor by a Retry-After header');
      assert.equal(right.json().error.code, 'invalid_credentials');
      // Same answer from another address: the lock is the person's, not the address's.
      const elsewhere = await signIn(app, { account: 'acme', email: 'target@acme.test', password: STRONG_PASSWORD, ip: '192.0.2.11' });
      assert.deepEqual([elsewhere.statusCode, elsewhere.json()], [first.statusCode, first.json()]);
      // More wrong guesses while locked change nothing either.
      const twelfth = await signIn(app, { account: 'acme', email: 'target@acme.test', password: WRONG, ip });
      assert.deepEqual([twelfth.statusCode, twelfth.json()], [first.statusCode, first.json()]);
      // Others in the account are not affected.
      assert.equal((await signIn(app, { account: 'acme', email: 'bystander@acme.test', ip })).json().status, 'signed_in');
    });

    it('the locked person is emailed exactly once (subject about paused sign-in / failed attempts), and the lock is audited once', async () => {
      const notices = await lockNotices('target@acme.test');
      assert.equal(notices.length, 1, `one "sign-in paused" email, got ${notices.length}`);
      assert.doesNotMatch(notices[0]!.body, new RegExp(WRONG));
      const events = await app.runtime.deps.db.selectFrom('audit_events').select('type').where('type', '=', 'sign_in_locked').execute();
      assert.equal(events.length, 1, 'one sign_in_locked audit event');
    });

    it('the lock ends after 15 minutes (Date and setTimeout mocked for the memory limit store)', async (t) => {
      t.mock.timers.enable({ apis: ['Date', 'setTimeout'], now: Date.now() });
      await addUser(app, { account: 'acme', email: 'patient@acme.test' });
      const ip = '192.0.2.12';
      const first = await lockOut('patient@acme.test', ip);
      const locked = await signIn(app, { account: 'acme', email: 'patient@acme.test', password: STRONG_PASSWORD, ip });
      assert.deepEqual([locked.statusCode, locked.json()], [first.statusCode, first.json()], 'locked');
      t.mock.timers.tick(FIFTEEN_MINUTES - 60_000);
      app.clock.advance(FIFTEEN_MINUTES - 60_000);
      const early = await signIn(app, { account: 'acme', email: 'patient@acme.test', password: STRONG_PASSWORD, ip });
      assert.equal(early.statusCode, 401, 'still locked after 14 minutes');
      t.mock.timers.tick(61_000);
      app.clock.advance(61_000);
      const later = await signIn(app, { account: 'acme', email: 'patient@acme.test', password: STRONG_PASSWORD, ip });
      assert.equal(later.statusCode, 200, later.body);
      assert.equal(later.json().status, 'signed_in');
      assert.ok((await lockNotices('patient@acme.test')).length <= 1, 'never more than one email for one lock');
    });

    it('only failures count: after 100 failures from one address (successes in between) the next answer is 429 with Retry-After, while another address still gets 401', async () => {
      const ip = '203.0.113.10';
      const failures = await failFrom(app, ip, 99, 'v4');
      assert.deepEqual([...new Set(failures.map((a) => a.statusCode))], [401], 'the first 99 failures answer 401');
      for (let i = 0; i < 5; i += 1) {
        const ok = await signIn(app, { account: 'acme', email: 'bystander@acme.test', ip });
        assert.equal(ok.statusCode, 200, `success ${i + 1} from a busy address: ${ok.body}`);
      }
      // The 100th failure is still an ordinary wrong password: the five successes were not counted...
      const hundredth = await signIn(app, { account: 'acme', email: 'ghost-v4-last@acme.test', password: WRONG, ip });
      assert.equal(hundredth.statusCode, 401, 'successful sign-ins do not count toward the address limit');
      // ...and only now is the address limited, for about 15 minutes.
      const seconds = assertRateLimited(await signIn(app, { account: 'acme', email: 'ghost-next@acme.test', password: WRONG, ip }));
      assert.ok(seconds > 14 * 60, `about 15 minutes to wait, got ${seconds} s`);
      // Past the address limit even the right password is refused, before any check of it.
      assertRateLimited(await signIn(app, { account: 'acme', email: 'bystander@acme.test', ip }));
      const other = await signIn(app, { account: 'acme', email: 'ghost-other@acme.test', password: WRONG, ip: '203.0.113.11' });
      assert.equal(other.statusCode, 401);
      assert.equal(other.json().error.code, 'invalid_credentials');
      assert.equal((await signIn(app, { account: 'acme', email: 'bystander@acme.test', ip: '203.0.113.11' })).json().status, 'signed_in');
    });

    it('IPv6 addresses share the limit per /64, and another /64 does not', async () => {
      const half = await failFrom(app, '2001:db8:1:2::1', 50, 'v6a');
      const otherHalf = await failFrom(app, '2001:db8:1:2:ffff::9', 50, 'v6b');
      assert.deepEqual([...new Set([...half, ...otherHalf].map((a) => a.statusCode))], [401]);
      assertRateLimited(await signIn(app, { account: 'acme', email: 'ghost-v6@acme.test', password: WRONG, ip: '2001:db8:1:2::1' }));
      assertRateLimited(await signIn(app, { account: 'acme', email: 'ghost-v6@acme.test', password: WRONG, ip: '2001:db8:1:2:abcd:ef01:2345:6789' }));
      assertRateLimited(await signIn(app, { account: 'acme', email: 'ghost-v6@acme.test', password: WRONG, ip: '2001:0db8:0001:0002:0000:0000:0000:0002' }));
      const neighbour = await signIn(app, { account: 'acme', email: 'ghost-v6@acme.test', password: WRONG, ip: '2001:db8:1:3::1' });
      assert.equal(neighbour.statusCode, 401, 'a different /64 is not limited');
      assert.equal((await signIn(app, { account: 'acme', email: 'bystander@acme.test', ip: '2001:db8:1:3::1' })).json().status, 'signed_in');
    });
  });
}
