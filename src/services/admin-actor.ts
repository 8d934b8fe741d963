// Who acts through the admin API: a signed-in admin, or an API token of the account
// (DESIGN.md, Automation). A token acts with its creator's admin rights, narrowed to
// its scopes, and only while its creator is still an admin of the account; it never
// stands in for a person's confirmation, so what needs one stays with people.
import type { ApiTokenScope } from '../domain/automation.js';
import type { Account, ApiToken, User } from '../store/schema.js';
import type { SignedIn } from './sessions.js';

export interface TokenActor {
  token: ApiToken;
  scopes: readonly ApiTokenScope[];
  /** The token's creator, an admin of the account. */
  user: User;
  account: Account;
}

export type AdminActor = SignedIn | TokenActor;

export function isTokenActor(actor: AdminActor | null): actor is TokenActor {
  return actor !== null && 'token' in actor;
}

/** The audit log's actor fields: the person, and the token when one was used. */
export function auditActor(actor: AdminActor): { actorUserId: string; actorTokenId: string | null } {
  return { actorUserId: actor.user.id, actorTokenId: isTokenActor(actor) ? actor.token.id : null };
}

/** How the actor is named to the people an action touches ("Ana changed your role"). */
export function actorName(actor: AdminActor): string {
  return isTokenActor(actor) ? `${actor.user.name} (through the API token "${actor.token.name}")` : actor.user.name;
}
