import type { Kysely } from 'kysely';
import type { Account, AccountTable, Database, Session, SessionKind, SessionTable, User, UserTable } from './schema.js';

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

// Every column of the three tables, so the joined read below returns whole rows; the
// checks make the compiler refuse a column added to schema.ts but not listed here.
const SESSION_COLUMNS = [
  'id', 'account_id', 'user_id', 'secret_hash', 'kind', 'created_at', 'expires_at', 'last_seen_at', 'ip', 'user_agent',
  'passcode_verified_at', 'via_trusted_device', 'trusted_device_id', 'email_confirmed_at',
] as const satisfies readonly (keyof SessionTable)[];
const USER_COLUMNS = [
  'id', 'account_id', 'email', 'name', 'role', 'password_hash', 'password_changed_at', 'suspended_at', 'two_factor_enabled',
  'two_factor_enabled_at', 'preferred_method', 'two_factor_setup_required', 'failed_passcode_count', 'passcode_locked_until',
  'passcode_lock_count', 'email_confirmed_at', 'last_sign_in_at', 'last_passcode_used_at', 'created_at', 'updated_at',
] as const satisfies readonly (keyof UserTable)[];
const ACCOUNT_COLUMNS = [
  'id', 'slug', 'name', 'owner_user_id', 'require_two_factor', 'require_two_factor_since', 'grace_days', 'session_days',
  'trusted_device_days', 'country', 'sms_daily_budget', 'sms_allowed_countries', 'require_phishing_resistant_admins', 'created_at', 'updated_at',
] as const satisfies readonly (keyof AccountTable)[];
type AllListed<Table, Listed> = [Exclude<keyof Table, Listed>] extends [never] ? true : false;
const everyColumnListed: [AllListed<SessionTable, (typeof SESSION_COLUMNS)[number]>, AllListed<UserTable, (typeof USER_COLUMNS)[number]>, AllListed<AccountTable, (typeof ACCOUNT_COLUMNS)[number]>] = [true, true, true];
void everyColumnListed;

const JOINED_SELECTION = [
  ...SESSION_COLUMNS.map((column) => `s.${column} as s__${column}`),
  ...USER_COLUMNS.map((column) => `u.${column} as u__${column}`),
  ...ACCOUNT_COLUMNS.map((column) => `a.${column} as a__${column}`),
];

function pick<Row>(joined: Record<string, unknown>, prefix: string, columns: readonly string[]): Row | undefined {
  if (joined[`${prefix}id`] === null || joined[`${prefix}id`] === undefined) return undefined;
  const row: Record<string, unknown> = {};
  for (const column of columns) row[column] = joined[`${prefix}${column}`];
  return row as Row;
}

/** The session with its person and account, in one read (the check behind every
 * authenticated request). The person or account is undefined when its row is gone. */
export async function findSessionWithOwner(db: Kysely<Database>, id: string): Promise<{ session: Session; user: User | undefined; account: Account | undefined } | undefined> {
  const joined = (await db
    .selectFrom('sessions as s')
    .leftJoin('users as u', 'u.id', 's.user_id')
    .leftJoin('accounts as a', 'a.id', 's.account_id')
    // The selection is built from the column lists above; the compiler checks those.
    .select(JOINED_SELECTION as unknown as 's.id'[])
    .where('s.id', '=', id)
    .executeTakeFirst()) as Record<string, unknown> | undefined;
  if (!joined) return undefined;
  return {
    session: pick<Session>(joined, 's__', SESSION_COLUMNS)!,
    user: pick<User>(joined, 'u__', USER_COLUMNS),
    account: pick<Account>(joined, 'a__', ACCOUNT_COLUMNS),
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
