// Security keys and passkeys as a second factor: checking a signed assertion (the
// browser signed the server's one-time challenge for this origin only, so a look-alike
// site gets nothing it can replay), and what both this check and the ceremonies in
// services/webauthn.ts need: the relying party, the library, a credential as sent.
import { isIP } from 'node:net';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { Kysely } from 'kysely';
import { mails } from '../../delivery/email-templates.js';
import { SECURITY_KEY_FACTOR } from '../../domain/factors.js';
import { findAccountById } from '../../store/accounts.js';
import { appendAuditEvent } from '../../store/audit.js';
import type { Database, TwoFactorMethod, User, WebauthnPurpose } from '../../store/schema.js';
import { advanceSignCount, findCredential, takeCeremony } from '../../store/webauthn.js';
import type { RequestContext, ServiceDeps } from '../deps.js';
import { emailUser } from '../notify.js';
import type { FactorModule } from './factor-module.js';

/** A credential id is at most 1023 bytes (WebAuthn §5.8.3), base64url-encoded. */
const CREDENTIAL_ID = /^[A-Za-z0-9_-]{1,1400}$/;

let library: Promise<typeof import('@simplewebauthn/server')> | null = null;
/** Loaded on first use: a server where nobody has a security key never holds it
 * (about 6 MiB of memory, bench/README.md). */
export function simpleWebAuthn(): Promise<typeof import('@simplewebauthn/server')> {
  library ??= import('@simplewebauthn/server');
  return library;
}

export interface RelyingParty {
  id: string;
  name: string;
  origin: string;
}

/** The relying party from TESSERA_BASE_URL, or null where WebAuthn cannot work: a
 * browser refuses an IP address as the RP ID, and plain HTTP except on localhost. */
export function relyingParty(config: ServiceDeps['config']): RelyingParty | null {
  const url = new URL(config.baseUrl);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0) return null;
  const local = host === 'localhost' || host.endsWith('.localhost');
  if (url.protocol !== 'https:' && !local) return null;
  return { id: host, name: config.productName, origin: url.origin };
}

export function securityKeysAvailable(deps: Pick<ServiceDeps, 'config'>): boolean {
  return relyingParty(deps.config) !== null;
}

export function parseTransports(stored: string | null): string[] {
  if (!stored) return [];
  try {
    const parsed: unknown = JSON.parse(stored);
    return Array.isArray(parsed) ? parsed.filter((t): t is string => typeof t === 'string') : [];
  } catch {
    return [];
  }
}

/** The browser's credential as sent: a JSON object, or that object as a JSON string
 * (the confirmation fields carry it in `code`). */
export function credentialJson(raw: unknown): Record<string, unknown> | null {
  let value = raw;
  if (typeof value === 'string') {
    if (value.length > 16_384) return null;
    try {
      value = JSON.parse(value);
    } catch {
      return null;
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const record = value as Record<string, unknown>;
  const response = record.response;
  // The id is looked up in the database: base64url only (no NUL, which PostgreSQL
  // refuses in text), and the same as rawId as a browser sends it.
  if (typeof record.id !== 'string' || !CREDENTIAL_ID.test(record.id) || record.rawId !== record.id) return null;
  if (typeof response !== 'object' || response === null || Array.isArray(response)) return null;
  return record;
}

/** Checks a signed assertion inside the caller's transaction (second-factor.ts counts
 * a false as a failed passcode). */
export type SecurityKeyCheck = (db: Kysely<Database>, user: User, raw: unknown) => Promise<boolean>;

export function securityKeyCheck(
  deps: ServiceDeps,
  purpose: Exclude<WebauthnPurpose, 'registration'>,
  boundTo: string,
  context: RequestContext,
): SecurityKeyCheck {
  return async (db, user, raw) => {
    const now = deps.now();
    // The ceremony is used up first: a replayed or failed assertion cannot be retried
    // against the same challenge.
    const expectedChallenge = await takeCeremony(db, { userId: user.id, boundTo, purpose, now });
    const credential = credentialJson(raw);
    if (!expectedChallenge || !credential) return false;
    const key = await findCredential(db, credential.id as string);
    if (!key || key.user_id !== user.id || key.status !== 'active' || key.type !== 'webauthn' || !key.webauthn_public_key) return false;
    const checked = await checkAssertion(db, deps, { user, key, credential, expectedChallenge, context });
    return typeof checked === 'object';
  };
}

/**
 * Checks a signed assertion of one of the person's keys against a challenge: the
 * signature, this origin and RP ID, and the counter. 'wrong': the signature does not
 * hold; 'refused': it holds but the key looks cloned (recorded, the person emailed) or
 * another request used the same counter value first.
 */
export async function checkAssertion(
  db: Kysely<Database>,
  deps: ServiceDeps,
  input: { user: User; key: TwoFactorMethod; credential: Record<string, unknown>; expectedChallenge: string; context: RequestContext },
): Promise<{ userVerified: boolean } | 'wrong' | 'refused'> {
  const { user, key, credential, context } = input;
  const rp = relyingParty(deps.config);
  if (!rp || !key.webauthn_public_key) return 'wrong';
  const now = deps.now();
  const { verifyAuthenticationResponse } = await simpleWebAuthn();
  let verified;
  try {
    verified = await verifyAuthenticationResponse({
      response: credential as unknown as AuthenticationResponseJSON,
      expectedChallenge: input.expectedChallenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      credential: {
        id: key.webauthn_credential_id!,
        publicKey: new Uint8Array(Buffer.from(key.webauthn_public_key, 'base64url')),
        // The counter is checked below, after the signature, so that a clone is told apart.
        counter: 0,
        transports: parseTransports(key.webauthn_transports),
      },
      requireUserVerification: false,
    });
  } catch {
    return 'wrong';
  }
  if (!verified.verified) return 'wrong';
  const stored = key.webauthn_sign_count ?? 0;
  const next = verified.authenticationInfo.newCounter;
  if ((stored > 0 || next > 0) && next <= stored) {
    // A valid signature with a counter that did not grow: the key has probably been
    // cloned (WebAuthn §6.1.1). Refused, recorded, and the person is told.
    await appendAuditEvent(
      db,
      {
        accountId: user.account_id,
        type: 'security_key_counter_mismatch',
        actorUserId: user.id,
        subjectUserId: user.id,
        ip: context.ip,
        userAgent: context.userAgent,
        details: { key_id: key.id, stored, received: next },
      },
      now,
    );
    const account = await findAccountById(db, user.account_id);
    if (account) {
      await emailUser(db, deps, {
        account,
        user,
        purpose: 'security_key_cloned',
        context,
        compose: (c) => mails.securityKeyCloned(c, { name: key.name ?? 'Security key' }),
      });
    }
    return 'refused';
  }
  // Compare-and-set on the counter: two uses of one key at the same instant cannot
  // both be accepted.
  const advanced = await advanceSignCount(db, key, { signCount: next, backedUp: verified.authenticationInfo.credentialBackedUp, now });
  return advanced ? { userVerified: verified.authenticationInfo.userVerified } : 'refused';
}

/** The security key as a factor: a key counts as a passcode for every rule, so a bad
 * signature is a failure on the person's counter too. */
export const securityKeyFactor: FactorModule = {
  descriptor: SECURITY_KEY_FACTOR,
  async verify(db, deps, input) {
    const purpose = input.use.purpose === 'sign_in' ? 'sign_in' : 'confirmation';
    return (await securityKeyCheck(deps, purpose, input.use.boundTo, input.use.context)(db, input.user, input.code)) ? { kind: 'right' } : { kind: 'wrong' };
  },
};
