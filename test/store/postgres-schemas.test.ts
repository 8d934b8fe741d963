// Several Tessera databases in one PostgreSQL database, one schema each (tenants, or
// test runs side by side): migrating one must not depend on what happens to the others.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { POSTGRES_URL, postgresDatabaseUrl, skipReason } from '../support/harness.js';
import { migrateToLatest, openStore } from '../../src/store/database.js';

describe('PostgreSQL schemas side by side', { skip: skipReason(!POSTGRES_URL, 'PostgreSQL suite skipped: TESSERA_TEST_DATABASE_URL is not set') }, () => {
  it('migrates a schema while other schemas are created and dropped (CI saw "schema does not exist")', async () => {
    // Kysely's own introspector read every schema by name and failed when one was
    // dropped meanwhile: 10 of 20 migrations failed against this churn before the fix.
    const admin = new pg.Client({ connectionString: POSTGRES_URL! });
    await admin.connect();
    let churning = true;
    let dropped = 0;
    const churn = (async () => {
      while (churning) {
        const schema = `churn_${process.pid}_${dropped}`;
        await admin.query(`create schema ${schema}; create table ${schema}.t (id serial primary key, a text)`);
        await admin.query(`drop schema ${schema} cascade`);
        dropped += 1;
      }
    })();
    const failures: string[] = [];
    try {
      for (let round = 0; round < 20; round += 1) {
        const database = await postgresDatabaseUrl();
        const store = openStore(database.url);
        try {
          const applied = await migrateToLatest(store.db, store.dialect);
          assert.ok(applied.includes('0001-initial'), 'a fresh schema gets every migration');
        } catch (error) {
          failures.push(String(error));
        } finally {
          await store.close();
          await database.drop();
        }
      }
    } finally {
      churning = false;
      await churn;
      await admin.end();
    }
    assert.ok(dropped > 20, `the churn dropped only ${dropped} schemas`);
    assert.deepEqual(failures, []);
  });
});
