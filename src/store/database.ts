import { closeSync, mkdirSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, sql, type Migration, type MigrationProvider, type SqliteDatabase } from 'kysely';
import type { Database } from './schema.js';
import { withNamedStatements } from './named-statements.js';
import { CurrentSchemaPostgresDialect } from './postgres-dialect.js';
import { BACKSTOP_AUTOCHECKPOINT_PAGES, FALLBACK_AUTOCHECKPOINT_PAGES, startWalCheckpointer, type WalCheckpointer } from './wal-checkpointer.js';
import * as initial from './migrations/0001-initial.js';
import * as sessionTrustedDevice from './migrations/0002-session-trusted-device.js';
import * as sessionEmailConfirmation from './migrations/0003-session-email-confirmation.js';
import * as smsDelivery from './migrations/0004-sms-delivery.js';
import * as webauthn from './migrations/0005-webauthn.js';
import * as hotPathIndexes from './migrations/0006-hot-path-indexes.js';
import * as redundantIndexes from './migrations/0007-redundant-indexes.js';
import * as signInFlows from './migrations/0008-sign-in-flows.js';
import * as oneTimeCodes from './migrations/0009-one-time-codes.js';
import * as appsAndOpenIdConnect from './migrations/0010-apps-and-openid-connect.js';
import * as passkeys from './migrations/0011-passkeys.js';
import * as automation from './migrations/0012-automation.js';
import * as languages from './migrations/0013-languages.js';
import * as webhookDueOrder from './migrations/0014-webhook-due-order.js';

export type Dialect = 'sqlite' | 'postgres';

export interface Store {
  db: Kysely<Database>;
  dialect: Dialect;
  close(): Promise<void>;
}

let postgresDriver: typeof import('pg') | null = null;
/** pg is loaded only for a PostgreSQL URL, so a SQLite server never holds it. */
function loadPostgresDriver(): typeof import('pg') {
  if (!postgresDriver) {
    postgresDriver = createRequire(import.meta.url)('pg') as typeof import('pg');
    // bigint columns hold millisecond times, well inside Number's safe range.
    postgresDriver.types.setTypeParser(20, (value) => Number(value));
  }
  return postgresDriver;
}

function sqlitePath(url: string): string {
  if (url.startsWith('sqlite:')) return url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
  if (url.startsWith('file:')) return new URL(url).pathname;
  return url;
}

const STATEMENT_CACHE_SIZE = 500;

/** Opens a query whose rows better-sqlite3 should hand back as arrays of values, not
 * objects: the joined reads (joined-rows.ts) name some fifty columns, and making an
 * object of them on every request cost more than reading the row. Kept because bench/
 * measured it: without it the session check ran 12.0k/s instead of 14.2k/s (two quick
 * runs each, 2 cores, issue 18), a loss above the 10% that a micro-optimisation must
 * save to stay. PostgreSQL ignores the comment and returns objects. */
export const ROWS_AS_ARRAYS = '/* rows as arrays */ ';

/** Kysely asks better-sqlite3 to prepare every statement anew; keeping the last few
 * hundred prepared saves that on every request (about an eighth of the main thread
 * in the benchmark's profile, bench/README.md). Statements are only ever used one at
 * a time: Kysely's SQLite driver holds its single connection behind a mutex. */
function withStatementCache(database: SQLite.Database): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => database.close(),
    prepare(sqlText: string) {
      let statement = cache.get(sqlText);
      if (statement) {
        cache.delete(sqlText);
      } else {
        statement = database.prepare(sqlText);
        if (sqlText.startsWith(ROWS_AS_ARRAYS)) statement.raw(true);
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
      }
      cache.set(sqlText, statement);
      return statement;
    },
  };
}

/** Creates the database's folder (0700) and an empty database file (0600) where they
 * are missing: the file holds every hash and sealed secret, and SQLite gives its WAL
 * and shared-memory files the mode of the database file. */
function createPrivately(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  closeSync(openSync(path, 'a', 0o600));
}

/** `preparedStatements: false` sends every PostgreSQL statement unnamed (behind a pooler
 * that cannot keep prepared statements, docs/deploy.md). */
export function openStore(databaseUrl: string, options: { preparedStatements?: boolean } = {}): Store {
  if (databaseUrl.startsWith('postgres:') || databaseUrl.startsWith('postgresql:')) {
    const pg = loadPostgresDriver();
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 10, connectionTimeoutMillis: 5000 });
    // An idle client losing its connection must not crash the process; the next
    // query reports the outage instead (readyz answers 503).
    pool.on('error', () => {});
    const dialect = new CurrentSchemaPostgresDialect({ pool: options.preparedStatements === false ? pool : withNamedStatements(pool) });
    const db = new Kysely<Database>({ dialect });
    return { db, dialect: 'postgres', close: () => db.destroy() };
  }
  const path = sqlitePath(databaseUrl);
  if (path !== ':memory:' && !path.startsWith('file:')) createPrivately(path);
  const database = new SQLite(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  // 8 MiB of page cache instead of SQLite's 2 MiB default. A page it misses comes from
  // the kernel's page cache in microseconds; 32 MiB cost up to 24 MiB more memory per
  // instance and bought no speed (bench/README.md, what changed).
  database.pragma('cache_size = -8000');
  // A burst of writes can grow the log past the checkpoints (wal-checkpointer.ts);
  // once it restarts, SQLite cuts the file back to this size instead of keeping it.
  database.pragma('journal_size_limit = 67108864');
  // Checkpoints run on a helper thread, off the event loop (wal-checkpointer.ts).
  let checkpointer: WalCheckpointer | null = null;
  if (path !== ':memory:' && !path.startsWith('file::memory:')) {
    database.pragma(`wal_autocheckpoint = ${BACKSTOP_AUTOCHECKPOINT_PAGES}`);
    checkpointer = startWalCheckpointer(path, () => {
      if (database.open) database.pragma(`wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT_PAGES}`);
    });
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(database) }) });
  return {
    db,
    dialect: 'sqlite',
    async close() {
      await checkpointer?.close();
      await db.destroy();
    },
  };
}

// Old instances keep running on the new schema during a rolling upgrade, with their
// statements prepared (named-statements.ts): a migration adds; a column is dropped or
// retyped only in a release after the one that stopped reading it (docs/deploy.md).
const migrations: Record<string, Migration> = {
  '0001-initial': initial,
  '0002-session-trusted-device': sessionTrustedDevice,
  '0003-session-email-confirmation': sessionEmailConfirmation,
  '0004-sms-delivery': smsDelivery,
  '0005-webauthn': webauthn,
  '0006-hot-path-indexes': hotPathIndexes,
  '0007-redundant-indexes': redundantIndexes,
  '0008-sign-in-flows': signInFlows,
  '0009-one-time-codes': oneTimeCodes,
  '0010-apps-and-openid-connect': appsAndOpenIdConnect,
  '0011-passkeys': passkeys,
  '0012-automation': automation,
  '0013-languages': languages,
  '0014-webhook-due-order': webhookDueOrder,
};

class StaticMigrationProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations;
  }
}

/** Brings the schema up to date (or up to the migration named `upTo`, for the tests of a
 * migration). Safe from several instances at once: Kysely's migrator holds a lock (an
 * advisory lock on PostgreSQL) while it runs. */
export async function migrateToLatest(db: Kysely<Database>, dialect: Dialect, upTo?: string): Promise<string[]> {
  // On PostgreSQL the migration tables live in the current schema: Kysely would
  // otherwise find another schema's tables and skip creating its own.
  const schema = dialect === 'postgres' ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(db)).rows[0]?.schema : undefined;
  const migrator = new Migrator({
    db,
    provider: new StaticMigrationProvider(),
    // Our names are ASCII and numbered, so plain string order is their order. Kysely's
    // default, localeCompare, loads ICU's collation data for this one sort: 2.3 MiB
    // more resident memory for the life of the server.
    nameComparator: (a, b) => (a < b ? -1 : a > b ? 1 : 0),
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  const { error, results } = upTo ? await migrator.migrateTo(upTo) : await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

export async function pingDatabase(db: Kysely<Database>): Promise<void> {
  await sql`select 1`.execute(db);
}
