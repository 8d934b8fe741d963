// The computers a person has signed in from (DESIGN.md row 11): by the long-lived
// device cookie, or lacking one, by the same browser and network seen lately.
import { sql, type Insertable, type Kysely } from 'kysely';
import { preparedQuery } from './prepared.js';
import type { Database, KnownDeviceTable } from './schema.js';

export interface Sighting {
  accountId: string;
  userId: string;
  browser: string;
  network: string | null;
  deviceHash: string | null;
  now: number;
  /** A browser and network seen before this are forgotten. */
  since: number;
}

/** Marks a known computer of the person seen, in one statement; the three shapes of
 * "the same computer" are three statements (a null network is matched with `is`). */
function markSeen(match: 'device' | 'network' | 'no network') {
  return preparedQuery<Sighting, { id: string }>((db, slot) => {
    let same = db.selectFrom('known_devices').select('id').where('account_id', '=', slot('accountId')).where('user_id', '=', slot('userId'));
    if (match === 'device') same = same.where('device_id_hash', '=', slot('deviceHash'));
    else {
      same = same.where('browser', '=', slot('browser')).where('last_seen_at', '>', slot('since'));
      same = match === 'network' ? same.where('network', '=', slot('network')) : same.where('network', 'is', null);
    }
    return db
      .updateTable('known_devices')
      .set({ last_seen_at: slot('now'), network: slot('network'), browser: slot('browser') })
      .where('id', '=', same.limit(sql.lit(1)))
      .returning('id');
  });
}
const markSeenBy = { device: markSeen('device'), network: markSeen('network'), 'no network': markSeen('no network') };

/** Whether the sighting is of a computer the person is known to use; if so, it is
 * marked seen in the same statement (as it is on every sign-in). */
export async function markKnownDeviceSeen(db: Kysely<Database>, sighting: Sighting): Promise<boolean> {
  const match = sighting.deviceHash ? 'device' : sighting.network === null ? 'no network' : 'network';
  return (await markSeenBy[match](db, sighting)).rows.length > 0;
}

// `limit 1` written out: with the limit bound as a parameter, SQLite took about twice
// as long for this lookup (9 µs against 5.5 on a benchmark database).
const anyKnownDevice = preparedQuery<{ accountId: string; userId: string }, { id: string }>((db, slot) =>
  db.selectFrom('known_devices').select('id').where('account_id', '=', slot('accountId')).where('user_id', '=', slot('userId')).limit(sql.lit(1)),
);

export async function hasKnownDevice(db: Kysely<Database>, user: { accountId: string; userId: string }): Promise<boolean> {
  return (await anyKnownDevice(db, user)).rows.length > 0;
}

const deviceInsert = preparedQuery<Required<Insertable<KnownDeviceTable>>, never>((db, slot) =>
  db.insertInto('known_devices').values({
    id: slot('id'),
    account_id: slot('account_id'),
    user_id: slot('user_id'),
    device_id_hash: slot('device_id_hash'),
    browser: slot('browser'),
    network: slot('network'),
    first_seen_at: slot('first_seen_at'),
    last_seen_at: slot('last_seen_at'),
  }),
);

export async function insertKnownDevice(db: Kysely<Database>, device: Required<Insertable<KnownDeviceTable>>): Promise<void> {
  await deviceInsert(db, device);
}
