import type { Kysely } from 'kysely';
import type { Failure } from '../domain/failures.js';
import type { Database } from '../store/schema.js';

/**
 * Checks (and on success consumes) a texted code inside the caller's transaction.
 * `true`: the right code, now spent. `false`: a wrong, spent or replayed code, counted
 * as a failure like any other. A Failure: no code could be checked at all (none was
 * texted, its text could not be delivered, or it expired), answered as it is and not
 * counted: there was nothing to guess, and a provider outage must not cost the person
 * an attempt.
 */
export type SmsCodeCheck = (db: Kysely<Database>, code: string) => Promise<boolean | Failure>;
