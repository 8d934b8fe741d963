// The hot paths' lookups are answered by an index, never a scan or a sort: their cost
// must stay flat as people are added (bench/README.md, growth). SQLite's query plans,
// after every migration (0007 dropped two indexes that wider ones cover).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { migrateToLatest, openStore, type Store } from '../../src/store/database.js';

describe('query plans of the hot paths on SQLite', () => {
  let store: Store;
  before(async () => {
    store = openStore(':memory:');
    await migrateToLatest(store.db, store.dialect);
  });
  after(async () => store.close());

  async function plan(query: string): Promise<string> {
    const rows = await sql<{ detail: string }>`explain query plan ${sql.raw(query)}`.execute(store.db);
    return rows.rows.map((row) => row.detail).join(' | ');
  }

  it("a person's known computers, by the wider (user_id, device_id_hash) index", async () => {
    assert.match(
      await plan(`select id from known_devices where user_id = 'u' limit 1`),
      /^SEARCH known_devices USING (COVERING )?INDEX known_devices_user_hash_idx \(user_id=\?\)$/,
    );
  });

  it("a person's active methods, in order, from the index without a sort", async () => {
    const detail = await plan(`select * from two_factor_methods where user_id = 'u' and status = 'active' order by created_at`);
    assert.match(detail, /^SEARCH two_factor_methods USING INDEX two_factor_methods_user_status_idx \(user_id=\? AND status=\?\)$/);
  });

  it('the unused recovery codes, counted from the index alone', async () => {
    const detail = await plan(
      `select count(*) from recovery_codes r where r.user_id = 'u' and r.kind = 'user' and r.used_at is null and (r.expires_at is null or r.expires_at > 5)`,
    );
    assert.match(detail, /COVERING INDEX recovery_codes_unused_count_idx/);
  });

  it('the two indexes on user_id alone are gone', async () => {
    const names = (await sql<{ name: string }>`select name from sqlite_master where type = 'index'`.execute(store.db)).rows.map((row) => row.name);
    assert.ok(!names.includes('known_devices_user_idx') && !names.includes('two_factor_methods_user_idx'), names.join(', '));
    assert.ok(names.includes('known_devices_user_hash_idx') && names.includes('two_factor_methods_user_status_idx'));
  });
});
