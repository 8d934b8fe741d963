// The transactional outbox: a message is written in the same transaction as the
// action that caused it, and a worker delivers it later. Payloads (recipients,
// links, codes) are encrypted at rest like every other secret.
import { sql, type Kysely } from 'kysely';
import type { KeyRing } from '../crypto/keys.js';
import { decryptSecret, encryptSecret, sealedPlace } from '../crypto/secret-box.js';
import { newId } from '../crypto/tokens.js';
import type { Dialect } from './database.js';
import { claimNextDue } from './queue-claims.js';
import type { Database, OutboxChannel, OutboxMessage } from './schema.js';

/** An email's or a text message's content. */
export interface OutboxPayload {
  to: string;
  subject: string;
  text: string;
  html?: string;
}

/** One app to tell that a person signed out (OpenID Connect Back-Channel Logout 1.0):
 * the logout token itself is signed when it is sent, so every attempt carries a fresh
 * `iat` and no token sits in the database. */
export interface BackchannelLogoutPayload {
  /** The app's backchannel_logout_uri. */
  uri: string;
  client_id: string;
  sub: string;
  sid?: string;
}

/** What each channel's messages carry. */
export interface OutboxPayloads {
  email: OutboxPayload;
  sms: OutboxPayload;
  backchannel: BackchannelLogoutPayload;
}

export type NewOutboxMessage = {
  [Channel in OutboxChannel]: {
    accountId: string | null;
    userId: string | null;
    channel: Channel;
    purpose: string;
    payload: OutboxPayloads[Channel];
  };
}[OutboxChannel];

export async function enqueueMessage(db: Kysely<Database>, keys: KeyRing, message: NewOutboxMessage, now: number): Promise<string> {
  const id = newId();
  await db
    .insertInto('outbox_messages')
    .values({
      id,
      account_id: message.accountId,
      user_id: message.userId,
      channel: message.channel,
      purpose: message.purpose,
      payload_ciphertext: encryptSecret(keys, JSON.stringify(message.payload), sealedPlace('outbox_messages', 'payload_ciphertext', id)),
      status: 'pending',
      attempts: 0,
      next_attempt_at: now,
      claimed_until: null,
      sent_at: null,
      last_error: null,
      created_at: now,
    })
    .execute();
  return id;
}

/** Logs a person out of one app: an outbox message in the caller's transaction, so the
 * call exists exactly when the sign-out does. Nothing is checked here (an app's bad
 * address must never fail a sign-out): the sender refuses what it cannot call. */
export function enqueueBackchannelLogout(
  db: Kysely<Database>,
  keys: KeyRing,
  logout: { accountId: string; userId: string; uri: string; clientId: string; sub: string; sid?: string },
  now: number,
): Promise<string> {
  return enqueueMessage(
    db,
    keys,
    {
      accountId: logout.accountId,
      userId: logout.userId,
      channel: 'backchannel',
      purpose: 'backchannel_logout',
      payload: { uri: logout.uri, client_id: logout.clientId, sub: logout.sub, ...(logout.sid === undefined ? {} : { sid: logout.sid }) },
    },
    now,
  );
}

export function isOnChannel<Channel extends OutboxChannel>(message: OutboxMessage, channel: Channel): message is OutboxMessage & { channel: Channel } {
  return message.channel === channel;
}

/** The message's content, of the shape its channel carries (enqueueMessage writes them together). */
export function readPayload<Channel extends OutboxChannel>(keys: KeyRing, message: OutboxMessage & { channel: Channel }): OutboxPayloads[Channel] | null {
  return message.payload_ciphertext
    ? (JSON.parse(decryptSecret(keys, message.payload_ciphertext, sealedPlace('outbox_messages', 'payload_ciphertext', message.id))) as OutboxPayloads[Channel])
    : null;
}

export function listMessages(db: Kysely<Database>, limit = 100): Promise<OutboxMessage[]> {
  return db.selectFrom('outbox_messages').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
}

/** Claims the next due message for one worker (queue-claims.ts). */
export function claimNextMessage(db: Kysely<Database>, dialect: Dialect, now: number, claimForMilliseconds: number): Promise<OutboxMessage | null> {
  return claimNextDue(db, dialect, 'outbox_messages', {
    now,
    forMilliseconds: claimForMilliseconds,
    // Texts first: they carry sign-in codes someone is waiting for, and must not queue
    // behind a backlog of notification mail (found by the crash suite's load).
    first: sql`case when channel = 'sms' then 0 else 1 end`,
  });
}

export async function markSent(db: Kysely<Database>, id: string, now: number, keepPayload: boolean): Promise<void> {
  await db
    .updateTable('outbox_messages')
    .set({
      status: 'sent',
      sent_at: now,
      claimed_until: null,
      last_error: null,
      ...(keepPayload ? {} : { payload_ciphertext: null }),
    })
    .where('id', '=', id)
    .execute();
}

export async function markAttemptFailed(
  db: Kysely<Database>,
  id: string,
  update: { attempts: number; nextAttemptAt: number; error: string; giveUp: boolean },
): Promise<void> {
  await db
    .updateTable('outbox_messages')
    .set({
      attempts: update.attempts,
      next_attempt_at: update.nextAttemptAt,
      claimed_until: null,
      last_error: update.error.slice(0, 500),
      status: update.giveUp ? 'failed' : 'pending',
    })
    .where('id', '=', id)
    .execute();
}
