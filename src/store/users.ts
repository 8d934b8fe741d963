import { sql, type ExpressionBuilder, type Kysely } from 'kysely';
import type { Dialect } from './database.js';
import { USER_COLUMNS } from './columns.js';
import { preparedQuery } from './prepared.js';
import type { Database, NewUser, User, UserUpdate } from './schema.js';

/** Who a row belongs to: queries on a person's rows filter by both. */
export type UserRef = Pick<User, 'id' | 'account_id'>;

/** A right factor: the failure counter and lock are reset, and a sign-in it completes
 * is recorded, in one statement. */
const passcodeAccepted = preparedQuery<{ accountId: string; id: string; now: number; signedInAt: number | null }, never>((db, slot) =>
  db
    .updateTable('users')
    .set({
      failed_passcode_count: 0,
      passcode_lock_count: 0,
      passcode_locked_until: null,
      last_passcode_used_at: slot('now'),
      updated_at: slot('now'),
      last_sign_in_at: sql<number | null>`coalesce(${slot('signedInAt')}, last_sign_in_at)`,
    })
    .where('account_id', '=', slot('accountId'))
    .where('id', '=', slot('id')),
);

/** Staff (admins and agents, suspended ones included) whose two-factor authentication
 * is not in force: off, or on with no active method left, which sign-in treats as off
 * (decideAfterFirstFactor sends both to enrolment). The one definition behind the
 * admin overview's filter and the security page's count (DESIGN.md rows 8 and 10). */
function staffWithoutTwoFactor(eb: ExpressionBuilder<Database, 'users'>) {
  const activeMethod = eb
    .selectFrom('two_factor_methods')
    .select('two_factor_methods.id')
    .whereRef('two_factor_methods.account_id', '=', 'users.account_id')
    .whereRef('two_factor_methods.user_id', '=', 'users.id')
    .where('two_factor_methods.status', '=', 'active');
  return eb.and([eb('users.role', 'in', ['admin', 'agent']), eb.not(eb.and([eb('users.two_factor_enabled', '=', 1), eb.exists(activeMethod)]))]);
}

export interface PeopleFilter {
  staffWithoutTwoFactor?: boolean;
  email?: string;
  updatedSince?: number;
}

/** Every query here is scoped to one account, so a service holding this object cannot
 * reach another account's people by mistake (Kratos' network scoping). */
export class AccountUsers {
  constructor(
    private readonly db: Kysely<Database>,
    readonly accountId: string,
  ) {}

  findById(id: string): Promise<User | undefined> {
    return this.db.selectFrom('users').select(USER_COLUMNS).where('account_id', '=', this.accountId).where('id', '=', id).executeTakeFirst();
  }

  /** The person's row, locked until the transaction ends where rows have locks
   * (PostgreSQL; SQLite runs one transaction at a time already). */
  lockById(id: string, dialect: Dialect): Promise<User | undefined> {
    return this.db
      .selectFrom('users')
      .select(USER_COLUMNS)
      .where('account_id', '=', this.accountId)
      .where('id', '=', id)
      .$if(dialect === 'postgres', (query) => query.forUpdate())
      .executeTakeFirst();
  }

  findByEmail(email: string): Promise<User | undefined> {
    return this.db.selectFrom('users').select(USER_COLUMNS).where('account_id', '=', this.accountId).where('email', '=', email).executeTakeFirst();
  }

  list(): Promise<User[]> {
    return this.db
      .selectFrom('users')
      .select(USER_COLUMNS)
      .where('account_id', '=', this.accountId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
  }

  /** Newest first; `before` is the last row of the previous page. `email` is a
   * normalised address; `updatedSince` keeps the rows changed at or after it. */
  listPage(limit: number, before: { createdAt: number; id: string } | null, filter: PeopleFilter = {}): Promise<User[]> {
    let query = this.db.selectFrom('users').select(USER_COLUMNS).where('account_id', '=', this.accountId);
    if (filter.staffWithoutTwoFactor) query = query.where(staffWithoutTwoFactor);
    if (filter.email !== undefined) query = query.where('email', '=', filter.email);
    if (filter.updatedSince !== undefined) query = query.where('updated_at', '>=', filter.updatedSince);
    if (before) {
      const { createdAt, id } = before;
      query = query.where((eb) => eb.or([eb('created_at', '<', createdAt), eb.and([eb('created_at', '=', createdAt), eb('id', '<', id)])]));
    }
    return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  }

  async countStaffWithoutTwoFactor(): Promise<number> {
    const row = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number | string>().as('count'))
      .where('account_id', '=', this.accountId)
      .where(staffWithoutTwoFactor)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  /** A right passcode or key; `signedInAt` when it also completes a sign-in. */
  async recordPasscodeAccepted(id: string, now: number, signedInAt: number | null): Promise<void> {
    await passcodeAccepted(this.db, { accountId: this.accountId, id, now, signedInAt });
  }

  /** Counts a wrong code on the person's one failure counter; answers the new count and
   * how many locks came before. */
  countPasscodeFailure(id: string, now: number): Promise<Pick<User, 'failed_passcode_count' | 'passcode_lock_count'>> {
    return this.db
      .updateTable('users')
      .set({ failed_passcode_count: sql<number>`failed_passcode_count + 1`, updated_at: now })
      .where('account_id', '=', this.accountId)
      .where('id', '=', id)
      .returning(['failed_passcode_count', 'passcode_lock_count'])
      .executeTakeFirstOrThrow();
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
  return db.selectFrom('users').select(USER_COLUMNS).where('id', '=', id).executeTakeFirst();
}
