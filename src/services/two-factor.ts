// Turning two-factor authentication on and off, and recovery codes (DESIGN.md rows
// 2, 3 and 7). Activation happens only after a correct code, in one transaction that
// also writes the recovery codes, so nobody is ever half-enrolled.
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { decryptSecret, encryptSecret, sealedPlace } from '../crypto/secret-box.js';
import { newId } from '../crypto/tokens.js';
import { mails } from '../delivery/email-templates.js';
import { fail, ok, type Result } from '../domain/failures.js';
import { isStaff } from '../domain/identity.js';
import { factorAllowed, mustUseSecurityKey } from '../domain/sign-in-decision.js';
import { RECOVERY_CODE_COUNT, generateRecoveryCodes, normalizeRecoveryCode } from '../domain/recovery-codes.js';
import { DEFAULT_TOTP_PARAMETERS, TOTP_SECRET_BYTES, buildOtpauthUri, encodeSecretBase32, normalizePasscodeInput, verifyTotp } from '../domain/totp.js';
import { appendAuditEvent } from '../store/audit.js';
import { deleteAllRecoveryCodes, replaceUserRecoveryCodes } from '../store/recovery-codes.js';
import type { Account, Database, TwoFactorMethodType, User } from '../store/schema.js';
import { deleteSession, markPasscodeVerified } from '../store/sessions.js';
import {
  NO_METHOD_DETAILS,
  activatePendingMethod,
  deleteAllMethods,
  deletePendingMethods,
  findPendingMethod,
  insertMethod,
  listActiveMethods,
} from '../store/two-factor.js';
import { AccountUsers } from '../store/users.js';
import { addingFactorNeedsConfirmation, confirm, confirmPasswordFirst, type Confirmation } from './confirmation.js';
import type { RequestContext, ServiceDeps } from './deps.js';
import { needsEmailConfirmation } from './email-confirmation.js';
import { emailUser } from './notify.js';
import { lockUserRow, recoveryCodeHmac } from './second-factor.js';
import { twoFactorPolicyOf } from './two-factor-policy.js';
import type { SignedIn } from './sessions.js';
import { continueAfterEnrolment } from './sign-in-flow.js';
import { deleteTrustedDevices } from '../store/trusted-devices.js';

/** An abandoned enrolment is forgotten after 15 minutes. */
const ENROLMENT_LIFETIME_IN_MILLISECONDS = 15 * 60 * 1000;

export interface TotpEnrolment {
  secret: string;
  otpauthUri: string;
  qrCodeDataUrl: string;
  issuer: string;
  accountName: string;
  expiresAt: number;
}

export function totpIssuer(productName: string, account: Pick<Account, 'name'>): string {
  // "<product> (<account>)": users find the entry among a dozen (the seed's comments).
  return `${productName} (${account.name})`;
}

async function describeEnrolment(deps: ServiceDeps, signedIn: SignedIn, secret: Uint8Array, expiresAt: number): Promise<TotpEnrolment> {
  const issuer = totpIssuer(deps.config.productName, signedIn.account);
  const otpauthUri = buildOtpauthUri({ issuer, accountName: signedIn.user.email, secret, parameters: DEFAULT_TOTP_PARAMETERS });
  const { default: QRCode } = await import('qrcode'); // loaded on first enrolment only
  const qrCodeDataUrl = await QRCode.toDataURL(otpauthUri, { errorCorrectionLevel: 'M', margin: 2, width: 220 });
  return { secret: encodeSecretBase32(secret), otpauthUri, qrCodeDataUrl, issuer, accountName: signedIn.user.email, expiresAt };
}

/** Starts (or restarts) enrolling an authenticator app: a new secret, pending until a
 * correct code proves the app has it. Adding the app while 2FA is already on (with
 * text messages) adds a factor, so it needs a confirmation first (SECURITY.md). */
export async function startTotpEnrolment(
  deps: ServiceDeps,
  signedIn: SignedIn,
  context: RequestContext,
  confirmation?: Confirmation,
): Promise<Result<TotpEnrolment>> {
  if (needsEmailConfirmation(signedIn)) return fail('email_confirmation_required');
  if (!enrolmentAllowed(signedIn, 'totp')) return fail('security_key_required');
  // A confirmation that is given is always checked, even where none is needed.
  const passwordChecked = await confirmPasswordFirst(deps, signedIn, confirmation);
  if (!passwordChecked.ok) return passwordChecked;
  const secret = new Uint8Array(randomBytes(TOTP_SECRET_BYTES));
  const now = deps.now();
  const expiresAt = now + ENROLMENT_LIFETIME_IN_MILLISECONDS;
  const started = await deps.db.transaction().execute(async (trx) => {
    const user = await lockUserRow(trx, deps, signedIn.user);
    const active = await listActiveMethods(trx, signedIn.user);
    if (active.some((m) => m.type === 'totp')) return fail<null>('two_factor_already_enabled');
    if (user && (addingFactorNeedsConfirmation(signedIn, user, deps.now()) || confirmation !== undefined)) {
      const confirmed = await confirm(trx, deps, { ...signedIn, user }, confirmation, context, passwordChecked.value);
      if (!confirmed.ok) return confirmed;
    }
    await deletePendingMethods(trx, signedIn.user, 'totp');
    const methodId = newId();
    await insertMethod(trx, {
      ...NO_METHOD_DETAILS,
      id: methodId,
      account_id: signedIn.account.id,
      user_id: signedIn.user.id,
      type: 'totp',
      status: 'pending',
      secret_ciphertext: encryptSecret(deps.keys, Buffer.from(secret).toString('base64'), sealedPlace('two_factor_methods', 'secret_ciphertext', methodId)),
      algorithm: DEFAULT_TOTP_PARAMETERS.algorithm,
      digits: DEFAULT_TOTP_PARAMETERS.digits,
      period_seconds: DEFAULT_TOTP_PARAMETERS.periodInSeconds,
      created_at: now,
      expires_at: expiresAt,
    });
    await appendAuditEvent(
      trx,
      {
        accountId: signedIn.account.id,
        type: 'two_factor_enrolment_started',
        actorUserId: signedIn.user.id,
        subjectUserId: signedIn.user.id,
        ip: context.ip,
        userAgent: context.userAgent,
        details: { method: 'totp' },
      },
      now,
    );
    return ok(null);
  });
  if (!started.ok) return started;
  return ok(await describeEnrolment(deps, signedIn, secret, expiresAt));
}

/** The pending enrolment again (the page shows the QR code until a code is right). */
export async function pendingTotpEnrolment(deps: ServiceDeps, signedIn: SignedIn): Promise<TotpEnrolment | null> {
  const pending = await findPendingMethod(deps.db, signedIn.user, 'totp');
  if (!pending || !pending.secret_ciphertext || (pending.expires_at ?? 0) <= deps.now()) return null;
  const secret = new Uint8Array(
    Buffer.from(decryptSecret(deps.keys, pending.secret_ciphertext, sealedPlace('two_factor_methods', 'secret_ciphertext', pending.id)), 'base64'),
  );
  return describeEnrolment(deps, signedIn, secret, pending.expires_at!);
}

export interface EnrolmentDone {
  /** Shown once, when this was the person's first factor. */
  recoveryCodes: string[] | null;
  /** A full session replacing a setup-only one. */
  newSessionToken: string | null;
  newSessionExpiresAt: number | null;
}

async function issueRecoveryCodes(db: Kysely<Database>, deps: ServiceDeps, user: Pick<User, 'id' | 'account_id'>, now: number): Promise<string[]> {
  const codes = generateRecoveryCodes((size) => new Uint8Array(randomBytes(size)), RECOVERY_CODE_COUNT);
  await replaceUserRecoveryCodes(db, {
    accountId: user.account_id,
    userId: user.id,
    codeHmacs: codes.map((code) => recoveryCodeHmac(deps.keys, normalizeRecoveryCode(code)!)),
    now,
  });
  return codes;
}

/** A session that may only enrol, of an admin who must use a security key, may add
 * nothing but a key. */
export function enrolmentAllowed(signedIn: SignedIn, type: TwoFactorMethodType): boolean {
  return type === 'webauthn' || signedIn.session.kind !== 'setup' || !mustUseSecurityKey(signedIn.user.role, twoFactorPolicyOf(signedIn.account));
}

/** Turns a freshly verified factor on: the one place 2FA becomes enabled. */
export async function activateFactor(
  trx: Kysely<Database>,
  deps: ServiceDeps,
  signedIn: SignedIn,
  input: { methodId: string; type: TwoFactorMethodType; lastUsedStep: number | null; context: RequestContext },
): Promise<Result<EnrolmentDone>> {
  const now = deps.now();
  const { user, account, session } = signedIn;
  if (!factorAllowed(input.type, twoFactorPolicyOf(account))) return fail('factor_not_allowed');
  if (!enrolmentAllowed(signedIn, input.type)) return fail('security_key_required');
  if (!(await activatePendingMethod(trx, user, { id: input.methodId, lastUsedStep: input.lastUsedStep, now })))
    return fail('invalid_code', { message: 'This enrolment has already finished or expired. Start again.' });
  const fresh = (await new AccountUsers(trx, account.id).findById(user.id))!;
  const firstFactor = fresh.two_factor_enabled !== 1;
  await new AccountUsers(trx, account.id).update(user.id, {
    two_factor_enabled: 1,
    two_factor_enabled_at: fresh.two_factor_enabled_at ?? now,
    two_factor_setup_required: 0,
    // A new security key is offered first at sign-in (the phishing-resistant way);
    // the person can choose another preferred method afterwards.
    preferred_method: input.type === 'webauthn' ? 'webauthn' : (fresh.preferred_method ?? input.type),
    last_passcode_used_at: now,
    updated_at: now,
  });
  const recoveryCodes = firstFactor ? await issueRecoveryCodes(trx, deps, user, now) : null;
  await appendAuditEvent(
    trx,
    {
      accountId: account.id,
      type: 'two_factor_enabled',
      actorUserId: user.id,
      subjectUserId: user.id,
      ip: input.context.ip,
      userAgent: input.context.userAgent,
      details: { method: input.type, first_factor: firstFactor },
    },
    now,
  );
  // A key added beside other factors gets its own mail (services/webauthn.ts).
  if (firstFactor || input.type !== 'webauthn') {
    await emailUser(trx, deps, {
      account,
      user,
      purpose: 'two_factor_enabled',
      context: input.context,
      compose: (c) => mails.twoFactorEnabled(c, { method: input.type }),
    });
  }
  let newSessionToken: string | null = null;
  let newSessionExpiresAt: number | null = null;
  if (session.kind === 'setup') {
    // The setup-only session has done its one job: its flow gains the new factor as a
    // proof, and a full session replaces it.
    const next = await continueAfterEnrolment(trx, deps, {
      session,
      account,
      user: { ...fresh, two_factor_enabled: 1, two_factor_setup_required: 0 },
      factor: input.type,
      context: input.context,
    });
    if (next) {
      await deleteSession(trx, session.id);
      newSessionToken = next.token;
      newSessionExpiresAt = next.expiresAt;
    }
  } else {
    await markPasscodeVerified(trx, session, now);
  }
  return ok({ recoveryCodes, newSessionToken, newSessionExpiresAt });
}

export async function verifyTotpEnrolment(deps: ServiceDeps, signedIn: SignedIn, rawCode: unknown, context: RequestContext): Promise<Result<EnrolmentDone>> {
  if (needsEmailConfirmation(signedIn)) return fail('email_confirmation_required');
  const code = typeof rawCode === 'string' ? normalizePasscodeInput(rawCode) : null;
  if (code === null) return fail('invalid_code', { field: 'code', message: 'Enter the 6-digit code from your app.' });
  return deps.db.transaction().execute(async (trx) => {
    // The person first, as everywhere (lockUserRow): activating the method and then
    // waiting for their row deadlocked with a reset holding the row on PostgreSQL.
    await lockUserRow(trx, deps, signedIn.user);
    const now = deps.now();
    const pending = await findPendingMethod(trx, signedIn.user, 'totp');
    if (!pending || !pending.secret_ciphertext || (pending.expires_at ?? 0) <= now) {
      return fail<EnrolmentDone>('invalid_code', { message: 'This enrolment has expired. Start again to get a new QR code.' });
    }
    const secret = new Uint8Array(
      Buffer.from(decryptSecret(deps.keys, pending.secret_ciphertext, sealedPlace('two_factor_methods', 'secret_ciphertext', pending.id)), 'base64'),
    );
    const result = verifyTotp({ secret, code, timeInMilliseconds: now, parameters: DEFAULT_TOTP_PARAMETERS, lastUsedStep: null });
    if (!result.ok)
      return fail<EnrolmentDone>('invalid_code', {
        field: 'code',
        message: 'That code is not right. Check the time on your phone and enter the code the app shows now.',
      });
    return activateFactor(trx, deps, signedIn, { methodId: pending.id, type: 'totp', lastUsedStep: result.step, context });
  });
}

export async function regenerateRecoveryCodes(
  deps: ServiceDeps,
  signedIn: SignedIn,
  confirmation: Confirmation | undefined,
  context: RequestContext,
): Promise<Result<string[]>> {
  if (signedIn.user.two_factor_enabled !== 1) return fail('two_factor_not_enabled');
  const passwordChecked = await confirmPasswordFirst(deps, signedIn, confirmation);
  if (!passwordChecked.ok) return passwordChecked;
  return deps.db.transaction().execute(async (trx) => {
    const confirmed = await confirm(trx, deps, signedIn, confirmation, context, passwordChecked.value);
    if (!confirmed.ok) return confirmed;
    const now = deps.now();
    const codes = await issueRecoveryCodes(trx, deps, signedIn.user, now);
    // A new set changes recovery_codes_left: updated_at tells sync scripts.
    await new AccountUsers(trx, signedIn.account.id).update(signedIn.user.id, { updated_at: now });
    await appendAuditEvent(
      trx,
      {
        accountId: signedIn.account.id,
        type: 'recovery_codes_regenerated',
        actorUserId: signedIn.user.id,
        subjectUserId: signedIn.user.id,
        ip: context.ip,
        userAgent: context.userAgent,
      },
      now,
    );
    await emailUser(trx, deps, {
      account: signedIn.account,
      user: signedIn.user,
      purpose: 'recovery_codes_regenerated',
      context,
      compose: (c) => mails.recoveryCodesRegenerated(c),
    });
    return ok(codes);
  });
}

/** Whether the account forbids this person from turning 2FA off (DESIGN.md row 7). */
export function requiredByAccount(account: Account, user: User): boolean {
  return (account.require_two_factor === 'staff' && isStaff(user.role)) || mustUseSecurityKey(user.role, twoFactorPolicyOf(account));
}

/** Removes every factor, recovery code and trusted computer of a person. */
export async function removeAllFactors(trx: Kysely<Database>, user: Pick<User, 'id' | 'account_id'>, now: number): Promise<void> {
  // The person's row first, then their factors: the order in which a sign-in takes
  // these locks on PostgreSQL, so the two cannot wait on each other.
  await new AccountUsers(trx, user.account_id).update(user.id, {
    two_factor_enabled: 0,
    two_factor_enabled_at: null,
    preferred_method: null,
    failed_passcode_count: 0,
    passcode_locked_until: null,
    passcode_lock_count: 0,
    updated_at: now,
  });
  await deleteAllMethods(trx, user);
  await deleteAllRecoveryCodes(trx, user);
  await deleteTrustedDevices(trx, user);
}

export async function disableTwoFactor(
  deps: ServiceDeps,
  signedIn: SignedIn,
  confirmation: Confirmation | undefined,
  context: RequestContext,
): Promise<Result<null>> {
  if (signedIn.user.two_factor_enabled !== 1) return fail('two_factor_not_enabled');
  if (requiredByAccount(signedIn.account, signedIn.user)) return fail('two_factor_required_by_account');
  return deps.db.transaction().execute(async (trx) => {
    const confirmed = await confirm(trx, deps, signedIn, confirmation, context, false);
    if (!confirmed.ok) return confirmed;
    const now = deps.now();
    await removeAllFactors(trx, signedIn.user, now);
    await appendAuditEvent(
      trx,
      {
        accountId: signedIn.account.id,
        type: 'two_factor_disabled',
        actorUserId: signedIn.user.id,
        subjectUserId: signedIn.user.id,
        ip: context.ip,
        userAgent: context.userAgent,
        details: { confirmed_with: confirmed.value.method },
      },
      now,
    );
    await emailUser(trx, deps, {
      account: signedIn.account,
      user: signedIn.user,
      purpose: 'two_factor_disabled',
      context,
      compose: (c) => mails.twoFactorDisabled(c),
    });
    return ok(null);
  });
}
