import type { Kysely } from 'kysely';
import type { Dialect } from './database.js';
import type { Database, NewUser, User, UserUpdate } from './schema.js';

/** Every query here is scoped to one account, so a service holding this object cannot
 * reach another account's people by mistake (Kratos' network scoping). */
export class AccountUsers {
  constructor(
    private readonly db: Kysely<Database>,
    readonly accountId: string,
  ) {}

  findById(id: string): Promise<User | undefined> {
    return this.db.selectFrom('users').selectAll().where('account_id', '=', this.accountId).where('id', '=', id).executeTakeFirst();
  }

  /** The person's row, locked until the transaction ends where rows have locks
   * (PostgreSQL; SQLite runs one transaction at a time already). */
  lockById(id: string, dialect: Dialect): Promise<User | undefined> {
    return this.db
      .selectFrom('users')
      .selectAll()
      .where('account_id', '=', this.accountId)
      .where('id', '=', id)
      .$if(dialect === 'postgres', (query) => query.forUpdate())
      .executeTakeFirst();
  }

  findByEmail(email: string): Promise<User | undefined> {
    return this.db.selectFrom('users').selectAll().where('account_id', '=', this.accountId).where('email', '=', email).executeTakeFirst();
  }

  list(): Promise<User[]> {
    return this.db.selectFrom('users').selectAll().where('account_id', '=', this.accountId).orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
  }

  /** Newest first; `before` is the last row of the previous page. */
  listPage(limit: number, before: { createdAt: number; id: string } | null, filter: { staffWithoutTwoFactor?: boolean } = {}): Promise<User[]> {
    let query = this.db.selectFrom('users').selectAll().where('account_id', '=', this.accountId);
    if (filter.staffWithoutTwoFactor) query = query.where('role', 'in', ['admin', 'agent']).where('two_factor_enabled', '=', 0);
    if (before) {
      const { createdAt, id } = before;
      query = query.where((eb) => eb.or([eb('created_at', '<', createdAt), eb.and([eb('created_at', '=', createdAt), eb('id', '<', id)])]));
    }
    return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  }

  async insert(user: Omit<NewUser, 'account_id'>): Promise<void> {
    await this.db
      .insertInto('users')
      .values({ ...user, account_id: this.accountId })
      .execute();
  }

  async update(id: string, changes: UserUpdate): Promise<number> {
    const result = await this.db.updateTable('users').set(changes).where('account_id', '=', this.accountId).where('id', '=', id).executeTakeFirst();
    return Number(result.numUpdatedRows);
  }
}

export function findUserById(db: Kysely<Database>, id: string): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}
