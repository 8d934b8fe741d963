// Accounts and the first-run setup link (DESIGN.md row 0).
import { issueToken, newId, parseToken, secretMatches } from '../crypto/tokens.js';
import { fail, ok, type Result } from '../domain/failures.js';
import { isValidDisplayName, isValidEmail, isValidSlug, normalizeDisplayName, normalizeEmail, normalizeSlug } from '../domain/identity.js';
import { checkPassword, describePasswordProblem, passwordProblemDetail } from '../domain/password-policy.js';
import { SETUP_LINK_LIFETIME_IN_MILLISECONDS } from '../domain/policy.js';
import { consumeActionToken, findActionToken, insertActionToken } from '../store/action-tokens.js';
import { countAccounts, findAccountBySlug, insertAccount, updateAccount } from '../store/accounts.js';
import { appendAuditEvent } from '../store/audit.js';
import type { Account } from '../store/schema.js';
import { AccountUsers } from '../store/users.js';
import type { RequestContext, ServiceDeps } from './deps.js';
import { startSignInFlow, type SignInOutcome } from './sign-in-flow.js';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';

export async function createAccount(deps: ServiceDeps, input: { slug: string; name: string }, context: RequestContext): Promise<Result<Account>> {
  const slug = normalizeSlug(input.slug);
  const name = normalizeDisplayName(input.name);
  if (!isValidSlug(slug)) {
    return fail('invalid_request', {
      field: 'slug',
      message: 'The account slug must be 1 to 40 lower-case letters, digits or dashes, starting and ending with a letter or digit.',
    });
  }
  if (!isValidDisplayName(name)) return fail('invalid_request', { field: 'name', message: 'The account name must be 1 to 100 characters.' });
  return deps.db.transaction().execute(async (trx) => insertNewAccount(trx, deps, { slug, name }, context));
}

async function insertNewAccount(
  db: Kysely<Database>,
  deps: ServiceDeps,
  input: { slug: string; name: string },
  context: RequestContext,
): Promise<Result<Account>> {
  if (await findAccountBySlug(db, input.slug)) return fail('slug_taken', { field: 'slug' });
  const now = deps.now();
  const account: Account = {
    id: newId(),
    slug: input.slug,
    name: input.name,
    owner_user_id: null,
    require_two_factor: 'off',
    require_two_factor_since: null,
    grace_days: 0,
    session_days: 14,
    trusted_device_days: 30,
    require_phishing_resistant_admins: 0,
    passkey_sign_in: 1,
    default_language: null,
    country: 'US',
    sms_daily_budget: null,
    sms_allowed_countries: null,
    created_at: now,
    updated_at: now,
  };
  await insertAccount(db, account);
  await appendAuditEvent(
    db,
    { accountId: account.id, type: 'account_created', ip: context.ip, userAgent: context.userAgent, details: { slug: input.slug } },
    now,
  );
  return ok(account);
}

/** Returns a one-time setup link when the deployment has no account yet, else null. */
export async function issueSetupLink(deps: ServiceDeps): Promise<string | null> {
  if ((await countAccounts(deps.db)) > 0) return null;
  const now = deps.now();
  const issued = issueToken();
  await insertActionToken(deps.db, {
    id: issued.id,
    accountId: null,
    userId: null,
    purpose: 'setup',
    secretHash: issued.secretHash,
    now,
    expiresAt: now + SETUP_LINK_LIFETIME_IN_MILLISECONDS,
  });
  return `${deps.config.baseUrl}/setup?token=${encodeURIComponent(issued.token)}`;
}

export async function checkSetupToken(deps: ServiceDeps, token: unknown): Promise<Result<{ id: string }>> {
  const parsed = parseToken(token);
  if (!parsed) return fail('invalid_token');
  const row = await findActionToken(deps.db, parsed.id, 'setup');
  if (!row || !secretMatches(parsed.secret, row.secret_hash) || row.used_at !== null || row.expires_at <= deps.now()) return fail('invalid_token');
  if ((await countAccounts(deps.db)) > 0) return fail('setup_already_done');
  return ok({ id: row.id });
}

export interface SetupInput {
  token: unknown;
  accountName: string;
  accountSlug: string;
  ownerName: string;
  email: string;
  password: string;
}

/** Creates the first account and its owner (an admin), then signs the owner in. */
export async function completeSetup(deps: ServiceDeps, input: SetupInput, context: RequestContext): Promise<Result<SignInOutcome>> {
  const token = await checkSetupToken(deps, input.token);
  if (!token.ok) return token;
  const email = normalizeEmail(input.email);
  const ownerName = normalizeDisplayName(input.ownerName);
  if (!isValidEmail(email)) return fail('invalid_request', { field: 'email', message: 'Enter a valid email address.' });
  if (!isValidDisplayName(ownerName)) return fail('invalid_request', { field: 'owner_name', message: 'Your name must be 1 to 100 characters.' });
  const problem = checkPassword(input.password, [email, ownerName, input.accountName, input.accountSlug]);
  if (problem) return fail('weak_password', { field: 'password', message: describePasswordProblem(problem), detail: passwordProblemDetail(problem) });
  const slug = normalizeSlug(input.accountSlug);
  const name = normalizeDisplayName(input.accountName);
  if (!isValidSlug(slug)) {
    return fail('invalid_request', {
      field: 'account_slug',
      message: 'The account slug must be 1 to 40 lower-case letters, digits or dashes, starting and ending with a letter or digit.',
    });
  }
  if (!isValidDisplayName(name)) return fail('invalid_request', { field: 'account_name', message: 'The account name must be 1 to 100 characters.' });
  const passwordHash = await deps.hasher.hash(input.password);

  return deps.db.transaction().execute(async (trx) => {
    const now = deps.now();
    if ((await countAccounts(trx)) > 0) return fail<SignInOutcome>('setup_already_done');
    if (!(await consumeActionToken(trx, token.value.id, now))) return fail<SignInOutcome>('invalid_token');
    const created = await insertNewAccount(trx, deps, { slug, name }, context);
    if (!created.ok) return created;
    const account = created.value;
    const userId = newId();
    const users = new AccountUsers(trx, account.id);
    await users.insert(newUserRow({ id: userId, email, name: ownerName, role: 'admin', passwordHash, now }));
    await updateAccount(trx, account.id, { owner_user_id: userId, updated_at: now });
    const owner = (await users.findById(userId))!;
    await appendAuditEvent(
      trx,
      {
        accountId: account.id,
        type: 'user_created',
        actorUserId: userId,
        subjectUserId: userId,
        ip: context.ip,
        userAgent: context.userAgent,
        details: { role: 'admin', owner: true },
      },
      now,
    );
    return startSignInFlow(trx, deps, {
      account: { ...account, owner_user_id: userId },
      user: owner,
      firstFactor: 'setup',
      trustedDeviceToken: null,
      context,
    });
  });
}

export function newUserRow(input: {
  id: string;
  email: string;
  name: string;
  role: 'admin' | 'agent' | 'end_user';
  passwordHash: string | null;
  now: number;
  language?: string | null;
}) {
  return {
    id: input.id,
    email: input.email,
    name: input.name,
    role: input.role,
    password_hash: input.passwordHash,
    password_changed_at: input.passwordHash ? input.now : null,
    suspended_at: null,
    two_factor_enabled: 0,
    two_factor_enabled_at: null,
    preferred_method: null,
    two_factor_setup_required: 0,
    failed_passcode_count: 0,
    passcode_locked_until: null,
    passcode_lock_count: 0,
    email_confirmed_at: null,
    last_sign_in_at: null,
    last_passcode_used_at: null,
    language: input.language ?? null,
    time_zone: null,
    created_at: input.now,
    updated_at: input.now,
  };
}
