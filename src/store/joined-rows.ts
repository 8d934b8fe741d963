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
  'sms_code_hash',
  'sms_code_expires_at',
  'sms_sent_at',
  'sms_send_count',
  'sms_message_id',
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

/** `"alias"."column" as "alias__column"` for each column of each table, as SQL text
 * built once per reader. Double-quoted identifiers are the same in SQLite and
 * PostgreSQL, and every name here is one of the constants above. */
function joinedSelection(tables: Record<string, readonly string[]>): string {
  return Object.entries(tables)
    .flatMap(([alias, names]) => names.map((column) => `"${alias}"."${column}" as "${alias}__${column}"`))
    .join(', ');
}

/** Reads one table's row out of a joined result, whose values are at `offset` onwards
 * in the selection's order, into an object literal of a fixed shape. It is compiled
 * once per reader: filling an object key by key in a loop went through fifty
 * megamorphic stores and map transitions, 3.5 of the 18 µs that reading a session
 * took (bench/README.md). Each name is quoted by JSON.stringify and comes from the
 * constant lists above, so nothing from a request reaches the source. */
function rowReader(columns: readonly string[], offset: number, keys: readonly string[] | null): (joined: unknown) => Record<string, unknown> {
  const at = (index: number) => (keys ? JSON.stringify(keys[offset + index]) : String(offset + index));
  const fields = columns.map((column, index) => `${JSON.stringify(column)}: joined[${at(index)}]`).join(', ');
  return new Function('joined', `return { ${fields} };`) as (joined: unknown) => Record<string, unknown>;
}

export interface OwnedRow<Row> {
  row: Row;
  /** Undefined when the person's or the account's row is gone. */
  user: User | undefined;
  account: Account | undefined;
}

/** A reader of one row of a table that belongs to a person and an account (a session,
 * a sign-in challenge) together with both, by id, in one query compiled once. On
 * SQLite the row comes back as an array (ROWS_AS_ARRAYS), on PostgreSQL as an object
 * keyed `alias__column`; both are read by position in the selection. */
export function ownedRowReader<Row>(
  table: 'sessions' | 'sign_in_flows',
  alias: string,
  columns: readonly string[],
): (db: Kysely<Database>, id: string) => Promise<OwnedRow<Row> | undefined> {
  const tables = { [alias]: columns, u: USER_COLUMNS, a: ACCOUNT_COLUMNS };
  const keys = Object.entries(tables).flatMap(([prefix, names]) => names.map((column) => `${prefix}__${column}`));
  const text = sql.raw(
    `${ROWS_AS_ARRAYS}select ${joinedSelection(tables)} from "${table}" as "${alias}"` +
      ` left join "users" as "u" on "u"."id" = "${alias}"."user_id"` +
      ` left join "accounts" as "a" on "a"."id" = "${alias}"."account_id"` +
      ` where "${alias}"."id" = `,
  );
  const read = preparedQuery<{ id: string }, unknown[] | Record<string, unknown>>((_db, slot) => sql`${text}${slot('id')}`);
  const userOffset = columns.length;
  const accountOffset = userOffset + USER_COLUMNS.length;
  // better-sqlite3 hands back arrays and pg objects; a reader of each kind per table.
  const readers = [null, keys].map((names) => ({
    row: rowReader(columns, 0, names),
    user: rowReader(USER_COLUMNS, userOffset, names),
    account: rowReader(ACCOUNT_COLUMNS, accountOffset, names),
  }));
  return async (db, id) => {
    const joined = (await read(db, { id })).rows[0];
    if (!joined) return undefined;
    const reader = readers[Array.isArray(joined) ? 0 : 1]!;
    const user = reader.user(joined) as User;
    const account = reader.account(joined) as Account;
    // A left join that found no row gives nulls in every column, the id's included.
    return { row: reader.row(joined) as Row, user: user.id == null ? undefined : user, account: account.id == null ? undefined : account };
  };
}
