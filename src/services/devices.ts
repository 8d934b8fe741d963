// A person's active sessions and trusted computers: listed, and revocable one by one
// or all at once. Revoking only takes access away, so it needs no passcode.
import { describeBrowser } from '../domain/browser-name.js';
import { fail, ok, type Result } from '../domain/failures.js';
import { appendAuditEvent } from '../store/audit.js';
import { deleteUserSession, deleteUserSessions, listUserSessions } from '../store/sessions.js';
import { signOutOfApps } from './app-sign-out.js';
import { deleteTrustedDevices, listTrustedDevices } from '../store/trusted-devices.js';
import type { RequestContext, ServiceDeps } from './deps.js';
import type { SignedIn } from './sessions.js';

export interface SessionView {
  id: string;
  browser: string;
  ip: string | null;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
  current: boolean;
}

export interface TrustedDeviceView {
  id: string;
  browser: string;
  createdAt: number;
  lastUsedAt: number;
  expiresAt: number;
  current: boolean;
}

export async function listSessions(deps: ServiceDeps, signedIn: SignedIn): Promise<SessionView[]> {
  const now = deps.now();
  const sessions = await listUserSessions(deps.db, signedIn.user);
  return sessions
    .filter((s) => s.expires_at > now)
    .map((s) => ({
      id: s.id,
      browser: describeBrowser(s.user_agent),
      ip: s.ip,
      createdAt: s.created_at,
      lastSeenAt: s.last_seen_at,
      expiresAt: s.expires_at,
      current: s.id === signedIn.session.id,
    }));
}

export async function listTrusted(deps: ServiceDeps, signedIn: SignedIn): Promise<TrustedDeviceView[]> {
  const devices = await listTrustedDevices(deps.db, signedIn.user, deps.now());
  return devices.map((d) => ({
    id: d.id,
    browser: d.browser,
    createdAt: d.created_at,
    lastUsedAt: d.last_used_at,
    expiresAt: d.expires_at,
    current: d.id === signedIn.session.trusted_device_id,
  }));
}

/** Ends one session (by id) or every session but this one (id undefined). */
export async function revokeSessions(deps: ServiceDeps, signedIn: SignedIn, id: string | undefined, context: RequestContext): Promise<Result<number>> {
  return deps.db.transaction().execute(async (trx) => {
    let count: number;
    if (id === undefined) {
      count = await deleteUserSessions(trx, signedIn.user, signedIn.session.id);
      await signOutOfApps(trx, deps, signedIn.user);
    } else {
      if (!(await deleteUserSession(trx, signedIn.user, id))) return fail<number>('not_found', { message: 'There is no such session.' });
      count = 1;
    }
    await appendAuditEvent(
      trx,
      {
        accountId: signedIn.account.id,
        type: id === undefined ? 'sessions_revoked' : 'session_revoked',
        actorUserId: signedIn.user.id,
        subjectUserId: signedIn.user.id,
        ip: context.ip,
        userAgent: context.userAgent,
        details: { count },
      },
      deps.now(),
    );
    return ok(count);
  });
}

/** Forgets one trusted computer (by id) or all of them (id undefined). */
export async function forgetTrustedDevices(deps: ServiceDeps, signedIn: SignedIn, id: string | undefined, context: RequestContext): Promise<Result<number>> {
  return deps.db.transaction().execute(async (trx) => {
    const count = await deleteTrustedDevices(trx, signedIn.user, id);
    if (id !== undefined && count === 0) return fail<number>('not_found', { message: 'There is no such trusted computer.' });
    await appendAuditEvent(
      trx,
      {
        accountId: signedIn.account.id,
        type: 'trusted_devices_forgotten',
        actorUserId: signedIn.user.id,
        subjectUserId: signedIn.user.id,
        ip: context.ip,
        userAgent: context.userAgent,
        details: { count, all: id === undefined },
      },
      deps.now(),
    );
    return ok(count);
  });
}
