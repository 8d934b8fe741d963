import type { Insertable, Kysely } from 'kysely';
import { SESSION_COLUMNS } from './columns.js';
import { ownedRowReader } from './joined-rows.js';
import { preparedQuery } from './prepared.js';
import type { Database, Session, SessionKind, SessionTable } from './schema.js';
import type { UserRef } from './users.js';

export interface NewSession {
  id: string;
  accountId: string;
  userId: string;
  secretHash: string;
  kind: SessionKind;
  now: number;
  expiresAt: number;
  ip: string | null;
  userAgent: string | null;
  passcodeVerifiedAt: number | null;
  viaTrustedDevice: boolean;
  trustedDeviceId?: string | null;
  emailConfirmedAt?: number | null;
  flowId: string | null;
  /** JSON array of RFC 8176 method references. */
  amr: string | null;
  acr: string | null;
}

const sessionInsert = preparedQuery<Required<Insertable<SessionTable>>, never>((db, slot) =>
  db.insertInto('sessions').values({
    id: slot('id'),
    account_id: slot('account_id'),
    user_id: slot('user_id'),
    secret_hash: slot('secret_hash'),
    kind: slot('kind'),
    created_at: slot('created_at'),
    expires_at: slot('expires_at'),
    last_seen_at: slot('last_seen_at'),
    ip: slot('ip'),
    user_agent: slot('user_agent'),
    passcode_verified_at: slot('passcode_verified_at'),
    via_trusted_device: slot('via_trusted_device'),
    trusted_device_id: slot('trusted_device_id'),
    email_confirmed_at: slot('email_confirmed_at'),
    flow_id: slot('flow_id'),
    amr: slot('amr'),
    acr: slot('acr'),
  }),
);

export async function insertSession(db: Kysely<Database>, session: NewSession): Promise<void> {
  await sessionInsert(db, {
    id: session.id,
    account_id: session.accountId,
    user_id: session.userId,
    secret_hash: session.secretHash,
    kind: session.kind,
    created_at: session.now,
    expires_at: session.expiresAt,
    last_seen_at: session.now,
    ip: session.ip,
    user_agent: session.userAgent?.slice(0, 512) ?? null,
    passcode_verified_at: session.passcodeVerifiedAt,
    via_trusted_device: session.viaTrustedDevice ? 1 : 0,
    trusted_device_id: session.trustedDeviceId ?? null,
    email_confirmed_at: session.emailConfirmedAt ?? null,
    flow_id: session.flowId,
    amr: session.amr,
    acr: session.acr,
  });
}

/** The session with its person and account, in one read (the check behind every
 * authenticated request). */
export const findSessionWithOwner = ownedRowReader<Session>('sessions', 's', SESSION_COLUMNS);

export async function deleteSession(db: Kysely<Database>, id: string): Promise<void> {
  await db.deleteFrom('sessions').where('id', '=', id).execute();
}

export async function deleteUserSessions(db: Kysely<Database>, user: UserRef, exceptSessionId: string | null = null): Promise<number> {
  let query = db.deleteFrom('sessions').where('account_id', '=', user.account_id).where('user_id', '=', user.id);
  if (exceptSessionId !== null) query = query.where('id', '!=', exceptSessionId);
  const result = await query.executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** A fresh passcode or key on this session (sensitive actions ask for one from the last
 * few minutes); it no longer rests on a trusted computer. */
export async function markPasscodeVerified(db: Kysely<Database>, session: Pick<Session, 'id' | 'account_id'>, now: number): Promise<void> {
  await db
    .updateTable('sessions')
    .set({ passcode_verified_at: now, via_trusted_device: 0 })
    .where('account_id', '=', session.account_id)
    .where('id', '=', session.id)
    .execute();
}

export async function markEmailConfirmed(db: Kysely<Database>, session: Pick<Session, 'id' | 'account_id'>, now: number): Promise<void> {
  await db.updateTable('sessions').set({ email_confirmed_at: now }).where('account_id', '=', session.account_id).where('id', '=', session.id).execute();
}

/** Ends one of the person's sessions; false when they have none by that id. */
export async function deleteUserSession(db: Kysely<Database>, user: UserRef, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('sessions')
    .where('account_id', '=', user.account_id)
    .where('user_id', '=', user.id)
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}

/** Ends every session of the account's admins but one. */
export async function deleteAdminSessions(db: Kysely<Database>, accountId: string, exceptSessionId: string | null): Promise<void> {
  await db
    .deleteFrom('sessions')
    .where('account_id', '=', accountId)
    .$if(exceptSessionId !== null, (query) => query.where('id', '!=', exceptSessionId!))
    .where('user_id', 'in', (eb) => eb.selectFrom('users').select('id').where('account_id', '=', accountId).where('role', '=', 'admin'))
    .execute();
}

export async function touchSession(db: Kysely<Database>, id: string, now: number, notSince: number): Promise<void> {
  await db.updateTable('sessions').set({ last_seen_at: now }).where('id', '=', id).where('last_seen_at', '<', notSince).execute();
}

export function listUserSessions(db: Kysely<Database>, user: UserRef): Promise<Session[]> {
  return db
    .selectFrom('sessions')
    .selectAll()
    .where('account_id', '=', user.account_id)
    .where('user_id', '=', user.id)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
}
