// Frozen. A forced first enrolment starts with a code emailed to the person; the
// setup-only session records when that was done.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('sessions').addColumn('email_confirmed_at', 'bigint').execute();
}
