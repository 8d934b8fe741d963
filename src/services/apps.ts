// A team's other apps as an account's admins manage them (DESIGN.md rows 16 and 17):
// OpenID Connect clients and hosts guarded by forward-auth. Adding, changing and
// removing one takes the admin's fresh confirmation and a reason, like a role change
// (admin-confirmation.ts): an app decides who may sign in where, and a confidential
// app's secret is a credential. The operator's command line needs neither
// confirmation nor an admin. Each use case is one transaction.
import { issueClientSecret, newId } from '../crypto/tokens.js';
import { checkAppChange, checkNewApp, type AppFieldsInput, type AppSettings } from '../domain/apps.js';
import { fail, ok, type Result } from '../domain/failures.js';
import { normalizeSlug } from '../domain/identity.js';
import type { Acr } from '../domain/sign-in-decision.js';
import type { Role } from '../domain/types.js';
import { findAccountBySlug } from '../store/accounts.js';
import {
  deleteAccountApp,
  findAccountApp,
  findAppByHost,
  insertApp,
  isHostTakenError,
  listAccountApps,
  lockAccountApp,
  updateAccountApp,
} from '../store/apps.js';
import { appendAuditEvent } from '../store/audit.js';
import { deleteOidcClientRecords } from '../store/oidc-records.js';
import type { Account, App, Database } from '../store/schema.js';
import type { Kysely } from 'kysely';
import { confirmedAdminAction, type ConfirmedChange } from './admin-confirmation.js';
import type { RequestContext, ServiceDeps } from './deps.js';
import { forgetGuardedHosts } from './guarded-hosts.js';
import { auditActor, type AdminActor } from './admin-actor.js';

/** Who manages an account's apps: one of its admins (or an API token with apps:write),
 * or the operator (admin null). */
export interface AppManager {
  admin: AdminActor | null;
  account: Account;
}

export function adminAppManager(admin: AdminActor): AppManager {
  return { admin, account: admin.account };
}

/** The operator's way in (`bin/tessera app …`), by the account's slug. */
export async function operatorAppManager(deps: Pick<ServiceDeps, 'db'>, accountSlug: string): Promise<Result<AppManager>> {
  const account = await findAccountBySlug(deps.db, normalizeSlug(accountSlug));
  return account ? ok({ admin: null, account }) : fail('account_not_found', { field: 'account' });
}

/** An app as its admins see it. `id` is also its OpenID Connect client_id. */
export interface RegisteredApp extends AppSettings {
  id: string;
  /** A confidential app's secret exists (only its SHA-256 is kept). */
  hasSecret: boolean;
  createdAt: number;
  updatedAt: number;
}

/** An app and, when one was just made, its secret: shown to the admin this once. */
export interface AppWithSecret {
  app: RegisteredApp;
  clientSecret: string | null;
}

function registeredApp(row: App): RegisteredApp {
  return {
    id: row.id,
    name: row.name,
    type: row.kind,
    redirectUris: JSON.parse(row.redirect_uris) as string[],
    postLogoutRedirectUris: JSON.parse(row.post_logout_redirect_uris) as string[],
    backchannelLogoutUri: row.backchannel_logout_uri,
    host: row.host,
    firstParty: row.first_party === 1,
    allowedRoles: JSON.parse(row.allowed_roles) as Role[],
    requiredAcr: row.required_acr as Acr | null,
    hasSecret: row.secret_hash !== null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function settingsColumns(settings: AppSettings) {
  return {
    name: settings.name,
    kind: settings.type,
    redirect_uris: JSON.stringify(settings.redirectUris),
    post_logout_redirect_uris: JSON.stringify(settings.postLogoutRedirectUris),
    backchannel_logout_uri: settings.backchannelLogoutUri,
    host: settings.host,
    first_party: settings.firstParty ? 1 : 0,
    allowed_roles: JSON.stringify(settings.allowedRoles),
    required_acr: settings.requiredAcr,
  };
}

/** The API's name of each setting, for the audit log's list of what changed. */
const SETTING_NAMES: Record<keyof AppSettings, string> = {
  name: 'name',
  type: 'type',
  redirectUris: 'redirect_uris',
  postLogoutRedirectUris: 'post_logout_redirect_uris',
  backchannelLogoutUri: 'backchannel_logout_uri',
  host: 'host',
  firstParty: 'first_party',
  allowedRoles: 'allowed_roles',
  requiredAcr: 'required_acr',
};

function changedSettings(before: AppSettings, after: AppSettings): string[] {
  return (Object.keys(SETTING_NAMES) as (keyof AppSettings)[])
    .filter((key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]))
    .map((key) => SETTING_NAMES[key]);
}

/** A proxy app's host belongs to one app in the whole deployment: forward-auth finds
 * the app by the host alone. */
async function checkHostFree(db: Kysely<Database>, settings: AppSettings, appId: string | null): Promise<Result<null>> {
  if (settings.host === null) return ok(null);
  const holder = await findAppByHost(db, settings.host);
  return holder && holder.id !== appId ? fail('host_taken', { field: 'host' }) : ok(null);
}

/** An app's change, once its transaction is over. Two admins taking one host at the
 * same moment: the unique index lets one win, and the other hears what a check would
 * have told them. And forward-auth on this instance reads the hosts' apps again at
 * once (the others within a few seconds: guarded-hosts.ts). */
async function appChange<T>(deps: Pick<ServiceDeps, 'db'>, work: Promise<Result<T>>): Promise<Result<T>> {
  try {
    return await work;
  } catch (error) {
    if (isHostTakenError(error)) return fail('host_taken', { field: 'host' });
    throw error;
  } finally {
    forgetGuardedHosts(deps);
  }
}

/** Writes an app's events to the audit log: which app, who (an admin or the command
 * line), why, from where. */
function appAuditor(db: Kysely<Database>, manager: AppManager, context: RequestContext, now: number) {
  return (type: 'app_created' | 'app_updated' | 'app_deleted', app: { id: string; name: string }, reason: string, details: Record<string, unknown>) =>
    appendAuditEvent(
      db,
      {
        accountId: manager.account.id,
        type,
        ...(manager.admin ? auditActor(manager.admin) : {}),
        ip: context.ip,
        userAgent: context.userAgent,
        reason,
        details: { app_id: app.id, name: app.name, ...details, by: manager.admin ? 'admin' : 'cli' },
      },
      now,
    );
}

/** The account's apps, newest first like every list of the API (an account has a
 * handful, so one page holds them all). */
export async function listApps(deps: Pick<ServiceDeps, 'db'>, manager: AppManager): Promise<RegisteredApp[]> {
  return (await listAccountApps(deps.db, manager.account.id)).map(registeredApp).reverse();
}

/** One app of the account; another account's app is not found. */
export async function getApp(deps: Pick<ServiceDeps, 'db'>, manager: AppManager, id: string): Promise<Result<RegisteredApp>> {
  const row = await findAccountApp(deps.db, manager.account.id, id);
  return row ? ok(registeredApp(row)) : fail('app_not_found');
}

/** Checks a new app before the admin is asked to confirm it (a page's review step);
 * createApp checks it all again in its transaction. */
export async function checkAppToCreate(deps: Pick<ServiceDeps, 'db'>, input: AppFieldsInput): Promise<Result<AppSettings>> {
  const settings = checkNewApp(input);
  if (!settings.ok) return settings;
  const free = await checkHostFree(deps.db, settings.value, null);
  return free.ok ? settings : free;
}

/** Checks a change before the admin is asked to confirm it; updateApp checks it all
 * again in its transaction. */
export async function checkAppToUpdate(
  deps: Pick<ServiceDeps, 'db'>,
  manager: AppManager,
  id: string,
  input: AppFieldsInput,
): Promise<Result<{ app: RegisteredApp; settings: AppSettings }>> {
  const app = await getApp(deps, manager, id);
  if (!app.ok) return app;
  const settings = checkAppChange(app.value, input);
  if (!settings.ok) return settings;
  const free = await checkHostFree(deps.db, settings.value, id);
  return free.ok ? ok({ app: app.value, settings: settings.value }) : free;
}

/** Registers an app. A confidential app gets its secret, returned here once. */
export async function createApp(
  deps: ServiceDeps,
  manager: AppManager,
  input: AppFieldsInput & ConfirmedChange,
  context: RequestContext,
): Promise<Result<AppWithSecret>> {
  const settings = checkNewApp(input);
  if (!settings.ok) return settings;
  return appChange(
    deps,
    confirmedAdminAction(
      deps,
      manager.admin,
      { reason: input.reason, confirmation: input.confirmation, context },
      {
        check: (trx) => checkHostFree(trx, settings.value, null),
        apply: async (trx, _free, reason) => {
          const now = deps.now();
          const id = newId();
          const secret = settings.value.type === 'confidential' ? issueClientSecret() : null;
          await insertApp(trx, {
            id,
            account_id: manager.account.id,
            ...settingsColumns(settings.value),
            secret_hash: secret?.secretHash ?? null,
            created_by_user_id: manager.admin?.user.id ?? null,
            created_at: now,
            updated_at: now,
          });
          const audit = appAuditor(trx, manager, context, now);
          await audit('app_created', { id, name: settings.value.name }, reason, { type: settings.value.type });
          const row = (await findAccountApp(trx, manager.account.id, id))!;
          return ok({ app: registeredApp(row), clientSecret: secret?.secret ?? null });
        },
      },
    ),
  );
}

/** Changes an app: fields left out keep their value. `rotate_secret: true` gives a
 * confidential app a new secret, returned here once; the old one stops working at once. */
export async function updateApp(
  deps: ServiceDeps,
  manager: AppManager,
  id: string,
  input: AppFieldsInput & { rotate_secret?: unknown } & ConfirmedChange,
  context: RequestContext,
): Promise<Result<AppWithSecret>> {
  if (input.rotate_secret !== undefined && typeof input.rotate_secret !== 'boolean')
    return fail('invalid_request', { field: 'rotate_secret', message: 'rotate_secret must be true or false.' });
  const rotate = input.rotate_secret === true;
  return appChange(
    deps,
    confirmedAdminAction(
      deps,
      manager.admin,
      { reason: input.reason, confirmation: input.confirmation, context },
      {
        check: async (trx) => {
          const row = await lockAccountApp(trx, manager.account.id, id, deps.dialect);
          if (!row) return fail('app_not_found');
          const current = registeredApp(row);
          const settings = checkAppChange(current, input);
          if (!settings.ok) return settings;
          if (rotate && current.type !== 'confidential')
            return fail('invalid_request', { field: 'rotate_secret', message: 'Only a confidential app has a secret to replace.' });
          const free = await checkHostFree(trx, settings.value, id);
          return free.ok ? ok({ current, settings: settings.value }) : free;
        },
        apply: async (trx, { current, settings }, reason) => {
          const now = deps.now();
          const secret = rotate ? issueClientSecret() : null;
          await updateAccountApp(trx, manager.account.id, id, {
            ...settingsColumns(settings),
            ...(secret ? { secret_hash: secret.secretHash } : {}),
            updated_at: now,
          });
          const audit = appAuditor(trx, manager, context, now);
          await audit('app_updated', { id, name: settings.name }, reason, { changed: changedSettings(current, settings), secret_replaced: secret !== null });
          const row = (await findAccountApp(trx, manager.account.id, id))!;
          return ok({ app: registeredApp(row), clientSecret: secret?.secret ?? null });
        },
      },
    ),
  );
}

/** Removes an app, and with it everything oidc-provider keeps for it (grants, codes,
 * access and refresh tokens) in the same transaction: its tokens die with it. */
export async function deleteApp(
  deps: ServiceDeps,
  manager: AppManager,
  id: string,
  change: ConfirmedChange,
  context: RequestContext,
): Promise<Result<RegisteredApp>> {
  return appChange(
    deps,
    confirmedAdminAction(
      deps,
      manager.admin,
      { ...change, context },
      {
        check: async (trx) => {
          const row = await lockAccountApp(trx, manager.account.id, id, deps.dialect);
          return row ? ok(registeredApp(row)) : fail('app_not_found');
        },
        apply: async (trx, app, reason) => {
          const now = deps.now();
          await deleteOidcClientRecords(trx, app.id);
          await deleteAccountApp(trx, manager.account.id, app.id);
          const audit = appAuditor(trx, manager, context, now);
          await audit('app_deleted', app, reason, { type: app.type });
          return ok(app);
        },
      },
    ),
  );
}
