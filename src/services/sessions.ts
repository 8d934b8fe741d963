// Server-side sessions: the client holds `id.secret`, the database only SHA-256(secret).
// They are created by services/sign-in-flow.ts alone; here they are checked and ended.
import type { Kysely } from 'kysely';
import { revokeApiTokensMadeBy } from '../store/api-tokens.js';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { KeyRing } from '../crypto/keys.js';
import { hashSecret, parseToken, secretMatches } from '../crypto/tokens.js';
import { DAY_IN_MILLISECONDS, SESSION_TOUCH_INTERVAL_IN_MILLISECONDS } from '../domain/policy.js';
import { appendAuditEvent } from '../store/audit.js';
import { expireUserFlows } from '../store/sign-in-flows.js';
import { deleteSession, deleteUserSessions, findSessionWithOwner, touchSession } from '../store/sessions.js';
import { deleteTrustedDevices } from '../store/trusted-devices.js';
import type { Account, Database, Session, User } from '../store/schema.js';
import type { RequestContext, ServiceDeps } from './deps.js';
import { signOutOfApps } from './app-sign-out.js';
import type { UserRef } from '../store/users.js';

export interface SignedIn {
  session: Session;
  user: User;
  account: Account;
}

/** Finds the live session behind a token, or null. Revocation is a deleted row, so it
 * takes effect on the very next request. */
export async function authenticate(deps: ServiceDeps, token: unknown): Promise<SignedIn | null> {
  const parsed = parseToken(token);
  if (!parsed) return null;
  // One read for the session, its person and its account, every request: nothing is
  // kept between requests, so a revocation on any instance holds on the next one.
  const found = await findSessionWithOwner(deps.db, parsed.id);
  if (!found || !secretMatches(parsed.secret, found.row.secret_hash)) return null;
  return stillValid(deps, found);
}

/** A session found by its token: still live, its person still in, and touched now and then. */
async function stillValid(deps: ServiceDeps, found: NonNullable<Awaited<ReturnType<typeof findSessionWithOwner>>>): Promise<SignedIn | null> {
  const { row: session, user, account } = found;
  const now = deps.now();
  if (session.expires_at <= now) {
    await deleteSession(deps.db, session.id);
    return null;
  }
  if (!user || user.suspended_at !== null || user.account_id !== session.account_id) return null;
  if (!account) return null;
  // An admin may shorten "stay signed in for"; it applies to sessions already open.
  if (session.kind === 'full' && session.created_at + account.session_days * DAY_IN_MILLISECONDS <= now) {
    await deleteSession(deps.db, session.id);
    return null;
  }
  if (now - session.last_seen_at >= SESSION_TOUCH_INTERVAL_IN_MILLISECONDS) {
    await touchSession(deps.db, session.id, now, now - SESSION_TOUCH_INTERVAL_IN_MILLISECONDS);
  }
  return { session, user, account };
}

/**
 * The forward-auth cookie (DESIGN.md, Forward-auth): it is sent to every host under
 * TESSERA_COOKIE_DOMAIN, so to the apps behind the proxy too, and must not open
 * Tessera itself. It names the session and carries an HMAC of the session's stored
 * hash, not its secret: it proves the session to the forward-auth check alone, and
 * dies with the session.
 */
export function forwardAuthTokenFor(keys: KeyRing, sessionToken: string): string | null {
  const parsed = parseToken(sessionToken);
  return parsed ? `${parsed.id}.${forwardAuthMac(keys, parsed.id, hashSecret(parsed.secret))}` : null;
}

function forwardAuthMac(keys: KeyRing, sessionId: string, secretHash: string): string {
  return createHmac('sha256', keys.hmacKey).update(`forward-auth:${sessionId}:${secretHash}`).digest('base64url');
}

/** The session behind a forward-auth cookie, or null. */
export async function authenticateForwardAuth(deps: ServiceDeps, token: unknown): Promise<SignedIn | null> {
  const parsed = parseToken(token);
  if (!parsed) return null;
  const found = await findSessionWithOwner(deps.db, parsed.id);
  if (!found) return null;
  const expected = Buffer.from(forwardAuthMac(deps.keys, found.row.id, found.row.secret_hash));
  const actual = Buffer.from(parsed.secret);
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return null;
  const signedIn = await stillValid(deps, found);
  return signedIn?.session.kind === 'full' ? signedIn : null;
}

export async function endSession(deps: ServiceDeps, signedIn: SignedIn, context: RequestContext): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    await deleteSession(trx, signedIn.session.id);
    await signOutOfApps(trx, deps, signedIn.user);
    await appendAuditEvent(
      trx,
      {
        accountId: signedIn.account.id,
        type: 'sign_out',
        actorUserId: signedIn.user.id,
        subjectUserId: signedIn.user.id,
        ip: context.ip,
        userAgent: context.userAgent,
      },
      deps.now(),
    );
  });
}

/** Ends every way a person is in or on the way in: their sessions, trusted computers
 * and open sign-in challenges (suspension, and an admin's help, which presumes the
 * device lost: SECURITY.md, admin actions). */
export async function endEveryWayIn(db: Kysely<Database>, deps: Pick<ServiceDeps, 'now' | 'keys'>, user: UserRef): Promise<void> {
  await deleteUserSessions(db, user);
  await revokeApiTokensMadeBy(db, user.id, deps.now());
  await signOutOfApps(db, deps, user);
  await deleteTrustedDevices(db, user);
  await expireUserFlows(db, user);
}
