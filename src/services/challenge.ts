// The second step of sign-in. The challenge is a server-side flow with explicit
// states (pending → done | expired | locked), single use, ≤10 minutes, bound to one
// person and account; only at its end is a session issued (SECURITY.md, sessions).
import type { Kysely } from 'kysely';
import { parseToken, secretMatches } from '../crypto/tokens.js';
import { mails } from '../delivery/email-templates.js';
import { fail, ok, type Result } from '../domain/failures.js';
import { CHALLENGE_ATTEMPT_LIMIT } from '../domain/passcode-attempts.js';
import { challengeMethods, mustEnrolSecurityKeyAfter } from '../domain/sign-in-decision.js';
import type { FactorType, SecondFactorMethod } from '../domain/types.js';
import { appendAuditEvent } from '../store/audit.js';
import { completeChallenge, countChallengeFailure, findChallengeWithOwner } from '../store/challenges.js';
import type { Account, Database, SignInChallenge, TwoFactorMethod, User } from '../store/schema.js';
import { listActiveMethods } from '../store/two-factor.js';
import { underAddressLimit } from './address-limit.js';
import type { RequestContext, ServiceDeps } from './deps.js';
import { twoFactorPolicyOf, type SignInOutcome } from './first-factor.js';
import { emailUser } from './notify.js';
import { recoveryCodesLeft, verifySecondFactor } from './second-factor.js';
import { startSession } from './sessions.js';
import { noteSignInDevice } from './known-devices.js';
import { rememberDevice } from './trusted-devices.js';
import { removeAllFactors } from './two-factor.js';
import type { PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { assertionOptions } from './webauthn.js';

export interface OpenChallenge {
  challenge: SignInChallenge;
  user: User;
  account: Account;
  methods: SecondFactorMethod[];
  /** The person's active factors, whether or not this challenge accepts them. */
  factors: FactorType[];
  /** Their rows, as read with the challenge. */
  activeMethods: TwoFactorMethod[];
}

/** The live challenge behind a token, or invalid_challenge for anything else. */
export async function openChallenge(db: Kysely<Database>, deps: ServiceDeps, token: unknown): Promise<Result<OpenChallenge>> {
  const parsed = parseToken(token);
  if (!parsed) return fail('invalid_challenge');
  const found = await findChallengeWithOwner(db, parsed.id);
  if (!found || !secretMatches(parsed.secret, found.row.secret_hash)) return fail('invalid_challenge');
  const { row: challenge, user, account } = found;
  if (challenge.state === 'locked') return fail('invalid_challenge', { message: 'Too many wrong codes for this sign-in. Sign in again.' });
  if (challenge.state !== 'pending' || challenge.expires_at <= deps.now()) return fail('invalid_challenge');
  if (!user || !account || user.account_id !== account.id || user.suspended_at !== null || user.two_factor_enabled !== 1) return fail('invalid_challenge');
  const activeMethods = await listActiveMethods(db, user.id);
  const types = activeMethods.map((m) => m.type);
  return ok({ challenge, user, account, methods: challengeMethods(user.role, types, twoFactorPolicyOf(account)), factors: types, activeMethods });
}

/** Options for signing this challenge with a security key (when it offers one). */
export async function securityKeySignInOptions(deps: ServiceDeps, token: unknown): Promise<Result<PublicKeyCredentialRequestOptionsJSON>> {
  return deps.db.transaction().execute(async (trx) => {
    const opened = await openChallenge(trx, deps, token);
    if (!opened.ok) return opened;
    if (!opened.value.methods.includes('webauthn'))
      return fail<PublicKeyCredentialRequestOptionsJSON>('invalid_request', {
        field: 'method',
        message: 'This sign-in has no security key. Use another method.',
      });
    return assertionOptions(trx, deps, { user: opened.value.user, purpose: 'sign_in', boundTo: opened.value.challenge.id });
  });
}

export interface SecondStepInput {
  challengeToken: unknown;
  method: unknown;
  code: unknown;
  rememberDevice: boolean;
}

export async function completeSecondFactor(deps: ServiceDeps, input: SecondStepInput, context: RequestContext): Promise<Result<SignInOutcome>> {
  return underAddressLimit(deps, context, () =>
    deps.db.transaction().execute(async (trx): Promise<Result<SignInOutcome>> => {
      const opened = await openChallenge(trx, deps, input.challengeToken);
      if (!opened.ok) return opened;
      const { challenge, account, user } = opened.value;
      const now = deps.now();
      const mustEnrolSecurityKey = mustEnrolSecurityKeyAfter(user.role, opened.value.factors, twoFactorPolicyOf(account));
      const verified = await verifySecondFactor(trx, deps, {
        user,
        userReadInThisTransaction: true,
        activeMethods: opened.value.activeMethods,
        factor: { method: input.method, code: input.code },
        allowed: opened.value.methods,
        use: { purpose: 'sign_in', boundTo: challenge.id, context },
        context,
        // The challenge ends with the right factor, once: the conditional update lets
        // exactly one request finish it.
        claim: async (db) => ((await completeChallenge(db, challenge.id, now)) ? null : { code: 'invalid_challenge' }),
        // A full sign-in is recorded in the same write as the counter reset.
        signsInOnSuccess: (success) => success.recoveryCodeKind !== 'admin' && !mustEnrolSecurityKey,
      });
      if (!verified.ok) {
        if (verified.failure.code === 'invalid_code' || verified.failure.code === 'two_factor_locked') {
          const attempts = await countChallengeFailure(trx, challenge.id, CHALLENGE_ATTEMPT_LIMIT);
          if (attempts >= CHALLENGE_ATTEMPT_LIMIT && verified.failure.code === 'invalid_code') {
            return fail<SignInOutcome>('invalid_code', {
              field: 'code',
              message: `${verified.failure.message ?? 'That code is not right.'} That was the last try for this sign-in: sign in again.`,
            });
          }
        }
        return verified;
      }
      const method = verified.value.method;

      if (verified.value.recoveryCodeKind === 'admin') {
        // An admin-issued code means the old device is presumed lost: its factors go,
        // and the session may only enrol again (DESIGN.md row 9).
        await removeAllFactors(trx, user, now);
        await trx.updateTable('users').set({ two_factor_setup_required: 1 }).where('id', '=', user.id).execute();
        const session = await startSession(trx, deps, {
          account,
          user,
          kind: 'setup',
          context,
          passcodeVerifiedAt: now,
          viaTrustedDevice: false,
          emailConfirmed: true,
        });
        await appendAuditEvent(
          trx,
          {
            accountId: account.id,
            type: 'sign_in_setup_required',
            actorUserId: user.id,
            subjectUserId: user.id,
            ip: context.ip,
            userAgent: context.userAgent,
            details: { method, admin_issued_code: true },
          },
          now,
        );
        return ok({ status: 'two_factor_setup_required', sessionToken: session.token });
      }

      if (mustEnrolSecurityKey) {
        // The account requires admins to use a security key and this admin has none yet:
        // the session may only add a key, after a code emailed to them, so that a
        // password and passcode relayed by a phishing page cannot enrol the phisher's key.
        const session = await startSession(trx, deps, {
          account,
          user,
          kind: 'setup',
          context,
          passcodeVerifiedAt: now,
          viaTrustedDevice: false,
          emailConfirmed: false,
        });
        await appendAuditEvent(
          trx,
          {
            accountId: account.id,
            type: 'sign_in_setup_required',
            actorUserId: user.id,
            subjectUserId: user.id,
            ip: context.ip,
            userAgent: context.userAgent,
            details: { method, security_key_required: true },
          },
          now,
        );
        return ok({ status: 'two_factor_setup_required', sessionToken: session.token });
      }

      const trusting = input.rememberDevice && account.trusted_device_days > 0;
      const mailedNewComputer = await noteSignInDevice(trx, deps, { account, user, context, trusted: trusting });
      const trusted = trusting ? await rememberDevice(trx, deps, { account, user, context, mailed: mailedNewComputer }) : null;
      const session = await startSession(trx, deps, {
        account,
        user,
        kind: 'full',
        context,
        passcodeVerifiedAt: now,
        viaTrustedDevice: false,
        trustedDeviceId: trusted?.id ?? null,
      });
      await appendAuditEvent(
        trx,
        {
          accountId: account.id,
          type: 'sign_in_succeeded',
          actorUserId: user.id,
          subjectUserId: user.id,
          ip: context.ip,
          userAgent: context.userAgent,
          details: { method, first_factor: challenge.first_factor },
        },
        now,
      );
      if (method === 'recovery_code') {
        const left = await recoveryCodesLeft(trx, user.id, now);
        await emailUser(trx, deps, { account, user, purpose: 'recovery_code_used', context, compose: (c) => mails.recoveryCodeUsed(c, { left }) });
      }
      return ok({
        status: 'signed_in',
        sessionToken: session.token,
        sessionExpiresAt: session.expiresAt,
        trustedDeviceToken: trusted?.token ?? null,
        enrolmentDeadline: null,
      });
    }),
  );
}
