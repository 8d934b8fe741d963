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
import type { Account, Database, User } from '../store/schema.js';
import type { RequestContext, ServiceDeps } from './deps.js';
import { emailUser } from './notify.js';

const REMEMBERED_NETWORK_IN_MILLISECONDS = 30 * DAY_IN_MILLISECONDS;

export async function noteSignInDevice(db: Kysely<Database>, deps: ServiceDeps, input: { account: Account; user: User; context: RequestContext }): Promise<void> {
  const { account, user, context } = input;
  const now = deps.now();
  const browser = describeBrowser(context.userAgent);
  const network = networkOf(context.ip);
  const deviceHash = context.deviceId ? hashSecret(`device:${context.deviceId}`) : null;
  const sameDevice = deviceHash
    ? db.selectFrom('known_devices').select('id').where('user_id', '=', user.id).where('device_id_hash', '=', deviceHash).limit(1)
    : db
        .selectFrom('known_devices')
        .select('id')
        .where('user_id', '=', user.id)
        .where('browser', '=', browser)
        .where('network', network === null ? 'is' : '=', network)
        .where('last_seen_at', '>', now - REMEMBERED_NETWORK_IN_MILLISECONDS)
        .limit(1);
  // Found and marked seen in one statement, as it is on every sign-in.
  const known = await db.updateTable('known_devices').set({ last_seen_at: now, network, browser }).where('id', '=', sameDevice).returning('id').executeTakeFirst();
  if (known) return;
  const firstEver = !(await db.selectFrom('known_devices').select('id').where('user_id', '=', user.id).executeTakeFirst());
  await db
    .insertInto('known_devices')
    .values({ id: newId(), account_id: account.id, user_id: user.id, device_id_hash: deviceHash, browser, network, first_seen_at: now, last_seen_at: now })
    .execute();
  // The very first sign-in is the person setting up; a mail would only be noise.
  if (firstEver) return;
  await appendAuditEvent(db, { accountId: account.id, type: 'new_device_sign_in', actorUserId: user.id, subjectUserId: user.id, ip: context.ip, userAgent: context.userAgent, details: { browser } }, now);
  await emailUser(db, deps, { account, user, purpose: 'new_device_sign_in', context, compose: (c) => mails.newComputer(c) });
}
