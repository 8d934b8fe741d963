import type { Insertable, Kysely } from 'kysely';
import type { UserRef } from './users.js';
import type { Database, TrustedDevice, TrustedDeviceTable } from './schema.js';

export async function insertTrustedDevice(db: Kysely<Database>, device: Insertable<TrustedDeviceTable>): Promise<void> {
  await db.insertInto('trusted_devices').values(device).execute();
}

export function findTrustedDevice(db: Kysely<Database>, id: string): Promise<TrustedDevice | undefined> {
  return db.selectFrom('trusted_devices').selectAll().where('id', '=', id).executeTakeFirst();
}

export function listTrustedDevices(db: Kysely<Database>, user: UserRef, now: number): Promise<TrustedDevice[]> {
  return db
    .selectFrom('trusted_devices')
    .selectAll()
    .where('account_id', '=', user.account_id)
    .where('user_id', '=', user.id)
    .where('expires_at', '>', now)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
}

/** Rotates a device token by one conditional update on the old hash: a token is used once. */
export async function rotateTrustedDevice(
  db: Kysely<Database>,
  input: { id: string; oldHash: string; newHash: string; now: number; ip: string | null },
): Promise<boolean> {
  const result = await db
    .updateTable('trusted_devices')
    .set({ secret_hash: input.newHash, last_used_at: input.now, ip: input.ip })
    .where('id', '=', input.id)
    .where('secret_hash', '=', input.oldHash)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function deleteTrustedDevices(db: Kysely<Database>, user: UserRef, id?: string): Promise<number> {
  let query = db.deleteFrom('trusted_devices').where('account_id', '=', user.account_id).where('user_id', '=', user.id);
  if (id !== undefined) query = query.where('id', '=', id);
  return Number((await query.executeTakeFirst()).numDeletedRows);
}
