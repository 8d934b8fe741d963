import type { Kysely } from 'kysely';
import { newId } from '../crypto/tokens.js';
import type { UserRef } from './users.js';
import type { Database, TwoFactorMethod, WebauthnPurpose } from './schema.js';

/** Keeps one live ceremony per (what it is bound to, purpose): asking again replaces
 * it, and the person's expired ones go at the same time. */
export async function saveCeremony(
  db: Kysely<Database>,
  input: { accountId: string; userId: string; purpose: WebauthnPurpose; boundTo: string; challenge: string; now: number; expiresAt: number },
): Promise<void> {
  await db
    .deleteFrom('webauthn_challenges')
    .where((eb) =>
      eb.or([
        eb.and([eb('bound_to', '=', input.boundTo), eb('purpose', '=', input.purpose)]),
        eb.and([eb('user_id', '=', input.userId), eb('expires_at', '<=', input.now)]),
      ]),
    )
    .execute();
  await db
    .insertInto('webauthn_challenges')
    .values({
      id: newId(),
      account_id: input.accountId,
      user_id: input.userId,
      purpose: input.purpose,
      bound_to: input.boundTo,
      challenge: input.challenge,
      created_at: input.now,
      expires_at: input.expiresAt,
    })
    .execute();
}

/** The live ceremony's challenge, used up by this call: the delete lets exactly one
 * caller have it, so an assertion can never be checked twice against it. */
export async function takeCeremony(
  db: Kysely<Database>,
  input: { userId: string; boundTo: string; purpose: WebauthnPurpose; now: number },
): Promise<string | null> {
  const row = await db
    .selectFrom('webauthn_challenges')
    .select(['id', 'challenge', 'expires_at'])
    .where('bound_to', '=', input.boundTo)
    .where('purpose', '=', input.purpose)
    .where('user_id', '=', input.userId)
    .executeTakeFirst();
  if (!row) return null;
  const deleted = await db.deleteFrom('webauthn_challenges').where('id', '=', row.id).executeTakeFirst();
  if (Number(deleted.numDeletedRows) !== 1 || row.expires_at <= input.now) return null;
  return row.challenge;
}

export function listSecurityKeys(db: Kysely<Database>, user: UserRef): Promise<TwoFactorMethod[]> {
  return db
    .selectFrom('two_factor_methods')
    .selectAll()
    .where('account_id', '=', user.account_id)
    .where('user_id', '=', user.id)
    .where('type', '=', 'webauthn')
    .where('status', '=', 'active')
    .orderBy('created_at')
    .execute();
}

export function findCredential(db: Kysely<Database>, credentialId: string): Promise<TwoFactorMethod | undefined> {
  return db.selectFrom('two_factor_methods').selectAll().where('webauthn_credential_id', '=', credentialId).executeTakeFirst();
}

/** Compare-and-set of a key's signature counter: of two uses of one key at the same
 * instant, only one moves it on. */
export async function advanceSignCount(
  db: Kysely<Database>,
  key: Pick<TwoFactorMethod, 'id' | 'account_id' | 'user_id' | 'webauthn_sign_count'>,
  input: { signCount: number; backedUp: boolean; now: number },
): Promise<boolean> {
  const updated = await db
    .updateTable('two_factor_methods')
    .set({ webauthn_sign_count: input.signCount, webauthn_backed_up: input.backedUp ? 1 : 0, last_used_at: input.now })
    .where('account_id', '=', key.account_id)
    .where('user_id', '=', key.user_id)
    .where('id', '=', key.id)
    .where((eb) => (key.webauthn_sign_count === null ? eb('webauthn_sign_count', 'is', null) : eb('webauthn_sign_count', '=', key.webauthn_sign_count)))
    .executeTakeFirst();
  return Number(updated.numUpdatedRows) === 1;
}
