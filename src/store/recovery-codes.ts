// One row per recovery code, stored as an HMAC under a key kept outside the database.
import type { Kysely } from 'kysely';
import { newId } from '../crypto/tokens.js';
import type { Database } from './schema.js';
import type { UserRef } from './users.js';

export async function replaceUserRecoveryCodes(
  db: Kysely<Database>,
  input: { accountId: string; userId: string; codeHmacs: string[]; now: number },
): Promise<void> {
  // The old set dies with the new one (SECURITY.md, recovery codes).
  await db.deleteFrom('recovery_codes').where('account_id', '=', input.accountId).where('user_id', '=', input.userId).where('kind', '=', 'user').execute();
  await db
    .insertInto('recovery_codes')
    .values(
      input.codeHmacs.map((codeHmac) => ({
        id: newId(),
        account_id: input.accountId,
        user_id: input.userId,
        code_hmac: codeHmac,
        kind: 'user' as const,
        created_at: input.now,
        used_at: null,
        expires_at: null,
      })),
    )
    .execute();
}

/** One admin-issued code at a time: a new one voids the last. */
export async function replaceAdminRecoveryCode(
  db: Kysely<Database>,
  user: UserRef,
  input: { codeHmac: string; now: number; expiresAt: number },
): Promise<void> {
  await db.deleteFrom('recovery_codes').where('account_id', '=', user.account_id).where('user_id', '=', user.id).where('kind', '=', 'admin').execute();
  await db
    .insertInto('recovery_codes')
    .values({
      id: newId(),
      account_id: user.account_id,
      user_id: user.id,
      code_hmac: input.codeHmac,
      kind: 'admin',
      created_at: input.now,
      used_at: null,
      expires_at: input.expiresAt,
    })
    .execute();
}

/** Uses a code by one conditional update: of concurrent uses, exactly one changes the
 * row. `onlyKind` limits it to one kind of code. */
export async function consumeRecoveryCode(
  db: Kysely<Database>,
  user: UserRef,
  input: { codeHmac: string; now: number; onlyKind?: 'admin' },
): Promise<'user' | 'admin' | null> {
  const row = await db
    .updateTable('recovery_codes')
    .set({ used_at: input.now })
    .$if(input.onlyKind !== undefined, (query) => query.where('kind', '=', input.onlyKind!))
    .where('account_id', '=', user.account_id)
    .where('user_id', '=', user.id)
    .where('code_hmac', '=', input.codeHmac)
    .where('used_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', input.now)]))
    .returning('kind')
    .executeTakeFirst();
  return row?.kind ?? null;
}

/** Whether this code was one of the person's and is spent (to say so, not "not right"). */
export async function wasRecoveryCodeUsed(db: Kysely<Database>, user: UserRef, codeHmac: string): Promise<boolean> {
  const row = await db
    .selectFrom('recovery_codes')
    .select('id')
    .where('account_id', '=', user.account_id)
    .where('user_id', '=', user.id)
    .where('code_hmac', '=', codeHmac)
    .where('used_at', 'is not', null)
    .executeTakeFirst();
  return row !== undefined;
}

export async function deleteAllRecoveryCodes(db: Kysely<Database>, user: UserRef): Promise<void> {
  await db.deleteFrom('recovery_codes').where('account_id', '=', user.account_id).where('user_id', '=', user.id).execute();
}
