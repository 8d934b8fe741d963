// An account's API tokens (DESIGN.md, Automation): made by an admin with their fresh
// confirmation and shown once, listed, revoked; and the check of one on each request.
import { issueApiToken, parseApiToken, secretMatches } from '../crypto/tokens.js';
import { checkApiTokenSettings, isApiTokenScope, type ApiTokenScope } from '../domain/automation.js';
import { fail, ok, type Result } from '../domain/failures.js';
import { limitKeyForAddress } from '../domain/network.js';
import { findAccountById } from '../store/accounts.js';
import { countLiveApiTokens, findApiToken, insertApiToken, listAccountApiTokens, revokeAccountApiToken, touchApiToken } from '../store/api-tokens.js';
import { appendAuditEvent } from '../store/audit.js';
import type { ApiToken } from '../store/schema.js';
import { AccountUsers } from '../store/users.js';
import type { TokenActor } from './admin-actor.js';
import { confirmedPersonAction } from './admin-confirmation.js';
import type { Confirmation } from './confirmation.js';
import type { RequestContext, ServiceDeps } from './deps.js';
import type { SignedIn } from './sessions.js';

const DAY_IN_MILLISECONDS = 24 * 60 * 60 * 1000;
const LAST_USED_PRECISION_IN_MILLISECONDS = 60_000;
/** Enough for every script a team runs; a bound on what one stolen session can leave behind. */
export const MAX_LIVE_API_TOKENS = 50;

export interface ApiTokenView {
  id: string;
  name: string;
  scopes: ApiTokenScope[];
  createdBy: { id: string; email: string } | null;
  createdAt: number;
  lastUsedAt: number | null;
  expiresAt: number;
  revokedAt: number | null;
}

function scopesOf(token: ApiToken): ApiTokenScope[] {
  return (JSON.parse(token.scopes) as unknown[]).filter(isApiTokenScope);
}

function tokenView(token: ApiToken, creatorEmail: string | null): ApiTokenView {
  return {
    id: token.id,
    name: token.name,
    scopes: scopesOf(token),
    createdBy: creatorEmail === null ? null : { id: token.created_by_user_id, email: creatorEmail },
    createdAt: token.created_at,
    lastUsedAt: token.last_used_at,
    expiresAt: token.expires_at,
    revokedAt: token.revoked_at,
  };
}

export async function listApiTokens(deps: Pick<ServiceDeps, 'db'>, admin: SignedIn): Promise<ApiTokenView[]> {
  const tokens = await listAccountApiTokens(deps.db, admin.account.id);
  // The makers only (a handful), not every person of the account.
  const users = new AccountUsers(deps.db, admin.account.id);
  const makers = await Promise.all([...new Set(tokens.map((token) => token.created_by_user_id))].map((id) => users.findById(id)));
  const emails = new Map(makers.flatMap((user) => (user ? [[user.id, user.email] as const] : [])));
  return tokens.map((token) => tokenView(token, emails.get(token.created_by_user_id) ?? null));
}

/** Makes a token; its value is in the answer only, once. */
export async function createApiToken(
  deps: ServiceDeps,
  admin: SignedIn,
  input: { name?: unknown; scopes?: unknown; expiresInDays?: unknown; confirmation?: Confirmation },
  context: RequestContext,
): Promise<Result<{ token: ApiTokenView; value: string }>> {
  const settings = checkApiTokenSettings(input);
  if (!settings.ok) return settings;
  if ((await countLiveApiTokens(deps.db, admin.account.id, deps.now())) >= MAX_LIVE_API_TOKENS)
    return fail('invalid_request', {
      message: `An account may have at most ${MAX_LIVE_API_TOKENS} live API tokens. Revoke one you no longer use.`,
      detail: { key: 'detail.apiTokenLimit', values: { max: MAX_LIVE_API_TOKENS } },
    });
  return confirmedPersonAction(deps, admin, { confirmation: input.confirmation, context }, async (trx) => {
    const now = deps.now();
    const issued = issueApiToken();
    const row = {
      id: issued.id,
      account_id: admin.account.id,
      name: settings.value.name,
      scopes: JSON.stringify(settings.value.scopes),
      secret_hash: issued.secretHash,
      created_by_user_id: admin.user.id,
      created_at: now,
      expires_at: now + settings.value.expiresInDays * DAY_IN_MILLISECONDS,
      last_used_at: null,
      revoked_at: null,
    };
    await insertApiToken(trx, row);
    await appendAuditEvent(
      trx,
      {
        accountId: admin.account.id,
        type: 'api_token_created',
        actorUserId: admin.user.id,
        ip: context.ip,
        userAgent: context.userAgent,
        details: { api_token_id: row.id, name: row.name, scopes: settings.value.scopes, expires_at: new Date(row.expires_at).toISOString() },
      },
      now,
    );
    return ok({ token: tokenView(row, admin.user.email), value: issued.token });
  });
}

/** Revoking takes power away, so it needs no confirmation; it holds from the next request. */
export async function revokeApiToken(deps: ServiceDeps, admin: SignedIn, id: string, context: RequestContext): Promise<Result<null>> {
  return deps.db.transaction().execute(async (trx) => {
    const now = deps.now();
    const token = await findApiToken(trx, id);
    if (!token || token.account_id !== admin.account.id) return fail<null>('not_found', { message: 'There is no such API token in this account.' });
    if (!(await revokeAccountApiToken(trx, admin.account.id, id, now))) return ok(null);
    await appendAuditEvent(
      trx,
      {
        accountId: admin.account.id,
        type: 'api_token_revoked',
        actorUserId: admin.user.id,
        ip: context.ip,
        userAgent: context.userAgent,
        details: { api_token_id: id, name: token.name },
      },
      now,
    );
    return ok(null);
  });
}

export const API_TOKEN_REQUESTS_PER_MINUTE = 600;

/** A request with an API token: the token, within its rate; a value that is no live
 * token counts as a failure of the caller's address, like a wrong password. */
export async function authenticateApiRequest(deps: ServiceDeps, value: unknown, context: RequestContext): Promise<Result<TokenActor>> {
  const actor = await authenticateApiToken(deps, value);
  if (!actor) {
    const verdict = await deps.limits.failuresByAddress.hit(limitKeyForAddress(context.ip));
    return verdict.allowed
      ? fail('unauthorized', { message: 'This API token is not valid: it may be wrong, expired or revoked.' })
      : fail('rate_limited', { retryAfterSeconds: verdict.retryAfterSeconds });
  }
  const verdict = await deps.limits.requestsByApiToken.hit(actor.token.id);
  return verdict.allowed ? ok(actor) : fail('rate_limited', { retryAfterSeconds: verdict.retryAfterSeconds });
}

/** The token behind a bearer value, if it is live and its creator is still an admin of
 * its account (and not suspended): a token never outlasts its creator's power. */
export async function authenticateApiToken(deps: Pick<ServiceDeps, 'db' | 'now'>, value: unknown): Promise<TokenActor | null> {
  const parsed = parseApiToken(value);
  if (!parsed) return null;
  const token = await findApiToken(deps.db, parsed.id);
  if (!token || !secretMatches(parsed.secret, token.secret_hash)) return null;
  const now = deps.now();
  if (token.revoked_at !== null || token.expires_at <= now) return null;
  const [user, account] = await Promise.all([
    new AccountUsers(deps.db, token.account_id).findById(token.created_by_user_id),
    findAccountById(deps.db, token.account_id),
  ]);
  if (!user || !account || user.role !== 'admin' || user.suspended_at !== null) return null;
  if (token.last_used_at === null || now - token.last_used_at >= LAST_USED_PRECISION_IN_MILLISECONDS) {
    await touchApiToken(deps.db, token.id, now, now - LAST_USED_PRECISION_IN_MILLISECONDS);
  }
  return { token, scopes: scopesOf(token), user, account };
}
