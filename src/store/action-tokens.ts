import type { Kysely } from 'kysely';
import type { ActionToken, ActionTokenPurpose, Database } from './schema.js';

export async function insertActionToken(
  db: Kysely<Database>,
  token: { id: string; accountId: string | null; userId: string | null; purpose: ActionTokenPurpose; secretHash: string; now: number; expiresAt: number },
): Promise<void> {
  await db
    .insertInto('action_tokens')
    .values({
      id: token.id,
      account_id: token.accountId,
      user_id: token.userId,
      purpose: token.purpose,
      secret_hash: token.secretHash,
      attempts: 0,
      created_at: token.now,
      expires_at: token.expiresAt,
      used_at: null,
    })
    .execute();
}

export function findActionToken(db: Kysely<Database>, id: string, purpose: ActionTokenPurpose): Promise<ActionToken | undefined> {
  return db.selectFrom('action_tokens').selectAll().where('id', '=', id).where('purpose', '=', purpose).executeTakeFirst();
}

/** Consumes a token by one conditional update: of concurrent uses, exactly one wins. */
export async function consumeActionToken(db: Kysely<Database>, id: string, now: number): Promise<boolean> {
  const result = await db
    .updateTable('action_tokens')
    .set({ used_at: now })
    .where('id', '=', id)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Voids a person's unused tokens of one purpose (a newer link replaces the older). */
export async function voidActionTokens(db: Kysely<Database>, userId: string, purpose: ActionTokenPurpose, now: number): Promise<void> {
  await db
    .updateTable('action_tokens')
    .set({ used_at: now })
    .where('user_id', '=', userId)
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .execute();
}

/** A person's newest unused, unexpired token of one purpose. */
export function findLiveActionToken(db: Kysely<Database>, userId: string, purpose: ActionTokenPurpose, now: number): Promise<ActionToken | undefined> {
  return db
    .selectFrom('action_tokens')
    .selectAll()
    .where('user_id', '=', userId)
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .orderBy('created_at', 'desc')
    .executeTakeFirst();
}

/** When each of a person's tokens of one purpose made since `since` was made, newest first. */
export async function actionTokenTimesSince(db: Kysely<Database>, userId: string, purpose: ActionTokenPurpose, since: number): Promise<number[]> {
  const rows = await db
    .selectFrom('action_tokens')
    .select('created_at')
    .where('user_id', '=', userId)
    .where('purpose', '=', purpose)
    .where('created_at', '>', since)
    .orderBy('created_at', 'desc')
    .execute();
  return rows.map((row) => row.created_at);
}

/**
 * Spends one try of a live code by one conditional update, so parallel wrong guesses
 * cannot share a try: the answer is the tries used with this one, or null when none
 * was left (or the code is used or gone). The try that uses the last one voids it.
 */
export async function spendActionTokenTry(db: Kysely<Database>, id: string, maxTries: number, now: number): Promise<number | null> {
  const row = await db
    .updateTable('action_tokens')
    .set((eb) => ({
      attempts: eb('attempts', '+', 1),
      used_at: eb
        .case()
        .when('attempts', '>=', maxTries - 1)
        .then(now)
        .else(null)
        .end(),
    }))
    .where('id', '=', id)
    .where('used_at', 'is', null)
    .where('attempts', '<', maxTries)
    .returning('attempts')
    .executeTakeFirst();
  return row ? row.attempts : null;
}
