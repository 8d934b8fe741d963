// Frozen. Security keys and passkeys (WebAuthn): a key is one more row of
// two_factor_methods, and each ceremony's challenge is kept server-side, bound to the
// sign-in challenge or the session that asked for it, and used once.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('two_factor_methods').addColumn('webauthn_credential_id', 'text').execute();
  await db.schema.alterTable('two_factor_methods').addColumn('webauthn_public_key', 'text').execute();
  await db.schema.alterTable('two_factor_methods').addColumn('webauthn_sign_count', 'bigint').execute();
  await db.schema.alterTable('two_factor_methods').addColumn('webauthn_transports', 'text').execute();
  await db.schema.alterTable('two_factor_methods').addColumn('webauthn_backed_up', 'integer').execute();
  await db.schema.alterTable('two_factor_methods').addColumn('webauthn_device_type', 'text').execute();
  await db.schema.createIndex('two_factor_methods_credential_unique').on('two_factor_methods').column('webauthn_credential_id').unique().execute();

  await db.schema
    .createTable('webauthn_challenges')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('purpose', 'text', (c) => c.notNull())
    .addColumn('bound_to', 'text', (c) => c.notNull())
    .addColumn('challenge', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('webauthn_challenges_bound_idx').on('webauthn_challenges').columns(['bound_to', 'purpose']).execute();

  await db.schema
    .alterTable('accounts')
    .addColumn('require_phishing_resistant_admins', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}
