// Security keys and passkeys (WebAuthn, DESIGN.md row 15): the phishing-resistant
// second factor. The browser signs the server's one-time challenge for this origin
// only, so a look-alike site gets nothing it can replay. Every ceremony's challenge is
// kept server-side, bound to the sign-in challenge or the session that asked for it,
// and used once (store/webauthn.ts).
import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { Kysely } from 'kysely';
import { newId } from '../crypto/tokens.js';
import { mails } from '../delivery/email-templates.js';
import { fail, ok, type Result } from '../domain/failures.js';
import { FRESH_PASSCODE_IN_MILLISECONDS } from '../domain/policy.js';
import { mustUseSecurityKey } from '../domain/sign-in-decision.js';
import { appendAuditEvent } from '../store/audit.js';
import type { Database, TwoFactorMethod, User, WebauthnPurpose } from '../store/schema.js';
import { NO_METHOD_DETAILS, deleteMethod, findMethod, insertSecurityKeyMethod, listActiveMethods, renameMethod } from '../store/two-factor.js';
import { AccountUsers } from '../store/users.js';
import { findCredential, listSecurityKeys, saveCeremony, takeCeremony } from '../store/webauthn.js';
import { addingFactorNeedsConfirmation, confirm, confirmPasswordFirst, type Confirmation } from './confirmation.js';
import type { RequestContext, ServiceDeps } from './deps.js';
import type { UserRef } from '../store/users.js';
import { needsEmailConfirmation } from './email-confirmation.js';
import { twoFactorPolicyOf } from './two-factor-policy.js';
import { emailUser } from './notify.js';
import { lockUserRow } from './second-factor.js';
import type { SignedIn } from './sessions.js';
import { activateFactor, requiredByAccount, type EnrolmentDone } from './two-factor.js';
import { deleteTrustedDevices } from '../store/trusted-devices.js';
import { credentialJson, parseTransports, relyingParty, simpleWebAuthn } from './factors/security-key.js';

export { relyingParty, securityKeysAvailable } from './factors/security-key.js';

/** A touch takes seconds; five minutes covers finding the key in a drawer. */
const CEREMONY_LIFETIME_IN_MILLISECONDS = 5 * 60 * 1000;
const MAX_KEYS_PER_PERSON = 20;
export const KEY_NAME_MAX_LENGTH = 64;

export interface SecurityKey {
  id: string;
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
  /** Synced passkey (backed up by its provider) rather than a single device. */
  backedUp: boolean;
  /** Added as a passkey: it signs in alone (row 18). */
  passkey: boolean;
  transports: string[];
}

function describeKey(row: TwoFactorMethod): SecurityKey {
  return {
    id: row.id,
    name: row.name ?? 'Security key',
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    backedUp: row.webauthn_backed_up === 1,
    passkey: row.webauthn_passkey === 1,
    transports: parseTransports(row.webauthn_transports),
  };
}

/** The person's keys as the browser is told of them (allow- and exclude-lists). */
function credentialDescriptors(keys: TwoFactorMethod[]): { id: string; transports: string[] }[] {
  return keys.map((key) => ({ id: key.webauthn_credential_id!, transports: parseTransports(key.webauthn_transports) }));
}

export async function securityKeysOf(db: Kysely<Database>, user: UserRef): Promise<SecurityKey[]> {
  return (await listSecurityKeys(db, user)).map(describeKey);
}

/** A key name as typed, trimmed; blank becomes "Security key N". */
export function normalizeKeyName(raw: unknown, existingCount: number, passkey = false): Result<string> {
  const name = typeof raw === 'string' ? raw.replace(/\s+/g, ' ').trim() : '';
  if (name.length > KEY_NAME_MAX_LENGTH)
    return fail('invalid_request', {
      field: 'name',
      message: `A key name is at most ${KEY_NAME_MAX_LENGTH} characters.`,
      detail: { key: 'detail.keyNameTooLong', values: { max: KEY_NAME_MAX_LENGTH } },
    });
  return ok(name || `${passkey ? 'Passkey' : 'Security key'} ${existingCount + 1}`);
}

/** A setup-only session that began with a passcode moments ago (an admin sent to add
 * the key the account requires): asking for another passcode would prove nothing new. */
export function justProvedPasscode(signedIn: SignedIn, now: number): boolean {
  const proved = signedIn.session.passcode_verified_at;
  return signedIn.session.kind === 'setup' && proved !== null && now - proved < FRESH_PASSCODE_IN_MILLISECONDS;
}

/** Step 1 of adding a key: the browser's creation options. Adding a factor while 2FA
 * is on needs a confirmation first, as for the app (SECURITY.md). */
export async function startKeyRegistration(
  deps: ServiceDeps,
  signedIn: SignedIn,
  confirmation: Confirmation | undefined,
  context: RequestContext,
  /** A passkey: a discoverable credential that verifies its user, which signs in alone. */
  passkey = false,
): Promise<Result<PublicKeyCredentialCreationOptionsJSON>> {
  if (needsEmailConfirmation(signedIn)) return fail('email_confirmation_required');
  const rp = relyingParty(deps.config);
  if (!rp) return fail('webauthn_unavailable');
  const passwordChecked = await confirmPasswordFirst(deps, signedIn, confirmation);
  if (!passwordChecked.ok) return passwordChecked;
  return deps.db.transaction().execute(async (trx) => {
    const user = await lockUserRow(trx, deps, signedIn.user);
    if (!user) return fail<PublicKeyCredentialCreationOptionsJSON>('unauthorized');
    const keys = await listSecurityKeys(trx, user);
    if (keys.length >= MAX_KEYS_PER_PERSON) {
      return fail<PublicKeyCredentialCreationOptionsJSON>('invalid_request', {
        message: `You can have at most ${MAX_KEYS_PER_PERSON} security keys. Remove one first.`,
        detail: { key: 'detail.securityKeyLimit', values: { max: MAX_KEYS_PER_PERSON } },
      });
    }
    if ((addingFactorNeedsConfirmation(signedIn, user, deps.now()) && !justProvedPasscode(signedIn, deps.now())) || confirmation !== undefined) {
      const confirmed = await confirm(trx, deps, { ...signedIn, user }, confirmation, context, passwordChecked.value);
      if (!confirmed.ok) return confirmed;
    }
    const { generateRegistrationOptions } = await simpleWebAuthn();
    const options = await generateRegistrationOptions({
      rpName: rp.name,
      rpID: rp.id,
      userName: user.email,
      userDisplayName: user.name,
      userID: new TextEncoder().encode(user.id),
      attestationType: 'none',
      timeout: CEREMONY_LIFETIME_IN_MILLISECONDS,
      // A key already added is refused by the browser itself.
      excludeCredentials: credentialDescriptors(keys),
      // The user handle is the person's opaque id, never their email (row 18).
      authenticatorSelection: passkey ? { residentKey: 'required', userVerification: 'required' } : { residentKey: 'preferred', userVerification: 'preferred' },
    });
    const now = deps.now();
    await saveCeremony(trx, {
      accountId: signedIn.account.id,
      userId: user.id,
      purpose: passkey ? 'passkey_registration' : 'registration',
      boundTo: signedIn.session.id,
      challenge: options.challenge,
      now,
      expiresAt: now + CEREMONY_LIFETIME_IN_MILLISECONDS,
    });
    await appendAuditEvent(
      trx,
      {
        accountId: signedIn.account.id,
        type: 'two_factor_enrolment_started',
        actorUserId: user.id,
        subjectUserId: user.id,
        ip: context.ip,
        userAgent: context.userAgent,
        details: { method: 'webauthn', ...(passkey ? { passkey: true } : {}) },
      },
      now,
    );
    return ok(options);
  });
}

const NOT_VERIFIED = 'The security key could not be verified. Try again, or use another key.';
const NOT_A_PASSKEY = 'This did not make a passkey that checks your PIN, fingerprint or face. Try again, or use another device.';

/** Step 2 of adding a key: the browser's attestation, checked against this session's
 * ceremony, this origin and RP ID. Turns 2FA on when it is the first factor. */
export async function finishKeyRegistration(
  deps: ServiceDeps,
  signedIn: SignedIn,
  input: { name: unknown; credential: unknown; passkey?: boolean },
  context: RequestContext,
): Promise<Result<EnrolmentDone & { key: SecurityKey }>> {
  const passkey = input.passkey === true;
  if (needsEmailConfirmation(signedIn)) return fail('email_confirmation_required');
  const rp = relyingParty(deps.config);
  if (!rp) return fail('webauthn_unavailable');
  const credential = credentialJson(input.credential);
  return deps.db.transaction().execute(async (trx) => {
    const now = deps.now();
    const expectedChallenge = await takeCeremony(trx, {
      userId: signedIn.user.id,
      boundTo: signedIn.session.id,
      purpose: passkey ? 'passkey_registration' : 'registration',
      now,
    });
    if (!expectedChallenge)
      return fail<EnrolmentDone & { key: SecurityKey }>('invalid_code', { message: 'This request to add a key has expired. Start again.' });
    if (!credential) return fail<EnrolmentDone & { key: SecurityKey }>('invalid_code', { field: 'credential', message: NOT_VERIFIED });
    const { verifyRegistrationResponse } = await simpleWebAuthn();
    let verified;
    try {
      verified = await verifyRegistrationResponse({
        response: credential as unknown as RegistrationResponseJSON,
        expectedChallenge,
        expectedOrigin: rp.origin,
        expectedRPID: rp.id,
        // A passkey signs in alone: it must have checked its user's PIN or fingerprint.
        requireUserVerification: passkey,
      });
    } catch {
      return fail<EnrolmentDone & { key: SecurityKey }>('invalid_code', { field: 'credential', message: passkey ? NOT_A_PASSKEY : NOT_VERIFIED });
    }
    if (!verified.verified) return fail<EnrolmentDone & { key: SecurityKey }>('invalid_code', { field: 'credential', message: NOT_VERIFIED });
    const info = verified.registrationInfo;
    if (await findCredential(trx, info.credential.id)) {
      return fail<EnrolmentDone & { key: SecurityKey }>('two_factor_already_enabled', { message: 'This security key is already added.' });
    }
    const existing = await listSecurityKeys(trx, signedIn.user);
    const name = normalizeKeyName(input.name, existing.length, passkey);
    if (!name.ok) return name;
    const methodId = newId();
    // The same key added from two sessions at once: one of them wins.
    const inserted = await insertSecurityKeyMethod(trx, {
      ...NO_METHOD_DETAILS,
      id: methodId,
      account_id: signedIn.account.id,
      user_id: signedIn.user.id,
      type: 'webauthn',
      status: 'pending',
      name: name.value,
      webauthn_credential_id: info.credential.id,
      webauthn_public_key: Buffer.from(info.credential.publicKey).toString('base64url'),
      webauthn_sign_count: info.credential.counter,
      webauthn_transports: JSON.stringify(info.credential.transports ?? []),
      webauthn_backed_up: info.credentialBackedUp ? 1 : 0,
      webauthn_device_type: info.credentialDeviceType,
      webauthn_passkey: passkey ? 1 : 0,
      created_at: now,
    });
    if (!inserted) {
      return fail<EnrolmentDone & { key: SecurityKey }>('two_factor_already_enabled', { message: 'This security key is already added.' });
    }
    const done = await activateFactor(trx, deps, signedIn, { methodId, type: 'webauthn', lastUsedStep: null, context });
    if (!done.ok) return done;
    if (done.value.recoveryCodes === null) {
      // Not the first factor: activateFactor's "2FA is on" mail would mislead.
      await emailUser(trx, deps, {
        account: signedIn.account,
        user: signedIn.user,
        purpose: 'security_key_added',
        context,
        compose: (c) => mails.securityKeyAdded(c, { name: name.value }),
      });
    }
    const row = await findMethod(trx, signedIn.user, methodId);
    return ok({ ...done.value, key: describeKey(row!) });
  });
}

/** Options for signing a ceremony bound to `boundTo` (a sign-in challenge or a
 * session): the person's keys only, user verification preferred. */
export async function assertionOptions(
  db: Kysely<Database>,
  deps: ServiceDeps,
  input: { user: Pick<User, 'id' | 'account_id'>; purpose: Exclude<WebauthnPurpose, 'registration'>; boundTo: string },
): Promise<Result<PublicKeyCredentialRequestOptionsJSON>> {
  const rp = relyingParty(deps.config);
  if (!rp) return fail('webauthn_unavailable');
  const keys = await listSecurityKeys(db, input.user);
  if (keys.length === 0) return fail('invalid_request', { message: 'You have no security key. Use another method.' });
  const { generateAuthenticationOptions } = await simpleWebAuthn();
  const options = await generateAuthenticationOptions({
    rpID: rp.id,
    allowCredentials: credentialDescriptors(keys),
    userVerification: 'preferred',
    timeout: CEREMONY_LIFETIME_IN_MILLISECONDS,
  });
  const now = deps.now();
  await saveCeremony(db, {
    accountId: input.user.account_id,
    userId: input.user.id,
    purpose: input.purpose,
    boundTo: input.boundTo,
    challenge: options.challenge,
    now,
    expiresAt: now + CEREMONY_LIFETIME_IN_MILLISECONDS,
  });
  return ok(options);
}

/** Options for confirming a sensitive action with a key, bound to this session. */
export async function confirmationOptions(deps: ServiceDeps, signedIn: SignedIn): Promise<Result<PublicKeyCredentialRequestOptionsJSON>> {
  return deps.db.transaction().execute((trx) => assertionOptions(trx, deps, { user: signedIn.user, purpose: 'confirmation', boundTo: signedIn.session.id }));
}

export async function renameSecurityKey(
  deps: ServiceDeps,
  signedIn: SignedIn,
  input: { id: unknown; name: unknown },
  context: RequestContext,
): Promise<Result<SecurityKey>> {
  if (typeof input.id !== 'string') return fail('not_found');
  const keyId = input.id;
  return deps.db.transaction().execute(async (trx) => {
    const keys = await listSecurityKeys(trx, signedIn.user);
    const key = keys.find((k) => k.id === keyId);
    if (!key) return fail<SecurityKey>('not_found', { message: 'There is no such security key.' });
    if (typeof input.name !== 'string' || input.name.trim() === '')
      return fail<SecurityKey>('invalid_request', { field: 'name', message: 'Give the key a name.' });
    const name = normalizeKeyName(input.name, keys.length);
    if (!name.ok) return name;
    const now = deps.now();
    await renameMethod(trx, signedIn.user, key.id, name.value);
    await appendAuditEvent(
      trx,
      {
        accountId: signedIn.account.id,
        type: 'security_key_renamed',
        actorUserId: signedIn.user.id,
        subjectUserId: signedIn.user.id,
        ip: context.ip,
        userAgent: context.userAgent,
        details: { key_id: key.id },
      },
      now,
    );
    return ok(describeKey({ ...key, name: name.value }));
  });
}

/** Removes a key (with a confirmation). The last factor cannot go this way: turning 2FA
 * off is its own, clearly worded action. Removing a factor also ends trust in the
 * computers that skipped it. */
export async function removeSecurityKey(
  deps: ServiceDeps,
  signedIn: SignedIn,
  input: { id: unknown; confirmation: Confirmation | undefined },
  context: RequestContext,
): Promise<Result<null>> {
  if (typeof input.id !== 'string') return fail('not_found');
  const keyId = input.id;
  const passwordChecked = await confirmPasswordFirst(deps, signedIn, input.confirmation);
  if (!passwordChecked.ok) return passwordChecked;
  return deps.db.transaction().execute(async (trx) => {
    // The person's row first: two removals in parallel must not each see the other's
    // key still there and leave two-factor on with no method at all.
    if (!(await lockUserRow(trx, deps, signedIn.user))) return fail<null>('not_found');
    const active = await listActiveMethods(trx, signedIn.user);
    const key = active.find((m) => m.id === keyId && m.type === 'webauthn');
    if (!key) return fail<null>('not_found', { message: 'There is no such security key.' });
    // Whether the removal is allowed, before the confirmation is checked: a refused
    // removal must not spend a recovery code.
    const others = active.filter((m) => m.id !== key.id);
    if (others.length === 0) {
      return fail<null>(requiredByAccount(signedIn.account, signedIn.user) ? 'two_factor_required_by_account' : 'last_two_factor_method', {
        message: 'This is your only two-factor method. Add another one before you remove it.',
      });
    }
    if (mustUseSecurityKey(signedIn.user.role, twoFactorPolicyOf(signedIn.account)) && !others.some((m) => m.type === 'webauthn')) {
      return fail<null>('security_key_required', {
        message: 'Your account requires admins to use a security key. Add another key before you remove this one.',
      });
    }
    const confirmed = await confirm(trx, deps, signedIn, input.confirmation, context, passwordChecked.value);
    if (!confirmed.ok) return confirmed;
    const now = deps.now();
    await deleteMethod(trx, signedIn.user, key.id);
    await deleteTrustedDevices(trx, signedIn.user);
    // The person's methods changed: updated_at tells sync scripts (GET /api/v1/admin/users?updated_since=).
    const preferredGone = signedIn.user.preferred_method === 'webauthn' && !others.some((m) => m.type === 'webauthn');
    await new AccountUsers(trx, signedIn.account.id).update(signedIn.user.id, {
      ...(preferredGone ? { preferred_method: others[0]!.type } : {}),
      updated_at: now,
    });
    await appendAuditEvent(
      trx,
      {
        accountId: signedIn.account.id,
        type: 'security_key_removed',
        actorUserId: signedIn.user.id,
        subjectUserId: signedIn.user.id,
        ip: context.ip,
        userAgent: context.userAgent,
        details: { key_id: key.id, confirmed_with: confirmed.value.method },
      },
      now,
    );
    await emailUser(trx, deps, {
      account: signedIn.account,
      user: signedIn.user,
      purpose: 'security_key_removed',
      context,
      compose: (c) => mails.securityKeyRemoved(c, { name: key.name ?? 'Security key' }),
    });
    return ok(null);
  });
}
