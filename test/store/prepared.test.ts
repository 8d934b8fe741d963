// Hot-path statements built once (src/store/prepared.ts): each run binds its own
// values, on both databases, inside and outside a transaction.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { dialects, postgresDatabaseUrl } from '../support/harness.js';
import { migrateToLatest, openStore, type Store } from '../../src/store/database.js';
import { preparedQuery } from '../../src/store/prepared.js';

for (const dialect of dialects()) {
  describe(`prepared queries on ${dialect.name}`, { skip: dialect.skip }, () => {
    let store: Store;
    let drop = async () => {};

    before(async () => {
      if (dialect.name === 'postgres') {
        const database = await postgresDatabaseUrl();
        drop = database.drop;
        store = openStore(database.url);
      } else {
        store = openStore(':memory:');
      }
      await migrateToLatest(store.db, store.dialect);
      await sql`insert into accounts (id, slug, name, created_at, updated_at) values ('a1', 'one', 'One', 1, 1)`.execute(store.db);
    });
    after(async () => {
      await store.close();
      await drop();
    });

    const rename = preparedQuery<{ slug: string; name: string; at: number }, { name: string }>((db, slot) =>
      db
        .updateTable('accounts')
        .set({ name: slot('name'), updated_at: slot('at') })
        .where('slug', '=', slot('slug'))
        .where('updated_at', '<', slot('at'))
        .returning('name'),
    );

    it('binds each run its own values, the fixed ones staying as built', async () => {
      assert.deepEqual((await rename(store.db, { slug: 'one', name: 'First', at: 10 })).rows, [{ name: 'First' }]);
      // The same slot used twice in the SQL gets the same value twice.
      assert.deepEqual((await rename(store.db, { slug: 'one', name: 'Second', at: 5 })).rows, [], 'updated_at < 5 is false now');
      assert.deepEqual((await rename(store.db, { slug: 'one', name: 'Third', at: 20 })).rows, [{ name: 'Third' }]);
      assert.deepEqual((await rename(store.db, { slug: 'none', name: 'Fourth', at: 30 })).rows, []);
      const row = await store.db.selectFrom('accounts').select(['name', 'updated_at']).where('id', '=', 'a1').executeTakeFirstOrThrow();
      assert.deepEqual(row, { name: 'Third', updated_at: 20 });
    });

    it('runs inside a transaction and is rolled back with it', async () => {
      await assert.rejects(
        store.db.transaction().execute(async (trx) => {
          assert.equal((await rename(trx, { slug: 'one', name: 'Inside', at: 40 })).rows.length, 1);
          throw new Error('roll back');
        }),
        /roll back/,
      );
      const row = await store.db.selectFrom('accounts').select('name').where('id', '=', 'a1').executeTakeFirstOrThrow();
      assert.equal(row.name, 'Third');
    });

    it('refuses a run with a value missing instead of binding NULL', async () => {
      await assert.rejects(rename(store.db, { slug: 'one', at: 50 } as never), /no value for "name"/);
    });

    it('counts changed rows for statements without returning', async () => {
      const touch = preparedQuery<{ id: string; at: number }, never>((db, slot) =>
        db
          .updateTable('accounts')
          .set({ updated_at: slot('at') })
          .where('id', '=', slot('id')),
      );
      assert.equal(Number((await touch(store.db, { id: 'a1', at: 60 })).numAffectedRows), 1);
      assert.equal(Number((await touch(store.db, { id: 'nobody', at: 60 })).numAffectedRows), 0);
    });
  });
}
