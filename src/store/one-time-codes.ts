// Sent codes (texted or emailed), one row each, bound to what they were sent for. Only
// an HMAC of a code is stored; a code is spent by one conditional update, so of
// several parallel uses exactly one succeeds, and each wrong guess takes one of its
// tries by another, so parallel guesses cannot share a try.
import type { Kysely } from 'kysely';
import type { Database, OneTimeCode, OneTimeCodePurpose, OutboxMessage } from './schema.js';

export async function insertOneTimeCode(
  db: Kysely<Database>,
  code: {
    id: string;
    accountId: string;
    userId: string;
    purpose: OneTimeCodePurpose;
    boundTo: string;
    codeHmac: string;
    sentAt: number;
    expiresAt: number;
    messageId: string | null;
  },
): Promise<void> {
  await db
    .insertInto('one_time_codes')
    .values({
      id: code.id,
      account_id: code.accountId,
      user_id: code.userId,
      purpose: code.purpose,
      bound_to: code.boundTo,
      code_hmac: code.codeHmac,
      sent_at: code.sentAt,
      expires_at: code.expiresAt,
      attempts: 0,
      used_at: null,
      message_id: code.messageId,
    })
    .execute();
}

/** The newest code sent for one binding: the only one that works (a new code voids the last). */
export function findNewestOneTimeCode(db: Kysely<Database>, purpose: OneTimeCodePurpose, boundTo: string): Promise<OneTimeCode | undefined> {
  return db
    .selectFrom('one_time_codes')
    .selectAll()
    .where('bound_to', '=', boundTo)
    .where('purpose', '=', purpose)
    .orderBy('sent_at', 'desc')
    .orderBy('id', 'desc')
    .executeTakeFirst();
}

/** When each of a person's codes of one purpose sent since `since` went out, newest first. */
export async function oneTimeCodeTimesSince(db: Kysely<Database>, userId: string, purpose: OneTimeCodePurpose, since: number): Promise<number[]> {
  const rows = await db
    .selectFrom('one_time_codes')
    .select('sent_at')
    .where('user_id', '=', userId)
    .where('purpose', '=', purpose)
    .where('sent_at', '>', since)
    .orderBy('sent_at', 'desc')
    .execute();
  return rows.map((row) => row.sent_at);
}

/** Spends a right code once: true for the one caller whose update changed the row. */
export async function consumeOneTimeCode(db: Kysely<Database>, input: { id: string; codeHmac: string; maxTries: number; now: number }): Promise<boolean> {
  const result = await db
    .updateTable('one_time_codes')
    .set({ used_at: input.now })
    .where('id', '=', input.id)
    .where('code_hmac', '=', input.codeHmac)
    .where('used_at', 'is', null)
    .where('attempts', '<', input.maxTries)
    .where('expires_at', '>', input.now)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Takes one try of a live code: the tries used with this one, or null when none was
 * left (or the code is spent). */
export async function spendOneTimeCodeTry(db: Kysely<Database>, id: string, maxTries: number): Promise<number | null> {
  const row = await db
    .updateTable('one_time_codes')
    .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
    .where('id', '=', id)
    .where('used_at', 'is', null)
    .where('attempts', '<', maxTries)
    .returning('attempts')
    .executeTakeFirst();
  return row ? row.attempts : null;
}

/** What became of the message carrying a code: its outbox row's status and attempts. */
export function findMessageState(db: Kysely<Database>, messageId: string | null): Promise<Pick<OutboxMessage, 'status' | 'attempts'> | undefined> {
  if (messageId === null) return Promise.resolve(undefined);
  return db.selectFrom('outbox_messages').select(['status', 'attempts']).where('id', '=', messageId).executeTakeFirst();
}
