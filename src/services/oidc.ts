// A team's other apps signing people in through Tessera (DESIGN.md, OpenID Connect):
// who an app admits, what it learns about them, and ending their access. The HTTP side
// (oidc-provider and Tessera's interaction pages) lives in http/oidc/.
import { acrFromValues, storedAcr, strongerAcr, type Acr, type FlowRequirements } from '../domain/sign-in-decision.js';
import { findAccountById } from '../store/accounts.js';
import { findAppById, findAccountApp } from '../store/apps.js';
import { deletePersonClientOidcRecords, listPersonOidcRecords, pruneExpiredOidcRecords } from '../store/oidc-records.js';
import type { Account, App, Role, Session, User } from '../store/schema.js';
import { findFlow } from '../store/sign-in-flows.js';
import { appendAuditEvent } from '../store/audit.js';
import type { SignedIn } from './sessions.js';
import { findUserById, type UserRef } from '../store/users.js';
import type { RequestContext, ServiceDeps } from './deps.js';
import { startStepUpFlow } from './sign-in-flow.js';

export type AppRefusal = 'other_account' | 'role_not_allowed' | 'suspended';

export interface AppPerson {
  user: User;
  account: Account;
  app: App;
}

/** The roles an app lets in. A list that cannot be read lets nobody in. */
export function allowedRolesOf(app: Pick<App, 'allowed_roles'>): Role[] {
  try {
    const parsed: unknown = JSON.parse(app.allowed_roles);
    return Array.isArray(parsed) ? parsed.filter((role): role is Role => role === 'admin' || role === 'agent' || role === 'end_user') : [];
  } catch {
    return [];
  }
}

/** Why an app refuses a person, or null when it admits them. */
export function appRefusal(app: Pick<App, 'account_id' | 'allowed_roles'>, user: Pick<User, 'account_id' | 'role' | 'suspended_at'>): AppRefusal | null {
  if (user.account_id !== app.account_id) return 'other_account';
  if (user.suspended_at !== null) return 'suspended';
  if (!allowedRolesOf(app).includes(user.role)) return 'role_not_allowed';
  return null;
}

/** The app of an OpenID Connect client id, if it is one (not a proxy app). */
export async function findOidcApp(deps: Pick<ServiceDeps, 'db'>, clientId: string): Promise<{ app: App; account: Account } | null> {
  if (clientId.length > 200) return null;
  const app = await findAppById(deps.db, clientId);
  if (!app || app.kind === 'proxy') return null;
  const account = await findAccountById(deps.db, app.account_id);
  return account ? { app, account } : null;
}

/** The person behind a token's `sub`, when the app still admits them: suspension, a
 * role change or a move to another account end their use of it at once. */
export async function findPersonForApp(deps: Pick<ServiceDeps, 'db'>, personId: string, clientId: string): Promise<AppPerson | null> {
  const found = await findOidcApp(deps, clientId);
  if (!found || personId.length > 200) return null;
  const user = await findUserById(deps.db, personId);
  if (!user || appRefusal(found.app, user) !== null) return null;
  return { user, account: found.account, app: found.app };
}

/** What the app demands of a sign-in: its own `required_acr` and the request's
 * `acr_values`, `max_age` and `prompt=login`. */
export function requirementsOf(app: Pick<App, 'required_acr'>, request: { acrValues: unknown; maxAge: unknown; promptLogin: boolean }): FlowRequirements {
  // oidc-provider hands `max_age` over as the request sent it: a number or its digits.
  const raw = request.maxAge;
  const maxAge = typeof raw === 'number' && Number.isInteger(raw) && raw >= 0 ? raw : typeof raw === 'string' && /^\d{1,9}$/.test(raw) ? Number(raw) : null;
  return { acr: strongerAcr(storedAcr(app.required_acr), acrFromValues(request.acrValues)), maxAgeSeconds: maxAge, promptLogin: request.promptLogin };
}

export type { Acr };

/** The claims DESIGN.md lists, by scope (http/oidc/provider.ts maps scopes to claims). */
export function claimsOf(person: { user: User; account: Account }): Record<string, unknown> {
  const { user, account } = person;
  return {
    sub: user.id,
    email: user.email,
    // An invitation or reset link, or a code emailed to them, proved the address.
    email_verified: user.email_confirmed_at !== null,
    name: user.name,
    account: account.slug,
    account_name: account.name,
    role: user.role,
  };
}

export interface AllowedApp {
  clientId: string;
  name: string;
  /** When the person allowed it (seconds, as oidc-provider keeps it), if known. */
  allowedAt: number | null;
  scopes: string[];
}

/** The apps a person allowed (Security settings), one entry per app. */
export async function listAllowedApps(deps: Pick<ServiceDeps, 'db' | 'now'>, user: UserRef): Promise<AllowedApp[]> {
  const grants = await listPersonOidcRecords(deps.db, user.id, 'Grant', deps.now());
  const byClient = new Map<string, AllowedApp>();
  for (const grant of grants) {
    if (grant.client_id === null || byClient.has(grant.client_id)) continue;
    const app = await findAccountApp(deps.db, user.account_id, grant.client_id);
    if (!app) continue;
    let payload: { iat?: unknown; openid?: { scope?: unknown } } = {};
    try {
      payload = JSON.parse(grant.payload) as typeof payload;
    } catch {
      // An unreadable grant still lists its app, so it can be revoked.
    }
    const scope = typeof payload.openid?.scope === 'string' ? payload.openid.scope : '';
    byClient.set(grant.client_id, {
      clientId: grant.client_id,
      name: app.name,
      allowedAt: typeof payload.iat === 'number' ? payload.iat : null,
      scopes: scope.split(' ').filter((s) => s.length > 0),
    });
  }
  return [...byClient.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** Withdraws what a person allowed an app: its grant, codes and tokens. */
export async function revokeAllowedApp(deps: ServiceDeps, signedIn: SignedIn, clientId: string, context: RequestContext): Promise<boolean> {
  const { user, account } = signedIn;
  if (clientId.length > 200) return false;
  return deps.db.transaction().execute(async (trx) => {
    const app = await findAccountApp(trx, user.account_id, clientId);
    if (!app || (await deletePersonClientOidcRecords(trx, user.id, clientId)) === 0) return false;
    await appendAuditEvent(
      trx,
      {
        accountId: account.id,
        type: 'app_access_removed',
        actorUserId: user.id,
        subjectUserId: user.id,
        ip: context.ip,
        userAgent: context.userAgent,
        details: { app_id: app.id, app_name: app.name },
      },
      deps.now(),
    );
    return true;
  });
}

/** Step-up for an app, in one transaction (services/sign-in-flow.ts startStepUpFlow). */
export function askForStrongerSignIn(
  deps: ServiceDeps,
  input: Omit<Parameters<typeof startStepUpFlow>[2], 'context'>,
  context: RequestContext,
): ReturnType<typeof startStepUpFlow> {
  return deps.db.transaction().execute((trx) => startStepUpFlow(trx, deps, { ...input, context }));
}

/** Whether a session was signed in for this very request of an app: its flow was
 * started by the request's interaction page (whose path it returns to). */
export async function signedInForInteraction(
  deps: Pick<ServiceDeps, 'db'>,
  session: Pick<Session, 'flow_id' | 'user_id'>,
  interactionPath: string,
): Promise<boolean> {
  if (session.flow_id === null) return false;
  const flow = await findFlow(deps.db, session.flow_id);
  return flow !== undefined && flow.user_id === session.user_id && flow.return_to !== null && flow.return_to.startsWith(`${interactionPath}/`);
}

/** Deletes what oidc-provider stored and no longer needs (expired codes, tokens,
 * sessions, interactions); run about once a minute by each instance. */
export function pruneExpiredAppRecords(deps: Pick<ServiceDeps, 'db' | 'now'>): Promise<number> {
  return pruneExpiredOidcRecords(deps.db, deps.now());
}
