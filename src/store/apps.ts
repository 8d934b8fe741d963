// The apps of an account (DESIGN.md rows 16, 17): OpenID Connect clients and hosts
// guarded by forward-auth. Every lookup by an admin names the account.
import type { Insertable, Kysely, Updateable } from 'kysely';
import type { Dialect } from './database.js';
import type { App, AppTable, Database } from './schema.js';

export async function insertApp(db: Kysely<Database>, app: Insertable<AppTable>): Promise<void> {
  await db.insertInto('apps').values(app).execute();
}

/** Any app by its client_id: oidc-provider asks with nothing else to go on, and the
 * client's account is then checked against the person's at every step. */
export function findAppById(db: Kysely<Database>, id: string): Promise<App | undefined> {
  return db.selectFrom('apps').selectAll().where('id', '=', id).executeTakeFirst();
}

export function findAccountApp(db: Kysely<Database>, accountId: string, id: string): Promise<App | undefined> {
  return db.selectFrom('apps').selectAll().where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
}

/** An account's app, its row locked on PostgreSQL until the transaction ends (SQLite
 * runs one transaction at a time), so two admins' changes to it follow each other. */
export function lockAccountApp(db: Kysely<Database>, accountId: string, id: string, dialect: Dialect): Promise<App | undefined> {
  return db
    .selectFrom('apps')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .$if(dialect === 'postgres', (query) => query.forUpdate())
    .executeTakeFirst();
}

/** Whether an insert or update failed because another app took the same host between
 * the check and the write (the unique index apps_host_idx decides). */
export function isHostTakenError(error: unknown): boolean {
  const { code, constraint, message } = (error ?? {}) as { code?: unknown; constraint?: unknown; message?: unknown };
  if (code === '23505') return constraint === 'apps_host_idx';
  return code === 'SQLITE_CONSTRAINT_UNIQUE' && typeof message === 'string' && message.includes('apps.host');
}

export function findAppByHost(db: Kysely<Database>, host: string): Promise<App | undefined> {
  return db.selectFrom('apps').selectAll().where('host', '=', host).executeTakeFirst();
}

export function listAccountApps(db: Kysely<Database>, accountId: string): Promise<App[]> {
  return db.selectFrom('apps').selectAll().where('account_id', '=', accountId).orderBy('created_at', 'asc').orderBy('id', 'asc').execute();
}

export async function updateAccountApp(
  db: Kysely<Database>,
  accountId: string,
  id: string,
  changes: Updateable<Omit<AppTable, 'id' | 'account_id'>>,
): Promise<boolean> {
  const result = await db.updateTable('apps').set(changes).where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function deleteAccountApp(db: Kysely<Database>, accountId: string, id: string): Promise<boolean> {
  const result = await db.deleteFrom('apps').where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}
