// Frozen. A team's other apps (DESIGN.md rows 16 and 17):
// - `apps`: one row per app an account admin registered. Its id is the OpenID Connect
//   client_id; a confidential app's secret is kept as a SHA-256 only. `kind` proxy is a
//   host guarded by forward-auth (row 17), whose `host` is unique in the deployment.
// - `oidc_records`: what oidc-provider stores (sessions, interactions, grants, codes,
//   tokens), one row per model and id. The id of a code, token, session or interaction
//   is a bearer secret, so only an HMAC of it is stored (`key`); `grant_id`,
//   `person_id` and `client_id` are copied out of the payload to find rows by them, and
//   `consumed_at` is set by one conditional update (a code is redeemed once).
// - `oidc_signing_keys`: the keys that sign ID tokens and logout tokens, the private
//   half sealed under the key ring. A key is published from `created_at`, signs from
//   `signs_from`, and is withdrawn at `retires_at`.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('apps')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('redirect_uris', 'text', (c) => c.notNull())
    .addColumn('post_logout_redirect_uris', 'text', (c) => c.notNull())
    .addColumn('backchannel_logout_uri', 'text')
    .addColumn('host', 'text')
    .addColumn('first_party', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('allowed_roles', 'text', (c) => c.notNull())
    .addColumn('required_acr', 'text')
    .addColumn('secret_hash', 'text')
    .addColumn('created_by_user_id', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('apps_account_idx').on('apps').columns(['account_id', 'created_at']).execute();
  await db.schema.createIndex('apps_host_idx').on('apps').column('host').unique().execute();

  await db.schema
    .createTable('oidc_records')
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('grant_id', 'text')
    .addColumn('uid', 'text')
    .addColumn('person_id', 'text')
    .addColumn('client_id', 'text')
    .addColumn('expires_at', 'bigint')
    .addColumn('consumed_at', 'bigint')
    .addPrimaryKeyConstraint('oidc_records_pk', ['model', 'key'])
    .execute();
  await db.schema.createIndex('oidc_records_grant_idx').on('oidc_records').column('grant_id').execute();
  await db.schema.createIndex('oidc_records_uid_idx').on('oidc_records').columns(['uid', 'model']).execute();
  await db.schema.createIndex('oidc_records_person_idx').on('oidc_records').columns(['person_id', 'model']).execute();
  await db.schema.createIndex('oidc_records_client_idx').on('oidc_records').column('client_id').execute();
  await db.schema.createIndex('oidc_records_expiry_idx').on('oidc_records').column('expires_at').execute();

  await db.schema
    .createTable('oidc_signing_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('alg', 'text', (c) => c.notNull())
    .addColumn('public_jwk', 'text', (c) => c.notNull())
    .addColumn('private_key_ciphertext', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('signs_from', 'bigint', (c) => c.notNull())
    .addColumn('retires_at', 'bigint')
    .execute();
}
