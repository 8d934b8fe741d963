import type { Kysely } from 'kysely';
import { CHALLENGE_COLUMNS, ownedRowReader } from './joined-rows.js';
import { preparedQuery } from './prepared.js';
import type { Database, FirstFactor, SignInChallenge } from './schema.js';

export async function insertChallenge(
  db: Kysely<Database>,
  challenge: {
    id: string;
    accountId: string;
    userId: string;
    secretHash: string;
    firstFactor: FirstFactor;
    now: number;
    expiresAt: number;
    ip: string | null;
    userAgent: string | null;
  },
): Promise<void> {
  await db
    .insertInto('sign_in_challenges')
    .values({
      id: challenge.id,
      account_id: challenge.accountId,
      user_id: challenge.userId,
      secret_hash: challenge.secretHash,
      state: 'pending',
      first_factor: challenge.firstFactor,
      attempts: 0,
      created_at: challenge.now,
      expires_at: challenge.expiresAt,
      completed_at: null,
      ip: challenge.ip,
      user_agent: challenge.userAgent?.slice(0, 512) ?? null,
      sms_code_hash: null,
      sms_code_expires_at: null,
      sms_sent_at: null,
      sms_send_count: 0,
    })
    .execute();
}

export function findChallenge(db: Kysely<Database>, id: string): Promise<SignInChallenge | undefined> {
  return db.selectFrom('sign_in_challenges').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The challenge with its person and account, in one read (the second step of sign-in
 * opens one on every request). */
export const findChallengeWithOwner = ownedRowReader<SignInChallenge>('sign_in_challenges', 'c', CHALLENGE_COLUMNS);

/** Ends a pending challenge once: the conditional update lets exactly one caller finish it. */
const challengeCompletion = preparedQuery<{ id: string; now: number }, never>((db, slot) =>
  db
    .updateTable('sign_in_challenges')
    .set({ state: 'done', completed_at: slot('now') })
    .where('id', '=', slot('id'))
    .where('state', '=', 'pending')
    .where('expires_at', '>', slot('now')),
);

export async function completeChallenge(db: Kysely<Database>, id: string, now: number): Promise<boolean> {
  return Number((await challengeCompletion(db, { id, now })).numAffectedRows) === 1;
}

/** Counts a wrong code on the challenge; returns the new count. */
export async function countChallengeFailure(db: Kysely<Database>, id: string, limit: number): Promise<number> {
  const row = await db
    .updateTable('sign_in_challenges')
    .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
    .where('id', '=', id)
    .returning('attempts')
    .executeTakeFirst();
  const attempts = row?.attempts ?? limit;
  if (attempts >= limit) {
    await db.updateTable('sign_in_challenges').set({ state: 'locked' }).where('id', '=', id).where('state', '=', 'pending').execute();
  }
  return attempts;
}

/** A finished sign-in voids the person's other open challenges. */
export async function expireUserChallenges(db: Kysely<Database>, userId: string): Promise<void> {
  await db.updateTable('sign_in_challenges').set({ state: 'expired' }).where('user_id', '=', userId).where('state', '=', 'pending').execute();
}
