import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';

/** Checks (and on success consumes) a texted code inside the caller's transaction. */
export type SmsCodeCheck = (db: Kysely<Database>, code: string) => Promise<boolean>;
