import { sql, type Kysely } from 'kysely';
import { ACCOUNT_COLUMNS, SESSION_COLUMNS, USER_COLUMNS, joinedSelection, pickRow } from './joined-rows.js';
import type { Account, Database, Session, SessionKind, User } from './schema.js';

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
}

export async function insertSession(db: Kysely<Database>, session: NewSession): Promise<void> {
  await db
    .insertInto('sessions')
    .values({
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
    })
    .execute();
}

export function findSession(db: Kysely<Database>, id: string): Promise<Session | undefined> {
  return db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
}

const JOINED_SELECTION = joinedSelection({ s: SESSION_COLUMNS, u: USER_COLUMNS, a: ACCOUNT_COLUMNS });

/** The session with its person and account, in one read (the check behind every
 * authenticated request). The person or account is undefined when its row is gone. */
export async function findSessionWithOwner(db: Kysely<Database>, id: string): Promise<{ session: Session; user: User | undefined; account: Account | undefined } | undefined> {
  const { rows } = await sql<Record<string, unknown>>`select ${JOINED_SELECTION} from "sessions" as "s"
    left join "users" as "u" on "u"."id" = "s"."user_id"
    left join "accounts" as "a" on "a"."id" = "s"."account_id"
    where "s"."id" = ${id}`.execute(db);
  const joined = rows[0];
  if (!joined) return undefined;
  return {
    session: pickRow<Session>(joined, 's', SESSION_COLUMNS)!,
    user: pickRow<User>(joined, 'u', USER_COLUMNS),
    account: pickRow<Account>(joined, 'a', ACCOUNT_COLUMNS),
  };
}

export async function deleteSession(db: Kysely<Database>, id: string): Promise<void> {
  await db.deleteFrom('sessions').where('id', '=', id).execute();
}

export async function deleteUserSessions(db: Kysely<Database>, userId: string, exceptSessionId: string | null = null): Promise<number> {
  let query = db.deleteFrom('sessions').where('user_id', '=', userId);
  if (exceptSessionId !== null) query = query.where('id', '!=', exceptSessionId);
  const result = await query.executeTakeFirst();
  return Number(result.numDeletedRows);
}

export async function touchSession(db: Kysely<Database>, id: string, now: number, notSince: number): Promise<void> {
  await db.updateTable('sessions').set({ last_seen_at: now }).where('id', '=', id).where('last_seen_at', '<', notSince).execute();
}

export function listUserSessions(db: Kysely<Database>, userId: string): Promise<Session[]> {
  return db.selectFrom('sessions').selectAll().where('user_id', '=', userId).orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
}
