// Password limits under parallel guesses (SECURITY.md, failed attempts: every limit is
// reserved atomically before argon2id and refunded on success). Checked before the
// hash and counted after it, 90 guesses sent at once for one person all reached
// argon2id and the right one among them signed in. Runs with the limits in memory
// (SQLite, PostgreSQL) and in Redis.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { HashingOverloadedError } from '../../src/crypto/passwords.js';
import { checkPasswordUnderLimits } from '../../src/services/password-attempts.js';
import { userLimitKey } from '../../src/services/sign-in.js';
import {
  REDIS_URL,
  STRONG_PASSWORD,
  addUser,
  dialects,
  setUpAccount,
  signIn,
  signInToken,
  skipReason,
  startTestApp,
  type DialectName,
  type TestApp,
} from '../support/harness.js';

const WRONG = 'not the password at all 77';
const LIMIT = 10;

const backends: { name: string; dialect: DialectName; redis: boolean; skip: string | false }[] = [
  ...dialects().map((d) => ({ name: `${d.name}, limits in memory`, dialect: d.name, redis: false, skip: d.skip })),
  {
    name: 'PostgreSQL, limits in Redis',
    dialect: 'postgres',
    redis: true,
    skip: dialects()[1]!.skip || skipReason(!REDIS_URL, 'Redis suite skipped: TESSERA_TEST_REDIS_URL is not set'),
  },
];

/** Counts the passwords compared with a person's hash (`real`) and with the dummy
 * hash that unknown and locked people cost (`dummy`, which calls verify itself). */
function countHashing(app: TestApp): { real: number; dummy: number } {
  const counts = { real: 0, dummy: 0 };
  const hasher = app.runtime.deps.hasher;
  const verify = hasher.verify.bind(hasher);
  const verifyDummy = hasher.verifyDummy.bind(hasher);
  hasher.verify = (hash, password) => {
    counts.real += 1;
    return verify(hash, password);
  };
  hasher.verifyDummy = (password) => {
    counts.dummy += 1;
    counts.real -= 1;
    return verifyDummy(password);
  };
  return counts;
}

for (const backend of backends) {
  describe(`password limits under parallel guesses (${backend.name})`, { skip: backend.skip }, () => {
    let app: TestApp;
    let counts: { real: number; dummy: number };

    before(async () => {
      app = await startTestApp({ dialect: backend.dialect, redis: backend.redis });
      await setUpAccount(app);
      counts = countHashing(app);
    });
    after(async () => app?.close());

    it('50 parallel sign-ins for one person evaluate at most 10 passwords, and the right one sent among them is refused', async () => {
      await addUser(app, { account: 'acme', email: 'target@acme.test' });
      counts.real = 0;
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          signIn(app, { account: 'acme', email: 'target@acme.test', password: i === 49 ? STRONG_PASSWORD : `${WRONG} ${i}`, ip: `198.51.100.${i + 1}` }),
        ),
      );
      assert.ok(counts.real <= LIMIT, `${counts.real} passwords compared with the person's hash`);
      assert.deepEqual([...new Set(answers.map((a) => a.statusCode))], [401], 'every answer, the right password included, is a wrong-password answer');
      assert.equal(answers[49]!.json().error.code, 'invalid_credentials');
      // The lock holds afterwards too.
      assert.equal((await signIn(app, { account: 'acme', email: 'target@acme.test', ip: '198.51.100.200' })).statusCode, 401);
    });

    it('50 parallel guesses from an address with 90 failures hash at most 10 more passwords; the rest answer 429', async () => {
      const ip = '203.0.113.50';
      for (let start = 0; start < 90; start += 10) {
        await Promise.all(Array.from({ length: 10 }, (_, i) => signIn(app, { account: 'acme', email: `ghost-${start + i}@acme.test`, password: WRONG, ip })));
      }
      counts.real = 0;
      counts.dummy = 0;
      const answers: LightMyRequestResponse[] = await Promise.all(
        Array.from({ length: 50 }, (_, i) => signIn(app, { account: 'acme', email: `burst-${i}@acme.test`, password: WRONG, ip })),
      );
      assert.ok(counts.real + counts.dummy <= 10, `${counts.real + counts.dummy} passwords hashed past the address's 90th failure`);
      assert.ok(answers.filter((a) => a.statusCode === 429).length >= 40, 'at least 40 of the 50 answer 429');
    });

    it('a right password gives its reservation back: successes between failures never lock the person', async () => {
      await addUser(app, { account: 'acme', email: 'busy@acme.test' });
      for (let round = 0; round < 3; round += 1) {
        const wrongs = await Promise.all(
          Array.from({ length: LIMIT - 1 }, (_, i) => signIn(app, { account: 'acme', email: 'busy@acme.test', password: `${WRONG} ${round}.${i}` })),
        );
        assert.deepEqual([...new Set(wrongs.map((a) => a.statusCode))], [401]);
        assert.equal((await signIn(app, { account: 'acme', email: 'busy@acme.test' })).json().status, 'signed_in', `round ${round}`);
      }
    });

    it('50 parallel password changes with wrong current passwords evaluate at most 10, and the right one among them is refused', async () => {
      await addUser(app, { account: 'acme', email: 'changer@acme.test' });
      const token = await signInToken(app, { account: 'acme', email: 'changer@acme.test' });
      counts.real = 0;
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          app.api('PUT', '/api/v1/me/password', {
            token,
            body: { current_password: i === 49 ? STRONG_PASSWORD : `${WRONG} ${i}`, new_password: 'a brand new passphrase 9281' },
          }),
        ),
      );
      assert.ok(counts.real <= LIMIT, `${counts.real} current passwords compared`);
      assert.ok(
        answers.every((a) => a.statusCode === 401 || a.statusCode === 429),
        answers.map((a) => a.statusCode).join(','),
      );
      assert.equal(answers[49]!.statusCode, 429, answers[49]!.body);
      assert.equal(
        (await signIn(app, { account: 'acme', email: 'changer@acme.test', password: 'a brand new passphrase 9281' })).statusCode,
        401,
        'the password did not change',
      );
    });

    it('guessing slowly does not avoid the lock: 9 wrong passwords a window, the 10th in a row still locks', async () => {
      const deps = app.runtime.deps;
      await addUser(app, { account: 'acme', email: 'slow@acme.test' });
      const user = await deps.db.selectFrom('users').select('password_hash').where('email', '=', 'slow@acme.test').executeTakeFirstOrThrow();
      const userKey = userLimitKey('acme', 'slow@acme.test');
      const attempt = (password: string) => checkPasswordUnderLimits(deps, { userKey, addressKey: null, passwordHash: user.password_hash, password });
      for (let window = 0; window < 3; window += 1) {
        for (let i = 0; i < 3; i += 1) assert.deepEqual(await attempt(`${WRONG} ${window}.${i}`), { kind: 'wrong', lockedNow: false });
        // The 15-minute window ends (without waiting for it).
        await deps.limits.passwordFailuresByUser.reset(userKey);
      }
      assert.deepEqual(await attempt(`${WRONG} tenth`), { kind: 'wrong', lockedNow: true }, 'the 10th wrong password in a row locks');
      assert.equal((await attempt(STRONG_PASSWORD)).kind, 'locked');
    });

    it('sign-ins refused because hashing is overloaded (503) count as no failure: the address is not limited afterwards', async () => {
      const hasher = app.runtime.deps.hasher;
      const verifyDummy = hasher.verifyDummy;
      hasher.verifyDummy = async () => {
        throw new HashingOverloadedError('too many password checks waiting');
      };
      try {
        for (let i = 0; i < 120; i += 1) {
          const answer = await signIn(app, { account: 'acme', email: `burst-${i}@acme.test`, password: WRONG, ip: '203.0.113.90' });
          assert.equal(answer.statusCode, 503, answer.body);
        }
      } finally {
        hasher.verifyDummy = verifyDummy;
      }
      const after = await signIn(app, { account: 'acme', email: 'nobody-here@acme.test', password: WRONG, ip: '203.0.113.90' });
      assert.equal(after.statusCode, 401, 'a wrong password, not 429: the 503s were not counted');
    });

    it('each lock lasts twice as long as the one before (15, 30, 60 minutes), and a right password starts again at 15', async () => {
      const deps = app.runtime.deps;
      await addUser(app, { account: 'acme', email: 'escalate@acme.test' });
      const user = await deps.db.selectFrom('users').select('password_hash').where('email', '=', 'escalate@acme.test').executeTakeFirstOrThrow();
      const userKey = userLimitKey('acme', 'escalate@acme.test');
      const attempt = (password: string) => checkPasswordUnderLimits(deps, { userKey, addressKey: null, passwordHash: user.password_hash, password });
      async function lockAndMeasure(): Promise<number> {
        for (let i = 1; i <= LIMIT; i += 1) {
          const result = await attempt(`${WRONG} ${i}`);
          assert.deepEqual(result, { kind: 'wrong', lockedNow: i === LIMIT });
        }
        const locked = await attempt(STRONG_PASSWORD);
        assert.equal(locked.kind, 'locked', 'the right password is refused while locked');
        return locked.kind === 'locked' ? locked.retryAfterSeconds : 0;
      }
      const near = (seconds: number, minutes: number) => assert.ok(Math.abs(seconds - minutes * 60) <= 5, `${seconds} s, expected about ${minutes} minutes`);
      near(await lockAndMeasure(), 15);
      // The lock's end, without waiting for it: the per-person counter alone is cleared.
      await deps.limits.passwordFailuresByUser.reset(userKey);
      near(await lockAndMeasure(), 30);
      await deps.limits.passwordFailuresByUser.reset(userKey);
      near(await lockAndMeasure(), 60);
      await deps.limits.passwordFailuresByUser.reset(userKey);
      assert.equal((await attempt(STRONG_PASSWORD)).kind, 'right');
      near(await lockAndMeasure(), 15);
    });
  });
}
