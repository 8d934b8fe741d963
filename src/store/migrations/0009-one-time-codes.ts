// Frozen. One table for every code Tessera sends (texted sign-in and confirmation
// codes, the forced enrolment's emailed code, emailed codes as a second factor): one
// row per code, bound to what it was sent for (`purpose` and `bound_to`: a sign-in
// challenge, a two_factor_methods row or a person), stored as an HMAC only, spent by
// one conditional update. The sms_* columns of two_factor_methods and the
// email_confirmation action tokens are no longer written; they stay readable, and a
// code in flight at the upgrade (10 minutes at most) is simply sent again (the texted
// sign-in codes went with sign_in_challenges in 0008).
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('one_time_codes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('purpose', 'text', (c) => c.notNull())
    .addColumn('bound_to', 'text', (c) => c.notNull())
    .addColumn('code_hmac', 'text', (c) => c.notNull())
    .addColumn('sent_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('used_at', 'bigint')
    .addColumn('message_id', 'text')
    .execute();
  // The newest code of one binding (check, cooldown), and a person's codes of one
  // purpose in the last hour (the hourly cap).
  await db.schema.createIndex('one_time_codes_bound_idx').on('one_time_codes').columns(['bound_to', 'purpose', 'sent_at']).execute();
  await db.schema.createIndex('one_time_codes_user_idx').on('one_time_codes').columns(['user_id', 'purpose', 'sent_at']).execute();
}
