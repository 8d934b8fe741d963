// Whole rows of several tables read in one joined query (the session check behind
// every authenticated request, the flow behind the second step of sign-in).
// Each column list is checked against schema.ts: the compiler refuses a column added
// there but not listed here.
import { sql, type Kysely } from 'kysely';
import { ROWS_AS_ARRAYS } from './database.js';
import { preparedQuery } from './prepared.js';
import type { Account, AccountTable, Database, SessionTable, SignInFlowTable, User, UserTable } from './schema.js';

type AllListed<Table, Listed> = [Exclude<keyof Table, Listed>] extends [never] ? true : false;

export const SESSION_COLUMNS = [
  'id',
  'account_id',
  'user_id',
  'secret_hash',
  'kind',
  'created_at',
  'expires_at',
  'last_seen_at',
  'ip',
  'user_agent',
  'passcode_verified_at',
  'via_trusted_device',
  'trusted_device_id',
  'email_confirmed_at',
  'flow_id',
  'amr',
  'acr',
] as const satisfies readonly (keyof SessionTable)[];
export const FLOW_COLUMNS = [
  'id',
  'account_id',
  'user_id',
  'secret_hash',
  'state',
  'proofs',
  'return_to',
  'required_acr',
  'max_age_seconds',
  'prompt_login',
  'attempts',
  'created_at',
  'expires_at',
  'completed_at',
  'ip',
  'user_agent',
  'passkey_challenge',
] as const satisfies readonly (keyof SignInFlowTable)[];
export const USER_COLUMNS = [
  'id',
  'account_id',
  'email',
  'name',
  'role',
  'password_hash',
  'password_changed_at',
  'suspended_at',
  'two_factor_enabled',
  'two_factor_enabled_at',
  'preferred_method',
  'two_factor_setup_required',
  'failed_passcode_count',
  'passcode_locked_until',
  'passcode_lock_count',
  'email_confirmed_at',
  'last_sign_in_at',
  'last_passcode_used_at',
  'language',
  'time_zone',
  'created_at',
  'updated_at',
] as const satisfies readonly (keyof UserTable)[];
export const ACCOUNT_COLUMNS = [
  'id',
  'slug',
  'name',
  'owner_user_id',
  'require_two_factor',
  'require_two_factor_since',
  'grace_days',
  'session_days',
  'trusted_device_days',
  'country',
  'sms_daily_budget',
  'sms_allowed_countries',
  'require_phishing_resistant_admins',
  'passkey_sign_in',
  'default_language',
  'created_at',
  'updated_at',
] as const satisfies readonly (keyof AccountTable)[];
const everyColumnListed: [
  AllListed<SessionTable, (typeof SESSION_COLUMNS)[number]>,
  AllListed<SignInFlowTable, (typeof FLOW_COLUMNS)[number]>,
  AllListed<UserTable, (typeof USER_COLUMNS)[number]>,
  AllListed<AccountTable, (typeof ACCOUNT_COLUMNS)[number]>,
] = [true, true, true, true];
void everyColumnListed;

/** `"alias"."column" as "alias__column"` for each column of each table. Double-quoted
 * identifiers are the same in SQLite and PostgreSQL, and every name here is one of the
 * constants above. */
function joinedSelection(tables: Record<string, readonly string[]>): string {
  return Object.entries(tables)
    .flatMap(([alias, names]) => names.map((column) => `"${alias}"."${column}" as "${alias}__${column}"`))
    .join(', ');
}

/** Each column with its `alias__column` key in the joined result (PostgreSQL's objects)
 * and its position in it (SQLite's arrays), made once per reader. */
function columnKeys(alias: string, columns: readonly string[], offset: number): readonly (readonly [column: string, key: string, index: number])[] {
  return columns.map((column, i) => [column, `${alias}__${column}`, offset + i] as const);
}

/** One table's row out of a joined result. */
function readRow(
  joined: unknown[] | Record<string, unknown>,
  keys: readonly (readonly [column: string, key: string, index: number])[],
): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  if (Array.isArray(joined)) for (const [column, , index] of keys) row[column] = joined[index];
  else for (const [column, key] of keys) row[column] = joined[key];
  return row;
}

export interface OwnedRow<Row> {
  row: Row;
  /** Undefined when the person's or the account's row is gone. */
  user: User | undefined;
  account: Account | undefined;
}

/** A reader of one row of a table that belongs to a person and an account (a session,
 * a sign-in challenge) together with both, by id, in one query. */
export function ownedRowReader<Row>(
  table: 'sessions' | 'sign_in_flows',
  alias: string,
  columns: readonly string[],
): (db: Kysely<Database>, id: string) => Promise<OwnedRow<Row> | undefined> {
  const text = sql.raw(
    `${ROWS_AS_ARRAYS}select ${joinedSelection({ [alias]: columns, u: USER_COLUMNS, a: ACCOUNT_COLUMNS })} from "${table}" as "${alias}"` +
      ` left join "users" as "u" on "u"."id" = "${alias}"."user_id"` +
      ` left join "accounts" as "a" on "a"."id" = "${alias}"."account_id"` +
      ` where "${alias}"."id" = `,
  );
  const read = preparedQuery<{ id: string }, unknown[] | Record<string, unknown>>((_db, slot) => sql`${text}${slot('id')}`);
  const rowKeys = columnKeys(alias, columns, 0);
  const userKeys = columnKeys('u', USER_COLUMNS, columns.length);
  const accountKeys = columnKeys('a', ACCOUNT_COLUMNS, columns.length + USER_COLUMNS.length);
  return async (db, id) => {
    const joined = (await read(db, { id })).rows[0];
    if (!joined) return undefined;
    // A left join that found no row gives nulls in every column, the id's included.
    const user = readRow(joined, userKeys) as User;
    const account = readRow(joined, accountKeys) as Account;
    return { row: readRow(joined, rowKeys) as Row, user: user.id == null ? undefined : user, account: account.id == null ? undefined : account };
  };
}
