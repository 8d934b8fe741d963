// Trusted computers: a random token in its own cookie lets a sign-in skip the
// passcode for the account's trusted-device period (DESIGN.md row 5). Stored hashed,
// bound to person and account, expired server-side, rotated on every use.
import type { Kysely } from 'kysely';
import { hashSecret, issueToken, parseToken, secretMatches } from '../crypto/tokens.js';
import { mails } from '../delivery/email-templates.js';
import { describeBrowser } from '../domain/browser-name.js';
import { DAY_IN_MILLISECONDS } from '../domain/policy.js';
import { appendAuditEvent } from '../store/audit.js';
import type { Account, Database, User } from '../store/schema.js';
import { findTrustedDevice, insertTrustedDevice, rotateTrustedDevice } from '../store/trusted-devices.js';
import type { RequestContext, ServiceDeps } from './deps.js';
import { emailUser } from './notify.js';
import { randomBytes } from 'node:crypto';

export interface TrustedDeviceCheck {
  valid: boolean;
  /** Which trusted computer it was. */
  deviceId: string | null;
  /** The replacement token when a valid one was used (tokens rotate on every use). */
  rotatedToken: string | null;
}

const NOT_TRUSTED: TrustedDeviceCheck = { valid: false, deviceId: null, rotatedToken: null };

export async function checkTrustedDevice(
  db: Kysely<Database>,
  deps: ServiceDeps,
  input: { account: Account; user: User; token: string | null; context: RequestContext },
): Promise<TrustedDeviceCheck> {
  const parsed = parseToken(input.token);
  if (!parsed || input.account.trusted_device_days <= 0) return NOT_TRUSTED;
  const device = await findTrustedDevice(db, parsed.id);
  if (!device || device.user_id !== input.user.id || device.account_id !== input.account.id) return NOT_TRUSTED;
  if (!secretMatches(parsed.secret, device.secret_hash)) return NOT_TRUSTED;
  const now = deps.now();
  // The admin may have shortened the period since this computer was trusted.
  const expiresAt = Math.min(device.expires_at, device.created_at + input.account.trusted_device_days * DAY_IN_MILLISECONDS);
  if (expiresAt <= now) return NOT_TRUSTED;
  const secret = randomBytes(32).toString('base64url');
  const rotated = await rotateTrustedDevice(db, { id: device.id, oldHash: device.secret_hash, newHash: hashSecret(secret), now, ip: input.context.ip });
  if (!rotated) return NOT_TRUSTED;
  return { valid: true, deviceId: device.id, rotatedToken: `${device.id}.${secret}` };
}

/** Trusts this computer for the account's trusted-device period; returns its id and
 * the token for its cookie, or null when the account always asks (0 days). */
export async function rememberDevice(
  db: Kysely<Database>,
  deps: ServiceDeps,
  input: { account: Account; user: User; context: RequestContext; /** Already said in the new-computer mail. */ mailed?: boolean },
): Promise<{ id: string; token: string } | null> {
  if (input.account.trusted_device_days <= 0) return null;
  const now = deps.now();
  const issued = issueToken();
  await insertTrustedDevice(db, {
    id: issued.id,
    account_id: input.account.id,
    user_id: input.user.id,
    secret_hash: issued.secretHash,
    browser: describeBrowser(input.context.userAgent),
    ip: input.context.ip,
    created_at: now,
    last_used_at: now,
    expires_at: now + input.account.trusted_device_days * DAY_IN_MILLISECONDS,
  });
  await appendAuditEvent(
    db,
    {
      accountId: input.account.id,
      type: 'device_trusted',
      actorUserId: input.user.id,
      subjectUserId: input.user.id,
      ip: input.context.ip,
      userAgent: input.context.userAgent,
      details: { device_id: issued.id },
    },
    now,
  );
  if (!input.mailed)
    await emailUser(db, deps, {
      account: input.account,
      user: input.user,
      purpose: 'device_trusted',
      context: input.context,
      compose: (c) => mails.computerTrusted(c),
    });
  return { id: issued.id, token: issued.token };
}
