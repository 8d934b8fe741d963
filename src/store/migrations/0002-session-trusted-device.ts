// Frozen. Links a session to the trusted computer it came from, so lists can say
// "this computer".
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('sessions').addColumn('trusted_device_id', 'text').execute();
  await db.schema.createIndex('known_devices_user_hash_idx').on('known_devices').columns(['user_id', 'device_id_hash']).execute();
}
