// Ending a person's use of the apps they signed in to through Tessera (DESIGN.md,
// OpenID Connect: sign-out everywhere), wherever their Tessera sessions end: signing
// out, signing out everywhere, a suspension, a new or reset password, a 2FA reset.
import type { Kysely } from 'kysely';
import { deletePersonOidcRecords } from '../store/oidc-records.js';
import type { Database } from '../store/schema.js';
import { findUserById, type UserRef } from '../store/users.js';
import type { ServiceDeps } from './deps.js';

/** The models of oidc-provider that carry a person's signed-in state at the apps. */
const SIGNED_IN_MODELS = ['Session', 'AuthorizationCode', 'AccessToken', 'RefreshToken'] as const;

/**
 * Ends a person's use of every app, in the caller's transaction: their sessions at the
 * provider, codes and tokens go, so a refresh token stops working at once. Their grants
 * (the consent they gave) stay. Called wherever their Tessera sessions end.
 */
export async function signOutOfApps(db: Kysely<Database>, _deps: Pick<ServiceDeps, 'now'>, user: UserRef): Promise<void> {
  await deletePersonOidcRecords(db, user.id, SIGNED_IN_MODELS);
}

/** After an app's logout request ended the provider's session of a person whose
 * Tessera session was already gone: their tokens at every app go too. */
export async function signOutOfAppsAfterLogout(deps: Pick<ServiceDeps, 'db' | 'now'>, personId: string): Promise<void> {
  const user = await findUserById(deps.db, personId);
  if (!user) return;
  await deps.db.transaction().execute((trx) => signOutOfApps(trx, deps, user));
}
