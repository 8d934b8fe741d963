// Migration 0008 replaces sign_in_challenges with sign_in_flows: a challenge still
// pending at the upgrade becomes a flow waiting for its second factor, with its first
// factor as its one proof, so a person mid-sign-in finishes it after the upgrade.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql, type Kysely } from 'kysely';
import { migrateToLatest, openStore, type Store } from '../../src/store/database.js';

describe('migration 0008: challenges become sign-in flows (SQLite)', () => {
  let store: Store;
  before(async () => {
    store = openStore(':memory:');
    await migrateToLatest(store.db, store.dialect, '0007-redundant-indexes');
  });
  after(async () => store.close());

  it('carries pending challenges over with their first factor as proof, and drops the rest', async () => {
    const db = store.db as unknown as Kysely<any>;
    const now = 1_800_000_000_000;
    await db
      .insertInto('accounts')
      .values({
        id: 'a1',
        slug: 'acme',
        name: 'Acme',
        owner_user_id: null,
        require_two_factor: 'off',
        require_two_factor_since: null,
        grace_days: 0,
        session_days: 14,
        trusted_device_days: 30,
        country: 'US',
        sms_daily_budget: null,
        sms_allowed_countries: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
    await db
      .insertInto('users')
      .values({
        id: 'u1',
        account_id: 'a1',
        email: 'ann@acme.test',
        name: 'Ann',
        role: 'agent',
        password_hash: null,
        password_changed_at: null,
        suspended_at: null,
        two_factor_enabled: 1,
        two_factor_enabled_at: now,
        preferred_method: 'totp',
        two_factor_setup_required: 0,
        failed_passcode_count: 0,
        passcode_locked_until: null,
        passcode_lock_count: 0,
        email_confirmed_at: null,
        last_sign_in_at: null,
        last_passcode_used_at: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
    const challenge = (id: string, state: string, firstFactor: string) => ({
      id,
      account_id: 'a1',
      user_id: 'u1',
      secret_hash: `hash-${id}`,
      state,
      first_factor: firstFactor,
      attempts: 2,
      created_at: now,
      expires_at: now + 600_000,
      completed_at: null,
      ip: '127.0.0.1',
      user_agent: 'test',
      sms_code_hash: id === 'c1' ? 'code-hash' : null,
      sms_code_expires_at: null,
      sms_sent_at: id === 'c1' ? now : null,
      sms_send_count: id === 'c1' ? 1 : 0,
      sms_message_id: null,
    });
    await db
      .insertInto('sign_in_challenges')
      .values([challenge('c1', 'pending', 'password_reset'), challenge('c2', 'done', 'password')])
      .execute();

    assert.deepEqual(await migrateToLatest(store.db, store.dialect, '0008-sign-in-flows'), ['0008-sign-in-flows']);
    const flows = await store.db.selectFrom('sign_in_flows').selectAll().execute();
    assert.equal(flows.length, 1, 'only the pending challenge is carried over');
    const flow = flows[0]!;
    assert.equal(flow.id, 'c1');
    assert.equal(flow.state, 'second_factor');
    assert.equal(flow.secret_hash, 'hash-c1', 'its token still opens it');
    assert.deepEqual(JSON.parse(flow.proofs), [{ kind: 'password_reset', at: now }]);
    assert.equal(flow.attempts, 2);
    assert.equal(flow.prompt_login, 0);
    const tables = await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name = 'sign_in_challenges'`.execute(store.db);
    assert.equal(tables.rows.length, 0, 'the old table is gone');
  });
});
