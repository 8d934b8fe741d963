// Frozen. Indexes that answer the session check without touching table rows, so its
// cost stays flat as people are added (bench/README.md, growth).
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // GET /api/v1/me counts the unused recovery codes on every request: with every
  // column of the count in the index, the ten rows of a person, scattered through a
  // table of millions by their random ids, are never read.
  await db.schema.createIndex('recovery_codes_unused_count_idx').on('recovery_codes').columns(['user_id', 'kind', 'used_at', 'expires_at']).execute();
  // A person's active methods come in the order they were added, straight from the
  // index instead of a sort on each read.
  await db.schema.createIndex('two_factor_methods_user_status_idx').on('two_factor_methods').columns(['user_id', 'status', 'created_at']).execute();
}
