// Frozen. Passkey sign-in (DESIGN.md row 18):
// - two_factor_methods.webauthn_passkey: 1 for a credential added as a passkey
//   (discoverable, with user verification), which may sign a person in alone;
//   security keys added before (0) stay second factors.
// - sign_in_flows.passkey_challenge: the challenge of a passkey sign-in, which starts
//   before anyone is known; taken (set to null) by the one request that checks it.
// - accounts.passkey_sign_in: 1 (the default) lets the account's people sign in with a
//   passkey alone; 0 keeps passkeys as second factors only.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('two_factor_methods')
    .addColumn('webauthn_passkey', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable('sign_in_flows').addColumn('passkey_challenge', 'text').execute();
  await db.schema
    .alterTable('accounts')
    .addColumn('passkey_sign_in', 'integer', (c) => c.notNull().defaultTo(1))
    .execute();
}
