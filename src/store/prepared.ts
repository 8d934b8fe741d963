// Statements on the hot paths (the second step of every sign-in, the session check
// behind every authenticated request), built with Kysely once and then run with new
// values. Building and compiling a Kysely query took longer than SQLite takes to run
// most of these (bench/README.md, what changed).
import type { CompiledQuery, Kysely, QueryResult } from 'kysely';
import type { Database } from './schema.js';

/** Stands where a value goes when the query is built; replaced on every run. */
class Slot {
  constructor(readonly name: string) {}
}

/** The value named `name` of each run, typed as that value for the query builder. */
export type SlotOf<Args> = <K extends keyof Args & string>(name: K) => Args[K];

export type PreparedQuery<Args, Row> = (db: Kysely<Database>, args: Args) => Promise<QueryResult<Row>>;

/** A query builder, or raw SQL (whose compile needs the database). */
interface Buildable<Row> {
  compile(db: Kysely<Database>): CompiledQuery<Row>;
}

/**
 * A query whose SQL is built once per database (SQLite and PostgreSQL write their
 * placeholders differently) and whose values come from `args` on every run. `build`
 * must make the same SQL whatever the values: it gets slots, not values, so it cannot
 * branch on them.
 */
export function preparedQuery<Args extends object, Row>(build: (db: Kysely<Database>, slot: SlotOf<Args>) => Buildable<Row>): PreparedQuery<Args, Row> {
  const templates = new WeakMap<object, CompiledQuery<Row>>();
  const slot = ((name: string) => new Slot(name)) as SlotOf<Args>;
  return async (db, args) => {
    // The dialect adapter is one object per database, shared by its transactions.
    const adapter = db.getExecutor().adapter;
    let template = templates.get(adapter);
    if (!template) {
      template = build(db, slot).compile(db);
      templates.set(adapter, template);
    }
    const parameters = template.parameters.map((parameter) => {
      if (!(parameter instanceof Slot)) return parameter;
      const value = (args as Record<string, unknown>)[parameter.name];
      // A missing value would be bound as NULL by one driver and refused by the other.
      if (value === undefined) throw new TypeError(`no value for "${parameter.name}"`);
      return value;
    });
    return db.executeQuery({ ...template, parameters });
  };
}
