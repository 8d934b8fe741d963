// Admin actions that give or take power (a role change, a suspension or its end, an
// admin's invitation, help for a locked-out person) carry the admin's fresh
// confirmation and a reason, checked in the action's own transaction: a session that
// skipped the passcode on a trusted computer, or was stolen, cannot act on its own
// (SECURITY.md, admin actions; the Keycloak CVE-2026-3429 pattern).
import type { Kysely } from 'kysely';
import { fail, ok, type Result } from '../domain/failures.js';
import type { Database } from '../store/schema.js';
import { AccountUsers } from '../store/users.js';
import { confirm, confirmPasswordFirst, type Confirmation } from './confirmation.js';
import type { RequestContext, ServiceDeps } from './deps.js';
import { isTokenActor, type AdminActor } from './admin-actor.js';
import type { SignedIn } from './sessions.js';

function checkReason(reason: unknown): Result<string> {
  const text = typeof reason === 'string' ? reason.replace(/\p{Cc}/gu, ' ').trim() : '';
  if (text.length < 3) return fail('invalid_request', { field: 'reason', message: 'Give a reason (it goes in the audit log).' });
  if (text.length > 500) return fail('invalid_request', { field: 'reason', message: 'Keep the reason under 500 characters.' });
  return ok(text);
}

/** What an admin's request carries for a confirmed action, besides the action itself. */
export interface ConfirmedChange {
  reason?: unknown;
  confirmation?: Confirmation;
}

export interface ConfirmedAction<Target, T> {
  /** The person acted on, when there is one: their row and the admin's are locked in
   * one order (by id) before anything else, so two admins acting on each other at the
   * same moment cannot deadlock on PostgreSQL. */
  targetUserId?: string;
  /** Loads and checks what the action is for, locking it first: a refused action must
   * not spend the admin's passcode or recovery code. */
  check: (trx: Kysely<Database>) => Promise<Result<Target>>;
  apply: (trx: Kysely<Database>, target: Target, reason: string) => Promise<Result<T>>;
}

/** Runs an admin action: reason, target check, confirmation, then the action, in one
 * transaction. `admin` null is the operator's command line, which needs none; nor does
 * an API token, whose scope was confirmed by the admin who made it (the routes and
 * services that need a person's confirmation refuse tokens before they get here). */
export async function confirmedAdminAction<Target, T>(
  deps: ServiceDeps,
  actor: AdminActor | null,
  input: { reason?: unknown; confirmation?: Confirmation; context: RequestContext },
  action: ConfirmedAction<Target, T>,
): Promise<Result<T>> {
  const reason = checkReason(input.reason);
  if (!reason.ok) return reason;
  const admin = isTokenActor(actor) ? null : actor;
  const passwordChecked = admin ? await confirmPasswordFirst(deps, admin, input.confirmation) : ok(false);
  if (!passwordChecked.ok) return passwordChecked;
  return deps.db.transaction().execute(async (trx) => {
    if (actor && action.targetUserId !== undefined) {
      for (const id of [actor.user.id, action.targetUserId].sort()) await new AccountUsers(trx, actor.account.id).lockById(id, deps.dialect);
    }
    const target = await action.check(trx);
    if (!target.ok) return target;
    if (admin) {
      const confirmed = await confirm(trx, deps, admin, input.confirmation, input.context, passwordChecked.value);
      if (!confirmed.ok) return confirmed;
    }
    return action.apply(trx, target.value, reason.value);
  });
}

/** An action only a person may take (making an API token or a webhook): their fresh
 * confirmation, checked in the action's transaction. Check the input before: a refused
 * action must not spend the admin's passcode. */
export async function confirmedPersonAction<T>(
  deps: ServiceDeps,
  admin: SignedIn,
  input: { confirmation?: Confirmation; context: RequestContext },
  apply: (trx: Kysely<Database>) => Promise<Result<T>>,
): Promise<Result<T>> {
  const passwordChecked = await confirmPasswordFirst(deps, admin, input.confirmation);
  if (!passwordChecked.ok) return passwordChecked;
  return deps.db.transaction().execute(async (trx) => {
    const confirmed = await confirm(trx, deps, admin, input.confirmation, input.context, passwordChecked.value);
    return confirmed.ok ? apply(trx) : confirmed;
  });
}
