// PostgreSQL parses and plans an unnamed statement every time it runs. The same statement
// prepared once per connection under a name skips both: on this project's reads that cut
// PostgreSQL's CPU per statement about threefold and node-postgres's own by a third (a
// loop of 20,000 primary-key reads, bench/README.md), and the second step of a sign-in
// runs a dozen statements. Every text the server sends with values gets a name, with
// three exceptions:
// - a text with `*` in its result (`select *`, `returning *`): a prepared statement
//   keeps the columns it had when it was prepared, and once another instance's
//   migration adds one, PostgreSQL refuses it ("cached plan must not change result
//   type"). Listed columns stay valid as columns are added.
// - texts past a length or a number of values (multi-row inserts), and every text past
//   the first few hundred: each name holds a plan in each of the pool's connections.
// - texts without values: node-postgres sends those in the simple protocol (begin,
//   commit).
// A named statement that goes stale all the same (another instance's migration changed
// a column's type; a value that failed to bind made PostgreSQL drop it) would fail on
// every later use in its connection, so that connection is closed when it goes back to
// the pool, and the next one prepares the statement afresh.
import { createHash } from 'node:crypto';
import type { PostgresPool, PostgresPoolClient } from 'kysely';
import type { Pool, PoolClient } from 'pg';

/** Names handed out per process; further texts run unnamed. */
export const MAX_NAMED_TEXTS = 400;
// The joined reads of a session or a flow with its person and account are about 2,300
// characters; a test checks that they are named.
const MAX_TEXT_LENGTH = 8000;
const MAX_VALUES = 64;

/** `*` anywhere but in `count(*)` or a comment. */
function resultIsStar(text: string): boolean {
  return text
    .replace(/\/\*.*?\*\//gs, '')
    .replace(/count\(\*\)/gi, '')
    .includes('*');
}

/** One name per statement text. The name is the text's hash, so the same on every
 * connection and in every instance: if a pooler ever hands one instance's prepared
 * statement to another, a name can only stand for the same text. */
export class StatementNames {
  private readonly names = new Map<string, string>();

  nameFor(text: string, valueCount: number): string | undefined {
    const known = this.names.get(text);
    if (known !== undefined) return known;
    if (valueCount === 0 || valueCount > MAX_VALUES || text.length > MAX_TEXT_LENGTH) return undefined;
    if (this.names.size >= MAX_NAMED_TEXTS || resultIsStar(text)) return undefined;
    const name = `tessera_${createHash('sha256').update(text).digest('hex').slice(0, 32)}`;
    this.names.set(text, name);
    return name;
  }

  get size(): number {
    return this.names.size;
  }
}

/** PostgreSQL's answers that a prepared statement of this connection no longer works:
 * it does not exist (26000), or its result would change (0A000, "cached plan must not
 * change result type"). */
function isStaleStatement(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '26000' || (code === '0A000' && /cached plan/.test(String((error as Error).message)));
}

/** The pool as Kysely sees it, each statement sent under its name where it has one. */
export function withNamedStatements(pool: Pool, names = new StatementNames()): PostgresPool {
  const views = new WeakMap<PoolClient, PostgresPoolClient>();
  const stale = new WeakSet<PoolClient>();
  const viewOf = (client: PoolClient): PostgresPoolClient => {
    let view = views.get(client);
    if (!view) {
      view = {
        // Kysely's cursor (a stream) is passed on unchanged; statements get their name.
        query: ((textOrCursor: unknown, values?: readonly unknown[]) => {
          if (typeof textOrCursor !== 'string') return client.query(textOrCursor as never);
          const name = names.nameFor(textOrCursor, values?.length ?? 0);
          if (!name) return client.query(textOrCursor, values as unknown[] | undefined);
          return client.query({ name, text: textOrCursor, values: values as unknown[] | undefined }).catch((error: unknown) => {
            if (isStaleStatement(error)) stale.add(client);
            throw error;
          });
        }) as unknown as PostgresPoolClient['query'],
        // Kysely asks for the connection to be closed after a failed rollback.
        release: ((destroy?: boolean) => client.release(destroy === true || stale.has(client) ? true : undefined)) as PostgresPoolClient['release'],
      };
      views.set(client, view);
    }
    return view;
  };
  return {
    connect: async () => viewOf(await pool.connect()),
    end: () => pool.end(),
  };
}
