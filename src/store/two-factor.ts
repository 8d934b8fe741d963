import { sql, type Insertable, type Kysely, type RawBuilder } from 'kysely';
import { TWO_FACTOR_METHOD_COLUMNS } from './columns.js';
import { preparedQuery } from './prepared.js';
import type { Database, TwoFactorMethod, TwoFactorMethodTable, TwoFactorMethodType } from './schema.js';
import type { UserRef } from './users.js';

/** Every method-specific column empty: a new factor row spreads this, then sets its
 * own type's columns. */
export const NO_METHOD_DETAILS = {
  name: null,
  secret_ciphertext: null,
  algorithm: null,
  digits: null,
  period_seconds: null,
  last_used_step: null,
  phone_ciphertext: null,
  phone_last_digits: null,
  sms_code_hash: null,
  sms_code_expires_at: null,
  sms_sent_at: null,
  sms_message_id: null,
  webauthn_credential_id: null,
  webauthn_public_key: null,
  webauthn_sign_count: null,
  webauthn_transports: null,
  webauthn_backed_up: null,
  webauthn_device_type: null,
  webauthn_passkey: 0,
  activated_at: null,
  last_used_at: null,
  expires_at: null,
} as const satisfies Partial<TwoFactorMethod>;

const activeMethods = preparedQuery<{ accountId: string; userId: string }, TwoFactorMethod>((db, slot) =>
  db
    .selectFrom('two_factor_methods')
    .select(TWO_FACTOR_METHOD_COLUMNS)
    .where('user_id', '=', slot('userId'))
    .where('status', '=', 'active')
    .where('account_id', '=', slot('accountId'))
    .orderBy('created_at'),
);

export async function listActiveMethods(db: Kysely<Database>, user: UserRef): Promise<TwoFactorMethod[]> {
  return (await activeMethods(db, { accountId: user.account_id, userId: user.id })).rows;
}

const totpStepClaim = preparedQuery<{ id: string; step: number; now: number }, never>((db, slot) =>
  db
    .updateTable('two_factor_methods')
    .set({ last_used_step: slot('step'), last_used_at: slot('now') })
    .where('id', '=', slot('id'))
    .where('status', '=', 'active')
    .where((eb) => eb.or([eb('last_used_step', 'is', null), eb('last_used_step', '<', slot('step'))])),
);

/** Compare-and-set of a TOTP method's last used step (RFC 6238 §5.2): true for the one
 * request that moves it forward to `step`, while the method is still active. */
export async function claimTotpStep(db: Kysely<Database>, input: { id: string; step: number; now: number }): Promise<boolean> {
  return Number((await totpStepClaim(db, input)).numAffectedRows) === 1;
}

/** The kinds of factor a person has on, each once (a person may have two keys or apps). */
export async function listActiveFactorTypes(db: Kysely<Database>, user: UserRef): Promise<TwoFactorMethodType[]> {
  return [...new Set((await listActiveMethods(db, user)).map((method) => method.type))];
}

export function findMethod(db: Kysely<Database>, user: UserRef, id: string): Promise<TwoFactorMethod | undefined> {
  return db
    .selectFrom('two_factor_methods')
    .selectAll()
    .where('account_id', '=', user.account_id)
    .where('user_id', '=', user.id)
    .where('id', '=', id)
    .executeTakeFirst();
}

export function findActiveMethodOfType(db: Kysely<Database>, user: UserRef, type: TwoFactorMethod['type']): Promise<TwoFactorMethod | undefined> {
  return db
    .selectFrom('two_factor_methods')
    .selectAll()
    .where('account_id', '=', user.account_id)
    .where('user_id', '=', user.id)
    .where('type', '=', type)
    .where('status', '=', 'active')
    .orderBy('created_at', 'desc')
    .executeTakeFirst();
}

export function findPendingMethod(db: Kysely<Database>, user: UserRef, type: TwoFactorMethod['type']): Promise<TwoFactorMethod | undefined> {
  return db
    .selectFrom('two_factor_methods')
    .selectAll()
    .where('account_id', '=', user.account_id)
    .where('user_id', '=', user.id)
    .where('type', '=', type)
    .where('status', '=', 'pending')
    .orderBy('created_at', 'desc')
    .executeTakeFirst();
}

export async function insertMethod(db: Kysely<Database>, method: Insertable<TwoFactorMethodTable>): Promise<void> {
  await db.insertInto('two_factor_methods').values(method).execute();
}

/** Inserts a security key's row unless its credential is already stored: of the same
 * key added from two sessions at once, one wins. Answers whether this one did. */
export async function insertSecurityKeyMethod(db: Kysely<Database>, method: Insertable<TwoFactorMethodTable>): Promise<boolean> {
  const inserted = await db
    .insertInto('two_factor_methods')
    .values(method)
    .onConflict((conflict) => conflict.column('webauthn_credential_id').doNothing())
    .executeTakeFirst();
  return Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1;
}

/** Turns a pending method on, once: false when it is no longer pending. */
export async function activatePendingMethod(
  db: Kysely<Database>,
  user: UserRef,
  input: { id: string; lastUsedStep: number | null; now: number },
): Promise<boolean> {
  const activated = await db
    .updateTable('two_factor_methods')
    .set({ status: 'active', activated_at: input.now, expires_at: null, last_used_step: input.lastUsedStep, last_used_at: input.now })
    .where('account_id', '=', user.account_id)
    .where('user_id', '=', user.id)
    .where('id', '=', input.id)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  return Number(activated.numUpdatedRows) === 1;
}

export async function renameMethod(db: Kysely<Database>, user: UserRef, id: string, name: string): Promise<void> {
  await db
    .updateTable('two_factor_methods')
    .set({ name })
    .where('account_id', '=', user.account_id)
    .where('user_id', '=', user.id)
    .where('id', '=', id)
    .execute();
}

export async function deleteMethod(db: Kysely<Database>, user: UserRef, id: string): Promise<void> {
  await db.deleteFrom('two_factor_methods').where('account_id', '=', user.account_id).where('user_id', '=', user.id).where('id', '=', id).execute();
}

/** Drops the person's unfinished enrolments of one type (starting again replaces them). */
export async function deletePendingMethods(db: Kysely<Database>, user: UserRef, type: TwoFactorMethodType): Promise<void> {
  await db
    .deleteFrom('two_factor_methods')
    .where('account_id', '=', user.account_id)
    .where('user_id', '=', user.id)
    .where('type', '=', type)
    .where('status', '=', 'pending')
    .execute();
}

export async function deleteAllMethods(db: Kysely<Database>, user: UserRef): Promise<void> {
  await db.deleteFrom('two_factor_methods').where('account_id', '=', user.account_id).where('user_id', '=', user.id).execute();
}

/** A person's own recovery code (not one an admin issued) still usable at `now`, for a
 * row aliased `r`: the one rule both counts below apply. */
function usableOwnRecoveryCode(now: number): RawBuilder<boolean> {
  return sql<boolean>`r.kind = 'user' and r.used_at is null and (r.expires_at is null or r.expires_at > ${now})`;
}

/** The types of the active methods, oldest first (each key marked when it is a
 * passkey), and the unused recovery codes, in one statement: the two-factor summary behind every GET /me (bench/README.md, session
 * check). With no active method there is no row, and no code to count either. */
const methodTypesAndCodesLeft = preparedQuery<
  { userId: string; now: number },
  { type: TwoFactorMethodType; webauthn_passkey: number | string; codes_left: number | string }
>(
  (_db, slot) => sql`
    select m.type, m.webauthn_passkey, (select count(*) from recovery_codes r where r.user_id = m.user_id and ${usableOwnRecoveryCode(slot('now'))}) as codes_left
    from two_factor_methods m
    where m.user_id = ${slot('userId')} and m.status = 'active'
    order by m.created_at`,
);

export async function activeMethodTypesAndCodesLeft(
  db: Kysely<Database>,
  userId: string,
  now: number,
): Promise<{ types: TwoFactorMethodType[]; passkeys: number; recoveryCodesLeft: number }> {
  const { rows } = await methodTypesAndCodesLeft(db, { userId, now });
  return {
    types: rows.map((row) => row.type),
    passkeys: rows.filter((row) => row.type === 'webauthn' && Number(row.webauthn_passkey) === 1).length,
    recoveryCodesLeft: Number(rows[0]?.codes_left ?? 0),
  };
}

export async function countUnusedRecoveryCodes(db: Kysely<Database>, userId: string, now: number): Promise<number> {
  const { rows } = await sql<{ count: number | string }>`
    select count(*) as count from recovery_codes r where r.user_id = ${userId} and ${usableOwnRecoveryCode(now)}`.execute(db);
  return Number(rows[0]?.count ?? 0);
}
