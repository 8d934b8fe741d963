// Trusted computers: a random token in its own cookie lets a sign-in skip the
// passcode for the account's trusted-device period (DESIGN.md row 5).
import type { Kysely } from 'kysely';
import type { Account, Database, User } from '../store/schema.js';
import type { RequestContext, ServiceDeps } from './deps.js';

export interface TrustedDeviceCheck {
  valid: boolean;
  /** The replacement token when a valid one was used (tokens rotate on every use). */
  rotatedToken: string | null;
}

export async function checkTrustedDevice(
  _db: Kysely<Database>,
  _deps: ServiceDeps,
  input: { account: Account; user: User; token: string | null },
): Promise<TrustedDeviceCheck> {
  // Trusted computers arrive with their own issue; until then every sign-in is asked.
  void input;
  return { valid: false, rotatedToken: null };
}

/** Trusts this computer for the account's trusted-device period; returns the token
 * for its cookie, or null when the account always asks (0 days). */
export async function rememberDevice(
  _db: Kysely<Database>,
  _deps: ServiceDeps,
  _input: { account: Account; user: User; context: RequestContext },
): Promise<string | null> {
  return null;
}
