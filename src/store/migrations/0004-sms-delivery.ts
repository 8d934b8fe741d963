// Frozen. A texted code remembers the outbox message that carries it, so the person
// can be told when the text could not be sent (and no attempt is counted then).
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('sign_in_challenges').addColumn('sms_message_id', 'text').execute();
  await db.schema.alterTable('two_factor_methods').addColumn('sms_message_id', 'text').execute();
}
