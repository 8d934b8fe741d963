import type { Kysely } from 'kysely';
import type { ActionToken, ActionTokenPurpose, Database } from './schema.js';
import type { UserRef } from './users.js';

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
export async function voidActionTokens(db: Kysely<Database>, user: UserRef, purpose: ActionTokenPurpose, now: number): Promise<void> {
  await db
    .updateTable('action_tokens')
    .set({ used_at: now })
    .where('account_id', '=', user.account_id)
    .where('user_id', '=', user.id)
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .execute();
}
