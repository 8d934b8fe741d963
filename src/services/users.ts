// People in an account: created by the CLI, invited by admins, given roles, suspended.
import type { Kysely } from 'kysely';
import { issueToken, newId } from '../crypto/tokens.js';
import { mails } from '../delivery/email-templates.js';
import { parseFilterTime } from '../domain/dates.js';
import { fail, ok, type Result } from '../domain/failures.js';
import { LANGUAGES, parseLanguage, type Language } from '../domain/languages.js';
import { isRole, isValidDisplayName, isValidEmail, normalizeDisplayName, normalizeEmail, normalizeSlug } from '../domain/identity.js';
import { checkPassword, describePasswordProblem, passwordProblemDetail } from '../domain/password-policy.js';
import { INVITATION_LIFETIME_IN_MILLISECONDS } from '../domain/policy.js';
import type { Role } from '../domain/types.js';
import { insertActionToken, voidActionTokens } from '../store/action-tokens.js';
import { findAccountBySlug } from '../store/accounts.js';
import { appendAuditEvent } from '../store/audit.js';
import type { Account, Database, User } from '../store/schema.js';
import { AccountUsers, type PeopleFilter } from '../store/users.js';
import { revokeApiTokensMadeBy } from '../store/api-tokens.js';
import { newUserRow } from './accounts.js';
import type { RequestContext, ServiceDeps } from './deps.js';
import { emailUser } from './notify.js';
import { confirmedAdminAction, type ConfirmedChange } from './admin-confirmation.js';
import type { Confirmation } from './confirmation.js';
import { endEveryWayIn } from './sessions.js';
import { actorName, auditActor, isTokenActor, type AdminActor } from './admin-actor.js';

interface NewPerson {
  email: string;
  name: string;
  role: Role;
  /** Their language until they choose one (null: the account's default). */
  language: Language | null;
}

function validatePerson(input: { email: unknown; name?: unknown; role: unknown; language?: unknown }): Result<NewPerson> {
  const email = typeof input.email === 'string' ? normalizeEmail(input.email) : '';
  if (!isValidEmail(email)) return fail('invalid_request', { field: 'email', message: 'Enter a valid email address.' });
  if (!isRole(input.role)) return fail('invalid_request', { field: 'role', message: 'The role must be admin, agent or end_user.' });
  const rawName = typeof input.name === 'string' && input.name.trim() !== '' ? input.name : email.split('@')[0]!;
  const name = normalizeDisplayName(rawName);
  if (!isValidDisplayName(name)) return fail('invalid_request', { field: 'name', message: 'The name must be 1 to 100 characters.' });
  const language = input.language === undefined || input.language === null ? null : parseLanguage(input.language);
  if (language === null && input.language !== undefined && input.language !== null) {
    return fail('invalid_request', {
      field: 'language',
      message: `The language must be one of ${LANGUAGES.join(', ')}.`,
      detail: { key: 'detail.languageChoice', values: { languages: LANGUAGES.join(', ') } },
    });
  }
  return ok({ email, name, role: input.role, language });
}

async function sendInvitation(
  db: Kysely<Database>,
  deps: ServiceDeps,
  input: { account: Account; user: User; inviterName: string; context: RequestContext },
): Promise<void> {
  const now = deps.now();
  await voidActionTokens(db, input.user, 'invitation', now);
  const issued = issueToken();
  await insertActionToken(db, {
    id: issued.id,
    accountId: input.account.id,
    userId: input.user.id,
    purpose: 'invitation',
    secretHash: issued.secretHash,
    now,
    expiresAt: now + INVITATION_LIFETIME_IN_MILLISECONDS,
  });
  const link = `${deps.config.baseUrl}/invitation?token=${encodeURIComponent(issued.token)}`;
  await emailUser(db, deps, {
    account: input.account,
    user: input.user,
    purpose: 'invitation',
    context: input.context,
    compose: (c) => mails.invitation(c, { inviterName: input.inviterName, link }),
  });
}

/** The operator's way in (`bin/tessera user create`): with a password, or invited by email. */
export async function createUser(
  deps: ServiceDeps,
  input: { account: string; email: unknown; name?: unknown; role: unknown; password: string | null },
  context: RequestContext,
): Promise<Result<{ user: User; invited: boolean }>> {
  const account = await findAccountBySlug(deps.db, normalizeSlug(input.account));
  if (!account) return fail('account_not_found', { field: 'account' });
  const person = validatePerson(input);
  if (!person.ok) return person;
  let passwordHash: string | null = null;
  if (input.password !== null) {
    const problem = checkPassword(input.password, [person.value.email, person.value.name]);
    if (problem) return fail('weak_password', { field: 'password', message: describePasswordProblem(problem), detail: passwordProblemDetail(problem) });
    passwordHash = await deps.hasher.hash(input.password);
  }
  return deps.db.transaction().execute(async (trx) => {
    const users = new AccountUsers(trx, account.id);
    if (await users.findByEmail(person.value.email)) return fail<{ user: User; invited: boolean }>('email_taken', { field: 'email' });
    const now = deps.now();
    const id = newId();
    await users.insert(newUserRow({ id, ...person.value, passwordHash, now }));
    const user = (await users.findById(id))!;
    await appendAuditEvent(
      trx,
      {
        accountId: account.id,
        type: 'user_created',
        subjectUserId: id,
        ip: context.ip,
        userAgent: context.userAgent,
        details: { role: person.value.role, by: 'cli' },
      },
      now,
    );
    if (passwordHash === null) await sendInvitation(trx, deps, { account, user, inviterName: `The ${deps.config.productName} operator`, context });
    return ok({ user, invited: passwordHash === null });
  });
}

/** Inviting an admin gives power, so it takes the inviting admin's confirmation and a
 * reason; other invitations take neither. */
export async function inviteUser(
  deps: ServiceDeps,
  admin: AdminActor,
  input: { email: unknown; name?: unknown; role: unknown; language?: unknown; reason?: unknown; confirmation?: Confirmation },
  context: RequestContext,
): Promise<Result<User>> {
  const person = validatePerson(input);
  if (!person.ok) return person;
  if (person.value.role === 'admin' && isTokenActor(admin))
    return fail('person_required', { field: 'role', message: 'Only a person can make someone an admin, not an API token.' });
  const invite = async (trx: Kysely<Database>, reason: string | null): Promise<Result<User>> => {
    const users = new AccountUsers(trx, admin.account.id);
    const now = deps.now();
    const id = newId();
    await users.insert(newUserRow({ id, ...person.value, passwordHash: null, now }));
    const user = (await users.findById(id))!;
    await appendAuditEvent(
      trx,
      {
        accountId: admin.account.id,
        type: 'user_invited',
        ...auditActor(admin),
        subjectUserId: id,
        ip: context.ip,
        userAgent: context.userAgent,
        reason,
        details: { role: person.value.role },
      },
      now,
    );
    await sendInvitation(trx, deps, { account: admin.account, user, inviterName: actorName(admin), context });
    return ok(user);
  };
  const emailFree = async (trx: Kysely<Database>): Promise<Result<null>> =>
    (await new AccountUsers(trx, admin.account.id).findByEmail(person.value.email)) ? fail('email_taken', { field: 'email' }) : ok(null);
  if (person.value.role === 'admin') {
    return confirmedAdminAction(
      deps,
      admin,
      { reason: input.reason, confirmation: input.confirmation, context },
      { check: emailFree, apply: (trx, _free, reason) => invite(trx, reason) },
    );
  }
  return deps.db.transaction().execute(async (trx) => {
    const free = await emailFree(trx);
    return free.ok ? invite(trx, null) : free;
  });
}

/** Sends a fresh invitation to someone who has not set a password yet. */
export async function resendInvitation(deps: ServiceDeps, admin: AdminActor, userId: string, context: RequestContext): Promise<Result<User>> {
  return deps.db.transaction().execute(async (trx) => {
    const user = await new AccountUsers(trx, admin.account.id).findById(userId);
    if (!user) return fail<User>('user_not_found');
    if (user.password_hash !== null) return fail<User>('invalid_request', { message: 'This person has already set a password.' });
    await sendInvitation(trx, deps, { account: admin.account, user, inviterName: actorName(admin), context });
    await appendAuditEvent(
      trx,
      {
        accountId: admin.account.id,
        type: 'user_invited',
        ...auditActor(admin),
        subjectUserId: user.id,
        ip: context.ip,
        userAgent: context.userAgent,
        details: { resent: true },
      },
      deps.now(),
    );
    return ok(user);
  });
}

/** An admin may not act on themselves here, nor on the owner unless they are the owner. */
function checkTarget(admin: AdminActor, target: User): Result<null> {
  if (target.id === admin.user.id) return fail('cannot_change_self');
  if (target.id === admin.account.owner_user_id) return fail('forbidden', { message: 'Only the account owner can change the owner.' });
  return ok(null);
}

export type { ConfirmedChange };

/** The person an admin acts on, their row locked, if the admin may act on them. */
async function loadTarget(trx: Kysely<Database>, deps: ServiceDeps, admin: AdminActor, userId: string): Promise<Result<User>> {
  const user = await new AccountUsers(trx, admin.account.id).lockById(userId, deps.dialect);
  if (!user) return fail('user_not_found');
  const allowed = checkTarget(admin, user);
  return allowed.ok ? ok(user) : allowed;
}

/** A role decides power and whether two-factor is required, so every change takes the
 * admin's confirmation and a reason, and the person is emailed. */
export async function changeRole(
  deps: ServiceDeps,
  admin: AdminActor,
  userId: string,
  role: unknown,
  change: ConfirmedChange,
  context: RequestContext,
): Promise<Result<User>> {
  if (!isRole(role)) return fail('invalid_request', { field: 'role', message: 'The role must be admin, agent or end_user.' });
  return confirmedAdminAction(
    deps,
    admin,
    { ...change, context },
    {
      targetUserId: userId,
      check: async (trx) => {
        const target = await loadTarget(trx, deps, admin, userId);
        // Admin power is given and taken by people only: a token could otherwise make
        // its own way back in through someone it promotes.
        if (target.ok && isTokenActor(admin) && (role === 'admin' || target.value.role === 'admin'))
          return fail<User>('person_required', { field: 'role', message: "Only a person can give or take an admin's role, not an API token." });
        return target;
      },
      apply: async (trx, user, reason) => {
        if (user.role === role) return ok(user);
        const now = deps.now();
        await new AccountUsers(trx, admin.account.id).update(user.id, { role, updated_at: now });
        // The API tokens a former admin made die with their power.
        if (user.role === 'admin') await revokeApiTokensMadeBy(trx, user.id, now);
        await appendAuditEvent(
          trx,
          {
            accountId: admin.account.id,
            type: 'role_changed',
            ...auditActor(admin),
            subjectUserId: user.id,
            ip: context.ip,
            userAgent: context.userAgent,
            reason,
            details: { from: user.role, to: role },
          },
          now,
        );
        await emailUser(trx, deps, {
          account: admin.account,
          user,
          purpose: 'role_changed',
          context,
          compose: (c) => mails.roleChanged(c, { adminName: actorName(admin), role }),
        });
        return ok({ ...user, role, updated_at: now });
      },
    },
  );
}

/** Suspending and reactivating take the admin's confirmation and a reason, and the
 * person is emailed either way. */
export async function setSuspended(
  deps: ServiceDeps,
  admin: AdminActor,
  userId: string,
  suspended: boolean,
  change: ConfirmedChange,
  context: RequestContext,
): Promise<Result<User>> {
  return confirmedAdminAction(
    deps,
    admin,
    { ...change, context },
    {
      targetUserId: userId,
      check: async (trx) => {
        const target = await loadTarget(trx, deps, admin, userId);
        // Suspending or reactivating an admin takes or gives back admin power: people only.
        if (target.ok && isTokenActor(admin) && target.value.role === 'admin')
          return fail<User>('person_required', { message: 'Only a person can suspend or reactivate an admin, not an API token.' });
        return target;
      },
      apply: async (trx, user, reason) => {
        const now = deps.now();
        const changes = (user.suspended_at !== null) !== suspended;
        const suspendedAt = suspended ? (user.suspended_at ?? now) : null;
        await new AccountUsers(trx, admin.account.id).update(user.id, { suspended_at: suspendedAt, updated_at: now });
        // Suspension ends every way back in at once: sessions, trusted computers, open challenges.
        if (suspended) await endEveryWayIn(trx, deps, user);
        // The admin's confirmed action is audited even where it changed nothing (a
        // request sent again); the person hears only of a change.
        await appendAuditEvent(
          trx,
          {
            accountId: admin.account.id,
            type: suspended ? 'user_suspended' : 'user_reactivated',
            ...auditActor(admin),
            subjectUserId: user.id,
            ip: context.ip,
            userAgent: context.userAgent,
            reason,
          },
          now,
        );
        if (!changes) return ok({ ...user, suspended_at: suspendedAt, updated_at: now });
        await emailUser(trx, deps, {
          account: admin.account,
          user,
          purpose: suspended ? 'user_suspended' : 'user_reactivated',
          context,
          compose: (c) => (suspended ? mails.accessSuspended(c, { adminName: actorName(admin) }) : mails.accessRestored(c, { adminName: actorName(admin) })),
        });
        return ok({ ...user, suspended_at: suspendedAt, updated_at: now });
      },
    },
  );
}

export async function listUsers(deps: ServiceDeps, accountSlug: string): Promise<Result<{ account: Account; users: User[] }>> {
  const account = await findAccountBySlug(deps.db, normalizeSlug(accountSlug));
  if (!account) return fail('account_not_found', { field: 'account' });
  return ok({ account, users: await new AccountUsers(deps.db, account.id).list() });
}

/** A page of an account's people, newest first, for its admins (the people page, its
 * CSV and the admin API). `staffWithoutTwoFactor` is the one definition of that filter
 * (store/users.ts). */
export function listPeople(
  deps: Pick<ServiceDeps, 'db'>,
  accountId: string,
  input: { limit: number; before: { createdAt: number; id: string } | null } & PeopleFilter,
): Promise<User[]> {
  const { limit, before, ...filter } = input;
  return new AccountUsers(deps.db, accountId).listPage(limit, before, filter);
}

/** The filters a sync script gives the admin API: one address (matched like every
 * email, case-insensitively) and the people changed at or after a time. */
export function readPeopleFilter(input: { email?: string; updatedSince?: string }): Result<Pick<PeopleFilter, 'email' | 'updatedSince'>> {
  const updatedSince = parseFilterTime(input.updatedSince, 'updated_since');
  if (!updatedSince.ok) return updatedSince;
  return ok({
    ...(input.email !== undefined && input.email !== '' ? { email: normalizeEmail(input.email) } : {}),
    ...(updatedSince.value !== undefined ? { updatedSince: updatedSince.value } : {}),
  });
}

/** One person of the account, or undefined (another account's person included). */
export function findPerson(deps: Pick<ServiceDeps, 'db'>, accountId: string, userId: string): Promise<User | undefined> {
  return new AccountUsers(deps.db, accountId).findById(userId);
}
