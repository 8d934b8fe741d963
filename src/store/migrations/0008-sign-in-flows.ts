// Frozen. One persisted sign-in flow replaces the challenge: the account and the person
// once known (either may be unknown when a flow starts from another app or a passkey),
// every proof given with its time, what the caller requires, its state and expiry.
// Challenges still pending are carried over with their first factor as their one proof;
// a code texted for one is not (texted codes live in one_time_codes, 0009): the person
// asks for another.
// Sessions record the flow that made them and what it proved (amr, acr).
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('sign_in_flows')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.references('accounts.id'))
    .addColumn('user_id', 'text', (c) => c.references('users.id'))
    .addColumn('secret_hash', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('proofs', 'text', (c) => c.notNull())
    .addColumn('return_to', 'text')
    .addColumn('required_acr', 'text')
    .addColumn('max_age_seconds', 'integer')
    .addColumn('prompt_login', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('completed_at', 'bigint')
    .addColumn('ip', 'text')
    .addColumn('user_agent', 'text')
    .execute();
  await db.schema.createIndex('sign_in_flows_user_idx').on('sign_in_flows').column('user_id').execute();

  await sql`
    insert into sign_in_flows (id, account_id, user_id, secret_hash, state, proofs, prompt_login, attempts, created_at, expires_at,
      completed_at, ip, user_agent)
    select id, account_id, user_id, secret_hash, 'second_factor',
      '[{"kind":"' || first_factor || '","at":' || cast(created_at as text) || '}]',
      0, attempts, created_at, expires_at, completed_at, ip, user_agent
    from sign_in_challenges where state = 'pending'
  `.execute(db);
  await db.schema.dropTable('sign_in_challenges').execute();

  await db.schema.alterTable('sessions').addColumn('flow_id', 'text').execute();
  await db.schema.alterTable('sessions').addColumn('amr', 'text').execute();
  await db.schema.alterTable('sessions').addColumn('acr', 'text').execute();
}
