import type { Kysely } from 'kysely';
import { ACCOUNT_COLUMNS } from './columns.js';
import type { Account, AccountTable, Database } from './schema.js';
import type { Insertable, Updateable } from 'kysely';

export function findAccountBySlug(db: Kysely<Database>, slug: string): Promise<Account | undefined> {
  return db.selectFrom('accounts').select(ACCOUNT_COLUMNS).where('slug', '=', slug).executeTakeFirst();
}

/** The accounts whose display name is this one, ignoring case (at most two: enough to
 * tell whether it is unambiguous). */
export function findAccountsByName(db: Kysely<Database>, name: string): Promise<Account[]> {
  return db
    .selectFrom('accounts')
    .select(ACCOUNT_COLUMNS)
    .where((eb) => eb(eb.fn('lower', ['name']), '=', name.toLowerCase()))
    .limit(2)
    .execute();
}

export function findAccountById(db: Kysely<Database>, id: string): Promise<Account | undefined> {
  return db.selectFrom('accounts').select(ACCOUNT_COLUMNS).where('id', '=', id).executeTakeFirst();
}

export async function countAccounts(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom('accounts')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

export async function insertAccount(db: Kysely<Database>, account: Insertable<AccountTable>): Promise<void> {
  await db.insertInto('accounts').values(account).execute();
}

export async function updateAccount(db: Kysely<Database>, id: string, changes: Updateable<AccountTable>): Promise<void> {
  await db.updateTable('accounts').set(changes).where('id', '=', id).execute();
}
