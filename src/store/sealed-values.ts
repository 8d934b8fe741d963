// The columns that hold values sealed under the key ring (crypto/secret-box.ts), each
// sealed value being `v1.<key id>.<nonce>.<tag>.<ciphertext>`.
import { sql, type Kysely } from 'kysely';
import type { Dialect } from './database.js';
import type { Database } from './schema.js';

export const SEALED_COLUMNS = [
  { table: 'two_factor_methods', column: 'secret_ciphertext' },
  { table: 'two_factor_methods', column: 'phone_ciphertext' },
  { table: 'outbox_messages', column: 'payload_ciphertext' },
  { table: 'oidc_signing_keys', column: 'private_key_ciphertext' },
  { table: 'webhooks', column: 'secret_ciphertext' },
] as const;

export type SealedColumn = (typeof SEALED_COLUMNS)[number];

/** Every stored value of one sealed column, with its row's id. */
export async function listSealedValues(db: Kysely<Database>, { table, column }: SealedColumn): Promise<{ id: string; sealed: string }[]> {
  const rows = await db
    .selectFrom(table)
    .select(['id', sql.ref<string>(column).as('sealed')])
    .where(column, 'is not', null)
    .execute();
  return rows.map((row) => ({ id: row.id, sealed: row.sealed }));
}

export async function replaceSealedValue(db: Kysely<Database>, { table, column }: SealedColumn, id: string, sealed: string): Promise<void> {
  await db
    .updateTable(table)
    .set({ [column]: sealed } as never)
    .where('id', '=', id)
    .execute();
}

/** The key ids that stored values name, each once. */
export async function sealedKeyIds(db: Kysely<Database>, dialect: Dialect): Promise<string[]> {
  const ids = new Set<string>();
  for (const { table, column } of SEALED_COLUMNS) {
    const keyId =
      dialect === 'postgres'
        ? sql<string>`split_part(${sql.ref(column)}, '.', 2)`
        : sql<string>`substr(${sql.ref(column)}, 4, instr(substr(${sql.ref(column)}, 4), '.') - 1)`;
    const rows = await db.selectFrom(table).select(keyId.as('key_id')).distinct().where(column, 'is not', null).execute();
    for (const row of rows) ids.add(row.key_id);
  }
  return [...ids];
}

/** Whether the database holds anything at all yet (an account). */
export async function holdsData(db: Kysely<Database>): Promise<boolean> {
  return (await db.selectFrom('accounts').select('id').limit(1).executeTakeFirst()) !== undefined;
}
