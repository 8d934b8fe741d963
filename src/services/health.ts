// Readiness: whether the database answers (the limit store has its own ping).
import { pingDatabase } from '../store/database.js';
import type { ServiceDeps } from './deps.js';

/** Resolves when the database answers a trivial query; rejects with the driver's error. */
export async function databaseReachable(deps: Pick<ServiceDeps, 'db'>): Promise<void> {
  await pingDatabase(deps.db);
}
