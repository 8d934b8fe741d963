// Texted codes live beside what they are bound to: a sign-in flow, or a phone
// number's two_factor_methods row (pending while it is being verified, active for
// confirmations). Only an HMAC of a code is stored; it is spent by one conditional
// update, so of several parallel uses exactly one succeeds.
import type { Kysely } from 'kysely';
import type { Database, OutboxMessage, TwoFactorMethod } from './schema.js';
import type { UserRef } from './users.js';

export interface StoredSmsCode {
  hash: string;
  expiresAt: number;
  sentAt: number;
  messageId: string;
}

export async function saveChallengeCode(db: Kysely<Database>, id: string, code: StoredSmsCode): Promise<void> {
  await db
    .updateTable('sign_in_flows')
    .set((eb) => ({
      sms_code_hash: code.hash,
      sms_code_expires_at: code.expiresAt,
      sms_sent_at: code.sentAt,
      sms_message_id: code.messageId,
      sms_send_count: eb('sms_send_count', '+', 1),
    }))
    .where('id', '=', id)
    .execute();
}

export async function consumeChallengeCode(db: Kysely<Database>, id: string, hash: string): Promise<boolean> {
  const result = await db.updateTable('sign_in_flows').set({ sms_code_hash: null }).where('id', '=', id).where('sms_code_hash', '=', hash).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export function findSmsMethod(db: Kysely<Database>, userId: string, status: 'pending' | 'active'): Promise<TwoFactorMethod | undefined> {
  return db
    .selectFrom('two_factor_methods')
    .selectAll()
    .where('user_id', '=', userId)
    .where('type', '=', 'sms')
    .where('status', '=', status)
    .orderBy('created_at', 'desc')
    .executeTakeFirst();
}

export async function saveMethodCode(db: Kysely<Database>, methodId: string, code: StoredSmsCode): Promise<void> {
  await db
    .updateTable('two_factor_methods')
    .set({ sms_code_hash: code.hash, sms_code_expires_at: code.expiresAt, sms_sent_at: code.sentAt, sms_message_id: code.messageId })
    .where('id', '=', methodId)
    .execute();
}

/** Forgets the method's texted code, spent or not. */
export async function clearMethodCode(db: Kysely<Database>, user: UserRef, methodId: string): Promise<void> {
  await db
    .updateTable('two_factor_methods')
    .set({ sms_code_hash: null, sms_code_expires_at: null, sms_sent_at: null, sms_message_id: null })
    .where('account_id', '=', user.account_id)
    .where('user_id', '=', user.id)
    .where('id', '=', methodId)
    .execute();
}

export async function consumeMethodCode(db: Kysely<Database>, methodId: string, hash: string): Promise<boolean> {
  const result = await db
    .updateTable('two_factor_methods')
    .set({ sms_code_hash: null })
    .where('id', '=', methodId)
    .where('sms_code_hash', '=', hash)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** What became of the text carrying a code: its outbox row's status and attempts. */
export function findMessageState(db: Kysely<Database>, messageId: string | null): Promise<Pick<OutboxMessage, 'status' | 'attempts'> | undefined> {
  if (messageId === null) return Promise.resolve(undefined);
  return db.selectFrom('outbox_messages').select(['status', 'attempts']).where('id', '=', messageId).executeTakeFirst();
}
