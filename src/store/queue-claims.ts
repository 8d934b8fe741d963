// The claim both queues use, the outbox's messages and the webhooks' deliveries: the
// next due row for one worker, in one statement. On PostgreSQL the candidate row is
// locked with `FOR UPDATE SKIP LOCKED`, so instances draining at the same time take
// different rows instead of queueing on the same one; SQLite runs one write at a time,
// so the statement is atomic there as it is. The conditions are repeated on the update
// itself: a row claimed by someone else in between is never claimed twice.
import type { Kysely, RawBuilder, Selectable } from 'kysely';
import type { Dialect } from './database.js';
import type { Database } from './schema.js';

type QueueTable = 'outbox_messages' | 'webhook_deliveries';

export async function claimNextDue<Table extends QueueTable>(
  db: Kysely<Database>,
  dialect: Dialect,
  table: Table,
  claim: { now: number; forMilliseconds: number; first?: RawBuilder<unknown> },
): Promise<Selectable<Database[Table]> | null> {
  const { now } = claim;
  // Both tables have the columns a claim reads and writes (id, status, next_attempt_at,
  // claimed_until, created_at); Kysely cannot see that through a union of tables.
  const queue = table as 'webhook_deliveries';
  let due = db
    .selectFrom(queue)
    .select('id')
    .where('status', '=', 'pending')
    .where('next_attempt_at', '<=', now)
    .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)]));
  if (claim.first) due = due.orderBy(claim.first);
  due = due.orderBy('next_attempt_at').orderBy('created_at').limit(1);
  // Most ticks find nothing due: a read says so without a write transaction (SQLite's
  // write lock, or a row lock on PostgreSQL) twice a second on every instance.
  if (!(await due.executeTakeFirst())) return null;
  const claimed = await db
    .updateTable(queue)
    .set({ claimed_until: now + claim.forMilliseconds })
    .where('id', '=', dialect === 'postgres' ? due.forUpdate().skipLocked() : due)
    .where('status', '=', 'pending')
    .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)]))
    .returningAll()
    .executeTakeFirst();
  return (claimed as Selectable<Database[Table]> | undefined) ?? null;
}
