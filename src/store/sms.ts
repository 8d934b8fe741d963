// A person's phone number rows (pending while being verified, active once on). The
// codes texted to them live in one_time_codes (one-time-codes.ts).
import type { Kysely } from 'kysely';
import type { UserRef } from './users.js';
import type { Database, TwoFactorMethod } from './schema.js';

export function findSmsMethod(db: Kysely<Database>, user: UserRef, status: 'pending' | 'active'): Promise<TwoFactorMethod | undefined> {
  return db
    .selectFrom('two_factor_methods')
    .selectAll()
    .where('account_id', '=', user.account_id)
    .where('user_id', '=', user.id)
    .where('type', '=', 'sms')
    .where('status', '=', status)
    .orderBy('created_at', 'desc')
    .executeTakeFirst();
}
