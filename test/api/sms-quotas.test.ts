// Anti SMS-pumping quotas (SECURITY.md: "past the quota the provider is called no
// more"): per person (10 an hour), per number (10 a day), per client address (20 an
// hour, IPv6 per /64), per account (its own daily budget) and for the deployment
// (TESSERA_SMS_DAILY_BUDGET), plus an account's country allow-list. Past a quota the
// answer is 429 with Retry-After and no outbox row is written; a counting sender in
// place of the provider proves what reaches it, floods included.
//
// The quotas count in rate-limiter-flexible's store, in real time (not the test
// clock): each test uses its own people and numbers.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import {
  POSTGRES_URL,
  REDIS_URL,
  addUser,
  createExtraAccount,
  dialects,
  setUpAccount,
  signIn,
  signInToken,
  skipReason,
  startTestApp,
  type TestApp,
} from '../support/harness.js';
import { CountingSmsSender, freshUsNumber, latestCode, textsTo, tickBeforeTexts } from '../support/sms.js';

const HOUR_IN_SECONDS = 3600;

function assertQuotaRefusal(response: LightMyRequestResponse, maxSeconds: number): void {
  assert.equal(response.statusCode, 429, response.body);
  const body = response.json();
  assert.equal(body.error.code, 'sms_rate_limited');
  const seconds = body.error.retry_after_seconds;
  assert.ok(Number.isInteger(seconds) && seconds > 0 && seconds <= maxSeconds, `retry_after_seconds ${seconds}`);
  assert.equal(response.headers['retry-after'], String(seconds));
  assert.match(body.error.message, /too many text messages.*try again in \d+ (minute|second|hour)s?/i);
}

async function smsCount(app: TestApp): Promise<number> {
  const row = await app.runtime.deps.db
    .selectFrom('outbox_messages')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('channel', '=', 'sms')
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/** A person with SMS on (one text spent on the enrolment). */
async function smsPerson(app: TestApp, email: string, input: { account?: string; phone?: ReturnType<typeof freshUsNumber> } = {}) {
  const account = input.account ?? 'acme';
  const phone = input.phone ?? freshUsNumber();
  await addUser(app, { account, email });
  const token = await signInToken(app, { account, email });
  const started = await app.api('POST', '/api/v1/me/two-factor/sms', { token, body: { phone: phone.e164 } });
  assert.equal(started.statusCode, 200, started.body);
  const verified = await app.api('POST', '/api/v1/me/two-factor/sms/verify', { token, body: { code: await latestCode(app, phone.e164) } });
  assert.equal(verified.statusCode, 200, verified.body);
  return { token, phone, email, account };
}

async function challenge(app: TestApp, person: { email: string; account: string }): Promise<string> {
  const response = await signIn(app, { account: person.account, email: person.email });
  assert.equal(response.json().status, 'two_factor_required', response.body);
  return response.json().challenge_token;
}

function sendFor(app: TestApp, challengeToken: string, ip?: string) {
  return app.api('POST', '/api/v1/sign-in/sms', { body: { challenge_token: challengeToken }, ...(ip ? { ip } : {}) });
}

for (const dialect of dialects()) {
  describe(`SMS quotas on ${dialect.name}`, { skip: dialect.skip }, () => {
    let app: TestApp;
    const provider = new CountingSmsSender();

    before(async () => {
      app = tickBeforeTexts(await startTestApp({ dialect: dialect.name, runtime: { senders: { sms: provider } } }));
      await setUpAccount(app);
    });
    after(async () => app?.close());

    it('per person: 10 texts an hour; the 11th is refused with Retry-After and never reaches the provider', async () => {
      const person = await smsPerson(app, 'five@acme.test');
      for (let i = 0; i < 9; i += 1) assert.equal((await sendFor(app, await challenge(app, person))).statusCode, 200);
      const rows = await smsCount(app);
      assertQuotaRefusal(await sendFor(app, await challenge(app, person)), HOUR_IN_SECONDS);
      assert.equal(await smsCount(app), rows, 'no outbox row past the quota');
      assertQuotaRefusal(await app.api('POST', '/api/v1/me/two-factor/sms/send', { token: person.token }), HOUR_IN_SECONDS);
      await app.runtime.worker.drain();
      assert.equal(provider.received.filter((p) => p.to === person.phone.e164).length, 10);
      const events = await app.runtime.deps.db.selectFrom('audit_events').select('details').where('type', '=', 'sms_quota_exceeded').execute();
      assert.ok(events.some((e) => /per_person/.test(e.details ?? '')));
    });

    it('a flood: 40 parallel sends for one person on 40 challenges give exactly the quota, the rest 429', async () => {
      const person = await smsPerson(app, 'flood@acme.test');
      const challenges = [];
      for (let i = 0; i < 40; i += 1) challenges.push(await challenge(app, person));
      const answers = await Promise.all(challenges.map((c) => sendFor(app, c)));
      assert.equal(answers.filter((a) => a.statusCode === 200).length, 9, 'the enrolment text plus 9');
      for (const refused of answers.filter((a) => a.statusCode !== 200)) assertQuotaRefusal(refused, HOUR_IN_SECONDS);
      // 40 parallel "send again" on one challenge: the cooldown lets none through.
      const fresh = await smsPerson(app, 'flood-one@acme.test');
      const c = await challenge(app, fresh);
      const same = await Promise.all(Array.from({ length: 40 }, () => sendFor(app, c)));
      assert.equal(same.filter((a) => a.statusCode === 200).length, 1, 'one challenge, one text per 30 s');
      await app.runtime.worker.drain();
      assert.equal(provider.received.filter((p) => p.to === person.phone.e164).length, 10);
      assert.equal(provider.received.filter((p) => p.to === fresh.phone.e164).length, 2);
    });

    it('per number: 10 texts a day, whoever asks', async () => {
      const shared = freshUsNumber();
      const people = [];
      for (const name of ['n1', 'n2', 'n3']) people.push(await smsPerson(app, `${name}@acme.test`, { phone: shared }));
      for (const person of people.slice(0, 2)) for (let i = 0; i < 3; i += 1) assert.equal((await sendFor(app, await challenge(app, person))).statusCode, 200);
      assert.equal((await sendFor(app, await challenge(app, people[2]!))).statusCode, 200);
      assert.equal((await textsTo(app, shared.e164)).length, 10);
      assertQuotaRefusal(await sendFor(app, await challenge(app, people[2]!)), 24 * HOUR_IN_SECONDS);
      assert.equal((await textsTo(app, shared.e164)).length, 10);
      // Not even a new enrolment gets a text to that number.
      await addUser(app, { account: 'acme', email: 'n4@acme.test' });
      const token = await signInToken(app, { account: 'acme', email: 'n4@acme.test' });
      assertQuotaRefusal(await app.api('POST', '/api/v1/me/two-factor/sms', { token, body: { phone: shared.e164 } }), 24 * HOUR_IN_SECONDS);
      assert.equal((await textsTo(app, shared.e164)).length, 10);
      assert.equal((await app.api('GET', '/api/v1/me/two-factor/sms', { token })).json().pending, null, 'nothing left pending');
    });

    it('per client address: 20 an hour, IPv6 per /64; another /64 is not affected', async () => {
      const prefix = `2001:db8:${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}`;
      const people = [];
      for (let i = 0; i < 6; i += 1) people.push(await smsPerson(app, `ip${i}@acme.test`));
      let sent = 0;
      for (const person of people.slice(0, 5)) {
        for (let i = 0; i < 4; i += 1) {
          const answer = await sendFor(app, await challenge(app, person), `${prefix}::${sent + 1}`);
          assert.equal(answer.statusCode, 200, answer.body);
          sent += 1;
        }
      }
      assert.equal(sent, 20);
      assertQuotaRefusal(await sendFor(app, await challenge(app, people[5]!), `${prefix}:abcd::9`), HOUR_IN_SECONDS);
      assert.equal((await sendFor(app, await challenge(app, people[5]!), `${prefix.slice(0, -1)}${prefix.endsWith('f') ? 'e' : 'f'}::1`)).statusCode, 200);
    });

    it("per account: the account's own daily budget (accounts.sms_daily_budget)", async () => {
      await createExtraAccount(app, 'budget');
      await app.runtime.deps.db.updateTable('accounts').set({ sms_daily_budget: 3 }).where('slug', '=', 'budget').execute();
      const person = await smsPerson(app, 'b1@budget.test', { account: 'budget' });
      const other = await smsPerson(app, 'b2@budget.test', { account: 'budget' });
      assert.equal((await sendFor(app, await challenge(app, person))).statusCode, 200);
      const rows = await smsCount(app);
      assertQuotaRefusal(await sendFor(app, await challenge(app, other)), 24 * HOUR_IN_SECONDS);
      assert.equal(await smsCount(app), rows);
      // Other accounts keep their own budget.
      const elsewhere = await smsPerson(app, 'not-budget@acme.test');
      assert.equal((await sendFor(app, await challenge(app, elsewhere))).statusCode, 200);
    });

    it("an account's country allow-list: refused at enrolment and at sending", async () => {
      await createExtraAccount(app, 'uk');
      await app.runtime.deps.db.updateTable('accounts').set({ sms_allowed_countries: 'GB, IE', country: 'GB' }).where('slug', '=', 'uk').execute();
      await addUser(app, { account: 'uk', email: 'ann@uk.test' });
      const token = await signInToken(app, { account: 'uk', email: 'ann@uk.test' });
      const us = await app.api('POST', '/api/v1/me/two-factor/sms', { token, body: { phone: '+1 201 555 0199' } });
      assert.equal(us.statusCode, 400);
      assert.equal(us.json().error.code, 'phone_not_allowed');
      assert.equal((await textsTo(app, '+12015550199')).length, 0);
      const gb = await app.api('POST', '/api/v1/me/two-factor/sms', { token, body: { phone: '07400 123457' } });
      assert.equal(gb.statusCode, 200, `a national number in the account country (GB): ${gb.body}`);
      assert.equal(
        (await app.api('POST', '/api/v1/me/two-factor/sms/verify', { token, body: { code: await latestCode(app, '+447400123457') } })).statusCode,
        200,
      );
      await app.runtime.deps.db.updateTable('accounts').set({ sms_allowed_countries: 'FR' }).where('slug', '=', 'uk').execute();
      const rows = await smsCount(app);
      const refused = await sendFor(app, await challenge(app, { account: 'uk', email: 'ann@uk.test' }));
      assert.equal(refused.statusCode, 400);
      assert.equal(refused.json().error.code, 'phone_not_allowed');
      assert.equal(await smsCount(app), rows);
    });
  });
}

describe('SMS quotas: the deployment budget (TESSERA_SMS_DAILY_BUDGET)', () => {
  let app: TestApp;
  const provider = new CountingSmsSender();
  before(async () => {
    app = tickBeforeTexts(await startTestApp({ env: { TESSERA_SMS_DAILY_BUDGET: '4' }, runtime: { senders: { sms: provider } } }));
    await setUpAccount(app);
  });
  after(async () => app?.close());

  it('no more texts than the budget, across people and accounts, even in parallel', async () => {
    const first = await smsPerson(app, 'g1@acme.test');
    const second = await smsPerson(app, 'g2@acme.test');
    const challenges = [];
    for (const person of [first, second]) for (let i = 0; i < 4; i += 1) challenges.push(await challenge(app, person));
    const answers = await Promise.all(challenges.map((c) => sendFor(app, c)));
    assert.equal(answers.filter((a) => a.statusCode === 200).length, 2);
    for (const refused of answers.filter((a) => a.statusCode !== 200)) assertQuotaRefusal(refused, 24 * HOUR_IN_SECONDS);
    await app.runtime.worker.drain();
    assert.equal(provider.received.length, 4);
  });
});

// Several instances share PostgreSQL (two servers writing one SQLite file would
// fight over its lock, which is not a deployment Tessera supports).
describe(
  'SMS quotas shared through Redis',
  { skip: skipReason(!REDIS_URL || !POSTGRES_URL, 'Redis suite skipped: it needs TESSERA_TEST_REDIS_URL and TESSERA_TEST_DATABASE_URL') },
  () => {
    it('two instances on one database and one Redis: a flood across both gets 10 texts for one person', async () => {
      const provider = new CountingSmsSender();
      const one = tickBeforeTexts(await startTestApp({ dialect: 'postgres', redis: true, runtime: { senders: { sms: provider } } }));
      const two = await startTestApp({
        redis: true,
        env: { TESSERA_DATABASE_URL: one.config.databaseUrl, TESSERA_REDIS_KEY_PREFIX: one.config.redisKeyPrefix },
        clock: one.clock,
      });
      try {
        await setUpAccount(one);
        const person = await smsPerson(one, 'redis@acme.test');
        const challenges = [];
        for (let i = 0; i < 20; i += 1) challenges.push(await challenge(one, person));
        const answers = await Promise.all(challenges.map((c, i) => sendFor(i % 2 === 0 ? one : two, c)));
        assert.equal(answers.filter((a) => a.statusCode === 200).length, 9);
        assert.equal((await textsTo(one, person.phone.e164)).length, 10);
      } finally {
        await two.runtime.close();
        await one.close();
      }
    });
  },
);
