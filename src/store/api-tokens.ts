// An account's API tokens (DESIGN.md, Automation). Every lookup by an admin names the
// account; the token's own lookup is by its id alone, then its secret is compared.
import type { Insertable, Kysely } from 'kysely';
import type { ApiToken, ApiTokenTable, Database } from './schema.js';

export async function insertApiToken(db: Kysely<Database>, token: Insertable<ApiTokenTable>): Promise<void> {
  await db.insertInto('api_tokens').values(token).execute();
}

export function findApiToken(db: Kysely<Database>, id: string): Promise<ApiToken | undefined> {
  return db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Newest first; revoked tokens stay listed (with when) for a while, for the record. */
export function listAccountApiTokens(db: Kysely<Database>, accountId: string): Promise<ApiToken[]> {
  return db.selectFrom('api_tokens').selectAll().where('account_id', '=', accountId).orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
}

export function countLiveApiTokens(db: Kysely<Database>, accountId: string, now: number): Promise<number> {
  return db
    .selectFrom('api_tokens')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('account_id', '=', accountId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirstOrThrow()
    .then((row) => Number(row.count));
}

/** Revokes a live token of the account; false when there is none by that id. */
export async function revokeAccountApiToken(db: Kysely<Database>, accountId: string, id: string, now: number): Promise<boolean> {
  const result = await db
    .updateTable('api_tokens')
    .set({ revoked_at: now })
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Revokes every live token a person made: they were suspended, demoted, or may have
 * lost their account (a password reset, an admin's help). */
export async function revokeApiTokensMadeBy(db: Kysely<Database>, userId: string, now: number): Promise<void> {
  await db.updateTable('api_tokens').set({ revoked_at: now }).where('created_by_user_id', '=', userId).where('revoked_at', 'is', null).execute();
}

/** "Last used" to the minute: one write a minute per token at most, not one a request. */
export async function touchApiToken(db: Kysely<Database>, id: string, now: number, ifUsedBefore: number): Promise<void> {
  await db
    .updateTable('api_tokens')
    .set({ last_used_at: now })
    .where('id', '=', id)
    .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', ifUsedBefore)]))
    .execute();
}
