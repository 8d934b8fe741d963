// PostgreSQL parses and plans an unnamed statement every time it runs. The same statement
// prepared once per connection under a name skips both: on this project's reads that cut
// PostgreSQL's CPU per statement about threefold and node-postgres's own by a third (a
// loop of 20,000 primary-key reads, bench/README.md), and the second step of a sign-in
// runs a dozen statements. Every text the server sends with values gets a name, with
// three exceptions:
// - a text with `*` in its result (`select *`, `returning *`): a prepared statement
//   keeps the columns it had when it was prepared, and once another instance's
//   migration adds one, PostgreSQL refuses it ("cached plan must not change result
//   type") until the connection closes. Listed columns stay valid as columns are added.
// - texts past a length or a number of values (multi-row inserts), and every text past
//   the first few hundred: each name holds a plan in each of the pool's connections.
// - texts without values: node-postgres sends those in the simple protocol (begin,
//   commit).
import type { PostgresPool, PostgresPoolClient } from 'kysely';
import type { Pool, PoolClient } from 'pg';

/** Names handed out per process; further texts run unnamed. */
export const MAX_NAMED_TEXTS = 400;
const MAX_TEXT_LENGTH = 4000;
const MAX_VALUES = 64;

/** `*` anywhere but in `count(*)` or a comment. */
function resultIsStar(text: string): boolean {
  return text
    .replace(/\/\*.*?\*\//gs, '')
    .replace(/count\(\*\)/gi, '')
    .includes('*');
}

/** One name per statement text, the same on every connection of the pool. */
export class StatementNames {
  private readonly names = new Map<string, string>();

  nameFor(text: string, valueCount: number): string | undefined {
    const known = this.names.get(text);
    if (known !== undefined) return known;
    if (valueCount === 0 || valueCount > MAX_VALUES || text.length > MAX_TEXT_LENGTH) return undefined;
    if (this.names.size >= MAX_NAMED_TEXTS || resultIsStar(text)) return undefined;
    const name = `tessera_${this.names.size + 1}`;
    this.names.set(text, name);
    return name;
  }

  get size(): number {
    return this.names.size;
  }
}

/** The pool as Kysely sees it, each statement sent under its name where it has one. */
export function withNamedStatements(pool: Pool, names = new StatementNames()): PostgresPool {
  const views = new WeakMap<PoolClient, PostgresPoolClient>();
  const viewOf = (client: PoolClient): PostgresPoolClient => {
    let view = views.get(client);
    if (!view) {
      view = {
        // Kysely's cursor (a stream) is passed on unchanged; statements get their name.
        query: ((textOrCursor: unknown, values?: readonly unknown[]) => {
          if (typeof textOrCursor !== 'string') return client.query(textOrCursor as never);
          const name = names.nameFor(textOrCursor, values?.length ?? 0);
          return client.query({ text: textOrCursor, values: values as unknown[] | undefined, ...(name ? { name } : {}) });
        }) as unknown as PostgresPoolClient['query'],
        release: () => client.release(),
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
