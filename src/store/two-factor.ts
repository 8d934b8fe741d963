import type { Kysely } from 'kysely';
import type { Database, TwoFactorMethod } from './schema.js';

export function listActiveMethods(db: Kysely<Database>, userId: string): Promise<TwoFactorMethod[]> {
  return db.selectFrom('two_factor_methods').selectAll().where('user_id', '=', userId).where('status', '=', 'active').orderBy('created_at').execute();
}

export function findMethod(db: Kysely<Database>, userId: string, id: string): Promise<TwoFactorMethod | undefined> {
  return db.selectFrom('two_factor_methods').selectAll().where('user_id', '=', userId).where('id', '=', id).executeTakeFirst();
}

export function findPendingMethod(db: Kysely<Database>, userId: string, type: TwoFactorMethod['type']): Promise<TwoFactorMethod | undefined> {
  return db
    .selectFrom('two_factor_methods')
    .selectAll()
    .where('user_id', '=', userId)
    .where('type', '=', type)
    .where('status', '=', 'pending')
    .orderBy('created_at', 'desc')
    .executeTakeFirst();
}

export async function countUnusedRecoveryCodes(db: Kysely<Database>, userId: string, now: number): Promise<number> {
  const row = await db
    .selectFrom('recovery_codes')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('user_id', '=', userId)
    .where('kind', '=', 'user')
    .where('used_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .executeTakeFirstOrThrow();
  return Number(row.count);
}
