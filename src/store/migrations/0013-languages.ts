// Frozen. Languages and time zones (DESIGN.md row 21):
// - users.language: the person's own choice among the supported tags (BCP 47), or null
//   to follow the account's default and then the browser.
// - users.time_zone: an IANA time zone name, or null for UTC.
// - accounts.default_language: the language of the account's people who chose none,
//   or null to follow each browser.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').addColumn('language', 'text').execute();
  await db.schema.alterTable('users').addColumn('time_zone', 'text').execute();
  await db.schema.alterTable('accounts').addColumn('default_language', 'text').execute();
}
