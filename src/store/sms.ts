// A person's phone number rows (pending while being verified, active once on). The
// codes texted to them live in one_time_codes (one-time-codes.ts).
import type { Kysely } from 'kysely';
import type { Database, TwoFactorMethod } from './schema.js';

export function findSmsMethod(db: Kysely<Database>, userId: string, status: 'pending' | 'active'): Promise<TwoFactorMethod | undefined> {
  return db
    .selectFrom('two_factor_methods')
    .selectAll()
    .where('user_id', '=', userId)
    .where('type', '=', 'sms')
    .where('status', '=', status)
    .orderBy('created_at', 'desc')
    .executeTakeFirst();
}
