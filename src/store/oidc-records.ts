// What oidc-provider stores, through services/oidc-adapter.ts. Rows are found by the
// HMAC of their id (`key`), never by the id itself.
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface OidcRecordInput {
  model: string;
  key: string;
  payload: string;
  grantId: string | null;
  uid: string | null;
  personId: string | null;
  clientId: string | null;
  expiresAt: number | null;
}

export interface StoredOidcRecord {
  payload: string;
  consumed_at: number | null;
  expires_at: number | null;
}

export async function upsertOidcRecord(db: Kysely<Database>, record: OidcRecordInput): Promise<void> {
  const values = {
    payload: record.payload,
    grant_id: record.grantId,
    uid: record.uid,
    person_id: record.personId,
    client_id: record.clientId,
    expires_at: record.expiresAt,
  };
  await db
    .insertInto('oidc_records')
    .values({ model: record.model, key: record.key, consumed_at: null, ...values })
    .onConflict((conflict) => conflict.columns(['model', 'key']).doUpdateSet(values))
    .execute();
}

export function findOidcRecord(db: Kysely<Database>, model: string, key: string): Promise<StoredOidcRecord | undefined> {
  return db.selectFrom('oidc_records').select(['payload', 'consumed_at', 'expires_at']).where('model', '=', model).where('key', '=', key).executeTakeFirst();
}

export function findOidcRecordByUid(db: Kysely<Database>, model: string, uid: string): Promise<(StoredOidcRecord & { key: string }) | undefined> {
  return db
    .selectFrom('oidc_records')
    .select(['key', 'payload', 'consumed_at', 'expires_at'])
    .where('uid', '=', uid)
    .where('model', '=', model)
    .executeTakeFirst();
}

/** Marks a code or token used, once: of two requests redeeming it, one gets true. */
export async function consumeOidcRecord(db: Kysely<Database>, model: string, key: string, now: number): Promise<boolean> {
  const result = await db
    .updateTable('oidc_records')
    .set({ consumed_at: now })
    .where('model', '=', model)
    .where('key', '=', key)
    .where('consumed_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export function findOidcRecordGrantId(db: Kysely<Database>, model: string, key: string): Promise<string | null> {
  return db
    .selectFrom('oidc_records')
    .select('grant_id')
    .where('model', '=', model)
    .where('key', '=', key)
    .executeTakeFirst()
    .then((row) => row?.grant_id ?? null);
}

export async function deleteOidcRecord(db: Kysely<Database>, model: string, key: string): Promise<void> {
  await db.deleteFrom('oidc_records').where('model', '=', model).where('key', '=', key).execute();
}

/** Everything a grant gave (codes, access and refresh tokens), and the grant itself. */
export async function deleteOidcGrantRecords(db: Kysely<Database>, grantId: string): Promise<void> {
  await db.deleteFrom('oidc_records').where('grant_id', '=', grantId).execute();
}

/** Everything an app holds: its grants, codes and tokens die with it. */
export async function deleteOidcClientRecords(db: Kysely<Database>, clientId: string): Promise<void> {
  await db.deleteFrom('oidc_records').where('client_id', '=', clientId).execute();
}

/** A person's records of the given models (their sessions at the provider, their
 * tokens), e.g. when they are signed out everywhere. */
export async function deletePersonOidcRecords(db: Kysely<Database>, personId: string, models: readonly string[]): Promise<void> {
  if (models.length === 0) return;
  await db.deleteFrom('oidc_records').where('person_id', '=', personId).where('model', 'in', models).execute();
}

/** The live records of one model a person has, e.g. their grants (the apps they use). */
export function listPersonOidcRecords(
  db: Kysely<Database>,
  personId: string,
  model: string,
  now: number,
): Promise<{ key: string; payload: string; client_id: string | null; grant_id: string | null }[]> {
  return db
    .selectFrom('oidc_records')
    .select(['key', 'payload', 'client_id', 'grant_id'])
    .where('person_id', '=', personId)
    .where('model', '=', model)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .execute();
}

export async function pruneExpiredOidcRecords(db: Kysely<Database>, now: number): Promise<number> {
  const result = await db.deleteFrom('oidc_records').where('expires_at', '<', now).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Everything one person holds at one app: their grant, its codes and tokens. */
export async function deletePersonClientOidcRecords(db: Kysely<Database>, personId: string, clientId: string): Promise<number> {
  const result = await db.deleteFrom('oidc_records').where('person_id', '=', personId).where('client_id', '=', clientId).executeTakeFirst();
  return Number(result.numDeletedRows);
}
