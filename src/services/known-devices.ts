// "Sign-in from a new computer" (DESIGN.md row 11). A computer is known by its
// long-lived device cookie (browsers) or, lacking one, by the same browser and
// network (IPv4 /24, IPv6 /64) seen for this person in the last 30 days.
import type { Kysely } from 'kysely';
import { hashSecret, newId } from '../crypto/tokens.js';
import { mails } from '../delivery/email-templates.js';
import { describeBrowser } from '../domain/browser-name.js';
import { networkOf } from '../domain/network.js';
import { DAY_IN_MILLISECONDS } from '../domain/policy.js';
import { appendAuditEvent } from '../store/audit.js';
import { hasKnownDevice, insertKnownDevice, markKnownDeviceSeen } from '../store/known-devices.js';
import type { Account, Database, User } from '../store/schema.js';
import type { RequestContext, ServiceDeps } from './deps.js';
import { emailUser } from './notify.js';

const REMEMBERED_NETWORK_IN_MILLISECONDS = 30 * DAY_IN_MILLISECONDS;

/**
 * Notes the computer of a sign-in; a new one is audited and mailed. `trusted`: this
 * sign-in also trusts the computer, which the same mail says (one mail, not two).
 * Answers whether it mailed.
 */
export async function noteSignInDevice(
  db: Kysely<Database>,
  deps: ServiceDeps,
  input: { account: Account; user: User; context: RequestContext; trusted?: boolean },
): Promise<boolean> {
  const { account, user, context } = input;
  const now = deps.now();
  const browser = describeBrowser(context.userAgent);
  const network = networkOf(context.ip);
  const deviceHash = context.deviceId ? hashSecret(`device:${context.deviceId}`) : null;
  const sighting = { accountId: account.id, userId: user.id, browser, network, deviceHash, now, since: now - REMEMBERED_NETWORK_IN_MILLISECONDS };
  if (await markKnownDeviceSeen(db, sighting)) return false;
  const firstEver = !(await hasKnownDevice(db, { accountId: account.id, userId: user.id }));
  await insertKnownDevice(db, {
    id: newId(),
    account_id: account.id,
    user_id: user.id,
    device_id_hash: deviceHash,
    browser,
    network,
    first_seen_at: now,
    last_seen_at: now,
  });
  // The very first sign-in is the person setting up; a mail would only be noise.
  if (firstEver) return false;
  await appendAuditEvent(
    db,
    {
      accountId: account.id,
      type: 'new_device_sign_in',
      actorUserId: user.id,
      subjectUserId: user.id,
      ip: context.ip,
      userAgent: context.userAgent,
      details: { browser },
    },
    now,
  );
  await emailUser(db, deps, { account, user, purpose: 'new_device_sign_in', context, compose: (c) => mails.newComputer(c, { trusted: input.trusted }) });
  return true;
}
