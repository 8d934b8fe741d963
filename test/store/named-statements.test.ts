// Statements prepared once per PostgreSQL connection (store/named-statements.ts): which
// texts get a name, that the hot reads really run prepared, and that a prepared read
// survives another instance's migration adding a column.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { POSTGRES_URL, postgresDatabaseUrl, skipReason } from '../support/harness.js';
import { migrateToLatest, openStore, type Store } from '../../src/store/database.js';
import { MAX_NAMED_TEXTS, StatementNames } from '../../src/store/named-statements.js';
import { findAccountBySlug } from '../../src/store/accounts.js';
import { AccountUsers } from '../../src/store/users.js';
import { listActiveMethods } from '../../src/store/two-factor.js';
import { findSessionWithOwner } from '../../src/store/sessions.js';
import { findFlowWithLockedOwner } from '../../src/store/sign-in-flows.js';
import type { Database } from '../../src/store/schema.js';

describe('statement names', () => {
  it('names a statement with values and listed columns, the same name every time', () => {
    const names = new StatementNames();
    const text = 'select "id", "slug" from "accounts" where "slug" = $1';
    const name = names.nameFor(text, 1);
    assert.match(name ?? '', /^tessera_[0-9a-f]{32}$/);
    assert.equal(names.nameFor(text, 1), name);
    assert.notEqual(names.nameFor('select "id" from "users" where "id" = $1', 1), name);
    assert.equal(new StatementNames().nameFor(text, 1), name, 'another instance names the same text alike');
  });

  it('leaves unnamed what a prepared statement would break or bloat', () => {
    const names = new StatementNames();
    assert.equal(names.nameFor('select * from "accounts" where "slug" = $1', 1), undefined, 'select *');
    assert.equal(names.nameFor('select "a".* from "accounts" as "a" where "slug" = $1', 1), undefined, 'table.*');
    assert.equal(names.nameFor('update "users" set "name" = $1 returning *', 1), undefined, 'returning *');
    assert.equal(names.nameFor('commit', 0), undefined, 'no values: the simple protocol');
    assert.equal(names.nameFor(`insert into "t" values ${Array.from({ length: 70 }, (_, i) => `($${i + 1})`).join(', ')}`, 70), undefined, 'many values');
    assert.equal(names.size, 0);
    assert.ok(names.nameFor('/* rows as arrays */ select count(*) as "n" from "users" where "id" = $1', 1), 'a comment and count(*) are no result star');
  });

  it(`stops naming after ${MAX_NAMED_TEXTS} texts, and keeps the names it gave`, () => {
    const names = new StatementNames();
    const first = names.nameFor('select "id" from "t0" where "id" = $1', 1);
    for (let i = 1; i < MAX_NAMED_TEXTS; i += 1) assert.ok(names.nameFor(`select "id" from "t${i}" where "id" = $1`, 1));
    assert.equal(names.nameFor('select "id" from "one_more" where "id" = $1', 1), undefined);
    assert.equal(names.nameFor('select "id" from "t0" where "id" = $1', 1), first);
  });
});

/** A `select *` with a value, as a less careful store function would write it. */
function selectEverything(db: Kysely<Database>) {
  return db.selectFrom('accounts').selectAll().where('slug', '=', 'acme').executeTakeFirst();
}

/** A fresh migrated schema with one account, a second connection to it (another
 * instance, say), and both closed and dropped afterwards. */
async function withAccountStore(options: { preparedStatements?: boolean }, body: (store: Store, other: pg.Client) => Promise<void>): Promise<void> {
  const database = await postgresDatabaseUrl();
  const store = openStore(database.url, options);
  const other = new pg.Client({ connectionString: database.url });
  try {
    await migrateToLatest(store.db, store.dialect);
    const now = Date.now();
    await store.db
      .insertInto('accounts')
      .values({ id: 'acc1', slug: 'acme', name: 'Acme', created_at: now, updated_at: now } as never)
      .execute();
    await other.connect();
    await body(store, other);
  } finally {
    await other.end().catch(() => {});
    await store.close();
    await database.drop();
  }
}

/** The texts prepared in one connection after `reads` ran in it (a transaction holds
 * one connection). */
async function preparedAfter(store: Store, reads: (trx: Kysely<Database>) => Promise<unknown>): Promise<string[]> {
  return store.db.transaction().execute(async (trx) => {
    await reads(trx);
    return (await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(trx)).rows.map((row) => row.statement);
  });
}

describe('named statements on PostgreSQL', { skip: skipReason(!POSTGRES_URL, 'PostgreSQL suite skipped: TESSERA_TEST_DATABASE_URL is not set') }, () => {
  it('runs the hot reads prepared, and they survive a column added by another connection', async () => {
    await withAccountStore({}, async (store, other) => {
      const prepared = await preparedAfter(store, async (trx) => {
        await findAccountBySlug(trx, 'acme');
        await new AccountUsers(trx, 'acc1').lockById('nobody', 'postgres');
        await listActiveMethods(trx, { id: 'nobody', account_id: 'acc1' });
        await selectEverything(trx);
        await findSessionWithOwner(trx, 'no-such-session');
        await findFlowWithLockedOwner(trx, 'no-such-flow');
      });
      const has = (what: string, found: (text: string) => boolean) => assert.ok(prepared.some(found), `${what} is prepared`);
      has('the account read', (text) => text.includes('from "accounts" where "slug" = $1'));
      has('the locking read of a person', (text) => text.includes('from "users"') && text.includes('for update'));
      has('the methods read', (text) => text.includes('from "two_factor_methods"'));
      has('the session check (not too long to be named)', (text) => text.includes('from "sessions" as "s"'));
      has('the flow read with its person locked', (text) => text.includes('from "sign_in_flows" as "f"') && text.includes('for update of "u"'));
      assert.ok(
        prepared.every((text) => !/select \*/.test(text)),
        'nothing with select * is prepared',
      );

      // Another instance migrates meanwhile: a prepared "select *" would now fail with
      // "cached plan must not change result type"; listed columns do not.
      await other.query('alter table accounts add column added_by_a_later_migration text');
      await other.query('alter table users add column added_by_a_later_migration text');
      const users = new AccountUsers(store.db, 'acc1');
      for (let round = 0; round < 3; round += 1) {
        assert.equal((await findAccountBySlug(store.db, 'acme'))?.id, 'acc1');
        assert.equal(await users.findByEmail('nobody@example.test'), undefined);
        assert.equal((await selectEverything(store.db))?.id, 'acc1');
      }
    });
  });

  it('closes a connection whose prepared statement went stale, so the next read works', async () => {
    await withAccountStore({}, async (store, other) => {
      assert.equal((await findAccountBySlug(store.db, 'acme'))?.name, 'Acme');
      // Another instance's migration changes a column's type: the statement prepared
      // above can no longer run in its connection.
      await other.query('alter table accounts alter column name type varchar(200)');
      await assert.rejects(findAccountBySlug(store.db, 'acme'), /cached plan must not change result type/);
      for (let round = 0; round < 3; round += 1) assert.equal((await findAccountBySlug(store.db, 'acme'))?.name, 'Acme');
    });
  });

  it('prepares nothing when turned off (TESSERA_DATABASE_PREPARED_STATEMENTS=off)', async () => {
    await withAccountStore({ preparedStatements: false }, async (store) => {
      const prepared = await preparedAfter(store, async (trx) => {
        await findAccountBySlug(trx, 'acme');
        await listActiveMethods(trx, { id: 'nobody', account_id: 'acc1' });
        await findSessionWithOwner(trx, 'no-such-session');
      });
      assert.deepEqual(prepared, []);
    });
  });
});
