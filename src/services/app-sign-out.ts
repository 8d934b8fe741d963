// Ending a person's use of the apps they signed in to through Tessera (DESIGN.md,
// OpenID Connect: sign-out everywhere), wherever their Tessera sessions end: signing
// out, signing out everywhere, a suspension, a new or reset password, a 2FA reset.
import type { Kysely } from 'kysely';
import { findAccountApp } from '../store/apps.js';
import { deletePersonOidcRecords, listPersonOidcRecords } from '../store/oidc-records.js';
import { enqueueBackchannelLogout } from '../store/outbox.js';
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
export async function signOutOfApps(db: Kysely<Database>, deps: Pick<ServiceDeps, 'now' | 'keys'>, user: UserRef): Promise<void> {
  const now = deps.now();
  // The apps they are signed in to: those their live tokens and provider sessions name.
  const clientIds = new Set<string>();
  for (const model of SIGNED_IN_MODELS) {
    for (const record of await listPersonOidcRecords(db, user.id, model, now)) {
      if (record.client_id !== null) clientIds.add(record.client_id);
      if (model === 'Session') for (const clientId of sessionClients(record.payload)) clientIds.add(clientId);
    }
  }
  await deletePersonOidcRecords(db, user.id, SIGNED_IN_MODELS);
  for (const clientId of clientIds) {
    const app = await findAccountApp(db, user.account_id, clientId);
    if (!app?.backchannel_logout_uri) continue;
    // A logout token per app, through the outbox: written with the change that caused
    // it, sent (and retried) by the worker, never to a private address.
    await enqueueBackchannelLogout(
      db,
      deps.keys,
      { accountId: user.account_id, userId: user.id, uri: app.backchannel_logout_uri, clientId, sub: user.id },
      now,
    );
  }
}

/** The apps a provider session signed in to (its `authorizations`, by client id). */
function sessionClients(payload: string): string[] {
  try {
    const parsed = JSON.parse(payload) as { authorizations?: unknown };
    return parsed.authorizations && typeof parsed.authorizations === 'object' ? Object.keys(parsed.authorizations) : [];
  } catch {
    return [];
  }
}

/** After an app's logout request ended the provider's session of a person whose
 * Tessera session was already gone: their tokens at every app go too. */
export async function signOutOfAppsAfterLogout(deps: Pick<ServiceDeps, 'db' | 'now' | 'keys'>, personId: string): Promise<void> {
  const user = await findUserById(deps.db, personId);
  if (!user) return;
  await deps.db.transaction().execute((trx) => signOutOfApps(trx, deps, user));
}
