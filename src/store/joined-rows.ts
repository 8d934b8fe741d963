// Whole rows of several tables read in one joined query (the session check behind
// every authenticated request, the flow behind the second step of sign-in).
import { PostgresAdapter, sql, type Kysely } from 'kysely';
import { ROWS_AS_ARRAYS } from './database.js';
import { preparedQuery } from './prepared.js';
import { ACCOUNT_COLUMNS, USER_COLUMNS } from './columns.js';
import type { Account, Database, User } from './schema.js';

/** `"alias"."column" as "alias__column"` for each column of each table. Double-quoted
 * identifiers are the same in SQLite and PostgreSQL, and every name here is one of the
 * lists of columns.ts. */
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
 * a sign-in challenge) together with both, by id, in one query. With `lockOwner`, the
 * person's row is also locked until the transaction ends, where rows have locks
 * (PostgreSQL; SQLite runs one transaction at a time already): the read a caller would
 * otherwise follow with a locking read of the person, in one statement. A row whose
 * person is gone is then not found. */
export function ownedRowReader<Row>(
  table: 'sessions' | 'sign_in_flows',
  alias: string,
  columns: readonly string[],
  options: { lockOwner?: boolean } = {},
): (db: Kysely<Database>, id: string) => Promise<OwnedRow<Row> | undefined> {
  // PostgreSQL locks no row on the nullable side of an outer join.
  const text = (lock: boolean) =>
    sql.raw(
      `${ROWS_AS_ARRAYS}select ${joinedSelection({ [alias]: columns, u: USER_COLUMNS, a: ACCOUNT_COLUMNS })} from "${table}" as "${alias}"` +
        ` ${lock ? 'inner' : 'left'} join "users" as "u" on "u"."id" = "${alias}"."user_id"` +
        ` left join "accounts" as "a" on "a"."id" = "${alias}"."account_id"` +
        ` where "${alias}"."id" = `,
    );
  const read = preparedQuery<{ id: string }, unknown[] | Record<string, unknown>>((db, slot) =>
    options.lockOwner && db.getExecutor().adapter instanceof PostgresAdapter
      ? sql`${text(true)}${slot('id')} for update of "u"`
      : sql`${text(false)}${slot('id')}`,
  );
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
