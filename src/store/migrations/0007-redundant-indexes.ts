// Frozen. Two indexes on user_id alone, each the first column of a wider index on the
// same table (known_devices_user_hash_idx, two_factor_methods_user_status_idx) that
// answers the same lookups. Every insert wrote both: one page more per sign-in from a
// new computer, in the second step's commit (bench/README.md, what changed).
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('known_devices_user_idx').execute();
  await db.schema.dropIndex('two_factor_methods_user_idx').execute();
}
