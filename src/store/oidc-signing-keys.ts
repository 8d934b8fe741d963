// The keys that sign ID tokens and logout tokens (services/signing-keys.ts).
import { sql, type Insertable, type Kysely } from 'kysely';
import type { Dialect } from './database.js';
import type { Database, OidcSigningKey, OidcSigningKeyTable } from './schema.js';

export async function insertSigningKey(db: Kysely<Database>, key: Insertable<OidcSigningKeyTable>): Promise<void> {
  await db.insertInto('oidc_signing_keys').values(key).execute();
}

/** Keys not yet withdrawn, newest first. */
export function listLiveSigningKeys(db: Kysely<Database>, now: number): Promise<OidcSigningKey[]> {
  return db
    .selectFrom('oidc_signing_keys')
    .selectAll()
    .where((eb) => eb.or([eb('retires_at', 'is', null), eb('retires_at', '>', now)]))
    .orderBy('signs_from', 'desc')
    .orderBy('created_at', 'desc')
    .orderBy('id', 'asc')
    .execute();
}

/** Sets when keys are withdrawn, unless an earlier time is already set. */
export async function scheduleSigningKeyRetirement(db: Kysely<Database>, ids: readonly string[], at: number): Promise<void> {
  if (ids.length === 0) return;
  await db
    .updateTable('oidc_signing_keys')
    .set({ retires_at: at })
    .where('id', 'in', ids)
    .where((eb) => eb.or([eb('retires_at', 'is', null), eb('retires_at', '>', at)]))
    .execute();
}

export async function deleteWithdrawnSigningKeys(db: Kysely<Database>, now: number): Promise<void> {
  await db.deleteFrom('oidc_signing_keys').where('retires_at', '<=', now).execute();
}

/** Holds, until the transaction ends, the right to create the first keys: instances
 * starting together on PostgreSQL make one set, not one each. (SQLite's writer lock
 * serialises its one process's transactions already.) */
export async function lockSigningKeys(db: Kysely<Database>, dialect: Dialect): Promise<void> {
  if (dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtext('tessera.oidc_signing_keys'))`.execute(db);
}
