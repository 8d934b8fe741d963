// Checks a second factor for a person: a TOTP code, an SMS code, a security key's
// signature or a recovery code.
// Used by the sign-in challenge and by the confirmation of sensitive actions, so the
// same counter, lock and replay rules hold everywhere (SECURITY.md, failed attempts).
import type { Kysely } from 'kysely';
import { decryptSecret, sealedPlace } from '../crypto/secret-box.js';
import { hmacHex } from '../crypto/tokens.js';
import { fail, ok, type Failure, type Result } from '../domain/failures.js';
import { PASSCODE_FAILURES_BEFORE_LOCK, lockDurationInMilliseconds, retryAfterSeconds } from '../domain/passcode-attempts.js';
import { normalizeRecoveryCode } from '../domain/recovery-codes.js';
import { normalizePasscodeInput, verifyTotp, type TotpAlgorithm } from '../domain/totp.js';
import type { SecondFactorMethod } from '../domain/types.js';
import { mails } from '../delivery/email-templates.js';
import { findAccountById } from '../store/accounts.js';
import { appendAuditEvent } from '../store/audit.js';
import { consumeRecoveryCode, wasRecoveryCodeUsed } from '../store/recovery-codes.js';
import type { Database, TwoFactorMethod, User } from '../store/schema.js';
import { claimTotpStep, countUnusedRecoveryCodes, listActiveMethods } from '../store/two-factor.js';
import { AccountUsers } from '../store/users.js';
import type { KeyRing } from '../crypto/keys.js';
import type { RequestContext, ServiceDeps } from './deps.js';
import { emailUser } from './notify.js';
import type { SmsCodeCheck } from './sms-codes.js';
import type { SecurityKeyCheck } from './webauthn.js';

export interface SecondFactorInput {
  method: unknown;
  code: unknown;
}

export interface SecondFactorSuccess {
  method: SecondFactorMethod;
  /** 'admin' when the code was issued by an admin for a locked-out person. */
  recoveryCodeKind: 'user' | 'admin' | null;
}

export function recoveryCodeHmac(keys: KeyRing, canonical: string): string {
  return hmacHex(keys.hmacKey, `recovery-code:${canonical}`);
}

/** Locks the person's row for the rest of the transaction on PostgreSQL, so counting
 * and checking are serialised per person (Keycloak #31726). SQLite transactions are
 * serialised already. */
export async function lockUserRow(db: Kysely<Database>, deps: Pick<ServiceDeps, 'dialect'>, user: Pick<User, 'id' | 'account_id'>): Promise<User | undefined> {
  return new AccountUsers(db, user.account_id).lockById(user.id, deps.dialect);
}

/** Counts a wrong code on the person's one failure counter (any factor, and emailed
 * codes too), locking the person at the limit; the caller holds the person's row. */
export async function countCodeFailure(
  db: Kysely<Database>,
  deps: ServiceDeps,
  user: User,
  method: string,
  context: RequestContext,
  message?: string,
): Promise<Result<never>> {
  const now = deps.now();
  const users = new AccountUsers(db, user.account_id);
  const row = await users.countPasscodeFailure(user.id, now);
  await appendAuditEvent(
    db,
    {
      accountId: user.account_id,
      type: 'passcode_failed',
      actorUserId: user.id,
      subjectUserId: user.id,
      ip: context.ip,
      userAgent: context.userAgent,
      details: { method },
    },
    now,
  );
  if (row.failed_passcode_count >= PASSCODE_FAILURES_BEFORE_LOCK) {
    const lockedUntil = now + lockDurationInMilliseconds(row.passcode_lock_count);
    await users.update(user.id, { passcode_locked_until: lockedUntil, passcode_lock_count: row.passcode_lock_count + 1, failed_passcode_count: 0 });
    await appendAuditEvent(
      db,
      {
        accountId: user.account_id,
        type: 'passcode_locked',
        subjectUserId: user.id,
        ip: context.ip,
        userAgent: context.userAgent,
        details: { until: new Date(lockedUntil).toISOString() },
      },
      now,
    );
    // The password was right: whoever this is may well not be the person, who must hear of it.
    const account = await findAccountById(db, user.account_id);
    if (account) await emailUser(db, deps, { account, user, purpose: 'passcode_locked', context, compose: (c) => mails.passcodeLocked(c) });
    return fail('two_factor_locked', { retryAfterSeconds: retryAfterSeconds(lockedUntil, now) });
  }
  return fail('invalid_code', { field: 'code', ...(message ? { message } : {}) });
}

/** A TOTP seed, or null when it does not open where it is stored: a value moved there
 * from another row is refused like a wrong code, never honoured and never a 500. */
function openSeed(deps: ServiceDeps, methodId: string, sealed: string): Buffer | null {
  try {
    return Buffer.from(decryptSecret(deps.keys, sealed, sealedPlace('two_factor_methods', 'secret_ciphertext', methodId)), 'base64');
  } catch {
    return null;
  }
}

/** `'used'`: the code was right once and is spent (a replay). */
async function checkTotp(
  db: Kysely<Database>,
  deps: ServiceDeps,
  user: User,
  rawCode: string,
  activeMethods: TwoFactorMethod[] | undefined,
): Promise<boolean | 'used'> {
  const code = normalizePasscodeInput(rawCode);
  if (code === null) return false;
  let replayed = false;
  const methods = activeMethods ?? (await listActiveMethods(db, user.id));
  const now = deps.now();
  for (const method of methods) {
    if (method.type !== 'totp' || !method.secret_ciphertext) continue;
    const secret = openSeed(deps, method.id, method.secret_ciphertext);
    if (!secret) continue;
    const result = verifyTotp({
      secret,
      code,
      timeInMilliseconds: now,
      parameters: { algorithm: (method.algorithm ?? 'SHA1') as TotpAlgorithm, digits: method.digits ?? 6, periodInSeconds: method.period_seconds ?? 30 },
      lastUsedStep: method.last_used_step,
    });
    if (!result.ok) {
      replayed ||= result.reason === 'replayed';
      continue;
    }
    // A code is accepted once, even when the same code arrives twice at the same
    // instant. The method must still be active: it may have been read before this
    // transaction locked the person.
    if (await claimTotpStep(db, { id: method.id, step: result.step, now })) return true;
    replayed = true;
  }
  return replayed ? 'used' : false;
}

async function consumeAdminCodeThroughLock(
  db: Kysely<Database>,
  deps: ServiceDeps,
  user: User,
  factor: SecondFactorInput,
  allowed: SecondFactorMethod[],
  now: number,
): Promise<SecondFactorSuccess | null> {
  if (factor.method !== 'recovery_code' || !allowed.includes('recovery_code') || typeof factor.code !== 'string') return null;
  const canonical = normalizeRecoveryCode(factor.code);
  if (canonical === null) return null;
  const kind = await consumeRecoveryCode(db, { userId: user.id, codeHmac: recoveryCodeHmac(deps.keys, canonical), now, onlyKind: 'admin' });
  return kind ? { method: 'recovery_code', recoveryCodeKind: 'admin' } : null;
}

/** The person's passcode lock, while it lasts: even the right code is refused. */
export function passcodeLock(user: User, now: number): Result<never> | null {
  if (user.passcode_locked_until === null || user.passcode_locked_until <= now) return null;
  return fail('two_factor_locked', { retryAfterSeconds: retryAfterSeconds(user.passcode_locked_until, now) });
}

/** Lifts the person's passcode lock and clears their failure count (an admin's help);
 * the lock count stays, so a lock that follows lasts longer. */
export async function liftPasscodeLock(db: Kysely<Database>, user: Pick<User, 'id' | 'account_id'>, now: number): Promise<void> {
  await new AccountUsers(db, user.account_id).update(user.id, { failed_passcode_count: 0, passcode_locked_until: null, updated_at: now });
}

/**
 * Verifies one second factor inside the caller's transaction. A failure is counted
 * (and committed with the transaction) before it is returned; a success resets the
 * counter. While the person is locked, even the right code is refused.
 */
export async function verifySecondFactor(
  db: Kysely<Database>,
  deps: ServiceDeps,
  input: {
    user: User;
    /** The person's row was read inside this transaction. On SQLite, whose transactions
     * are serialised already, it is then used as it is instead of being read again. */
    userReadInThisTransaction?: boolean;
    /** The person's active methods, read inside this transaction (else read here). */
    activeMethods?: TwoFactorMethod[];
    factor: SecondFactorInput;
    smsCheck?: SmsCodeCheck;
    securityKeyCheck?: SecurityKeyCheck;
    allowed: SecondFactorMethod[];
    context: RequestContext;
    /** Consumes what the factor unlocks (a sign-in challenge) once the factor is right;
     * a failure it returns is returned as it is, with the factor spent but not counted. */
    claim?: (db: Kysely<Database>, success: SecondFactorSuccess) => Promise<Failure | null>;
    /** Whether this success completes a sign-in (its time is written with the counter
     * reset, in the same statement). */
    signsInOnSuccess?: (success: SecondFactorSuccess) => boolean;
  },
): Promise<Result<SecondFactorSuccess>> {
  const now = deps.now();
  const user = input.userReadInThisTransaction && deps.dialect === 'sqlite' ? input.user : await lockUserRow(db, deps, input.user);
  if (!user) return fail('invalid_credentials');
  let success: SecondFactorSuccess | null = null;
  const locked = passcodeLock(user, now);
  if (locked) {
    // The code an admin issued for this person works through the lock: whoever locked
    // it by guessing (someone with the password, maybe) cannot undo the admin's help.
    // It is 80 random bits, single use and an hour long, so trying it gives a guesser
    // nothing; anything else is refused unlooked-at and uncounted while the lock lasts.
    success = await consumeAdminCodeThroughLock(db, deps, user, input.factor, input.allowed, now);
    if (!success) return locked;
  } else {
    const method = input.factor.method;
    if (typeof method !== 'string' || !(input.allowed as string[]).includes(method)) {
      return fail('invalid_request', { field: 'method', message: `The method must be one of: ${input.allowed.join(', ')}.` });
    }
    const code = typeof input.factor.code === 'string' ? input.factor.code : '';
    // A spent code still counts as a failure, but the person is told why it failed.
    let spent: string | undefined;
    if (method === 'totp') {
      const checked = await checkTotp(db, deps, user, code, input.activeMethods);
      if (checked === true) success = { method: 'totp', recoveryCodeKind: null };
      else if (checked === 'used') spent = 'That passcode was already used. Wait for the next one in your app.';
    } else if (method === 'recovery_code') {
      const canonical = normalizeRecoveryCode(code);
      if (canonical !== null) {
        const codeHmac = recoveryCodeHmac(deps.keys, canonical);
        const kind = await consumeRecoveryCode(db, { userId: user.id, codeHmac, now });
        if (kind) success = { method: 'recovery_code', recoveryCodeKind: kind };
        else if (await wasRecoveryCodeUsed(db, { userId: user.id, codeHmac }))
          spent = 'That recovery code was already used. Each code works once: use another one.';
      }
    } else if (method === 'webauthn' && input.securityKeyCheck) {
      // A key counts as a passcode for every rule: a bad signature is a failure here too.
      if (await input.securityKeyCheck(db, user, input.factor.code)) success = { method: 'webauthn', recoveryCodeKind: null };
    } else if (method === 'sms' && input.smsCheck) {
      const verdict = await input.smsCheck(db, code);
      if (typeof verdict === 'object') return { ok: false, failure: verdict };
      if (verdict) success = { method: 'sms', recoveryCodeKind: null };
    }
    if (!success) return countCodeFailure(db, deps, user, method, input.context, spent);
  }
  if (input.claim) {
    const claimed = await input.claim(db, success);
    if (claimed) return { ok: false, failure: claimed };
  }
  await new AccountUsers(db, user.account_id).recordPasscodeAccepted(user.id, now, input.signsInOnSuccess?.(success) ? now : null);
  if (success.method === 'recovery_code') {
    await appendAuditEvent(
      db,
      {
        accountId: user.account_id,
        type: 'recovery_code_used',
        actorUserId: user.id,
        subjectUserId: user.id,
        ip: input.context.ip,
        userAgent: input.context.userAgent,
        details: { kind: success.recoveryCodeKind },
      },
      now,
    );
  }
  return ok(success);
}

export async function recoveryCodesLeft(db: Kysely<Database>, userId: string, now: number): Promise<number> {
  return countUnusedRecoveryCodes(db, userId, now);
}
