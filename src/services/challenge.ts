// The second step of sign-in: the flow (services/sign-in-flow.ts) is waiting for a
// second factor. It is server-side, single use, ≤10 minutes and bound to one person and
// account; only the flow's module issues the session at its end (SECURITY.md, sessions).
import type { Kysely } from 'kysely';
import { parseToken, secretMatches } from '../crypto/tokens.js';
import { mails } from '../delivery/email-templates.js';
import { fail, ok, type Result } from '../domain/failures.js';
import { CHALLENGE_ATTEMPT_LIMIT } from '../domain/passcode-attempts.js';
import type { NextStep, Proof } from '../domain/sign-in-decision.js';
import type { FactorType, SecondFactorMethod } from '../domain/types.js';
import type { Account, Database, SignInFlow, TwoFactorMethod, User } from '../store/schema.js';
import { countFlowFailure, findFlowWithLockedOwner, findFlowWithOwner } from '../store/sign-in-flows.js';
import { listActiveMethods } from '../store/two-factor.js';
import { AccountUsers } from '../store/users.js';
import { underAddressLimit } from './address-limit.js';
import type { RequestContext, ServiceDeps } from './deps.js';
import { emailUser } from './notify.js';
import { recoveryCodesLeft, verifySecondFactor } from './second-factor.js';
import { claimSecondStep, decideFor, finishSecondStep, proofsOf, requirementsOf, type SignInOutcome } from './sign-in-flow.js';
import { removeAllFactors } from './two-factor.js';
import type { PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { assertionOptions } from './webauthn.js';

export interface OpenChallenge {
  /** The flow, waiting for its second factor. */
  challenge: SignInFlow;
  user: User;
  account: Account;
  methods: SecondFactorMethod[];
  /** The person's active factors, whether or not this challenge accepts them. */
  factors: FactorType[];
  /** Their rows, as read with the challenge. */
  activeMethods: TwoFactorMethod[];
  /** What the flow holds as proven so far (its first factor, at least). */
  proofs: Proof[];
  /** The person's row was read under the lock verifySecondFactor needs (lockPerson). */
  personLocked: boolean;
}

/** The live flow behind a token while it waits for a second factor, or invalid_challenge
 * for anything else. The methods it accepts are the decision's, asked again now. With
 * `lockPerson` (inside a transaction) the person's row is read locked, as
 * verifySecondFactor needs it. */
export async function openChallenge(
  db: Kysely<Database>,
  deps: ServiceDeps,
  token: unknown,
  options: { lockPerson?: boolean } = {},
): Promise<Result<OpenChallenge>> {
  const parsed = parseToken(token);
  if (!parsed) return fail('invalid_challenge');
  const found = await (options.lockPerson ? findFlowWithLockedOwner : findFlowWithOwner)(db, parsed.id);
  if (!found || !secretMatches(parsed.secret, found.row.secret_hash)) return fail('invalid_challenge');
  const { row: challenge, user, account } = found;
  if (challenge.state === 'locked') return fail('invalid_challenge', { message: 'Too many wrong codes for this sign-in. Sign in again.' });
  const now = deps.now();
  if (challenge.state !== 'second_factor' || challenge.expires_at <= now) return fail('invalid_challenge');
  if (!user || !account || user.account_id !== account.id || user.suspended_at !== null || user.two_factor_enabled !== 1) return fail('invalid_challenge');
  const activeMethods = await listActiveMethods(db, user);
  const types = activeMethods.map((m) => m.type);
  const proofs = proofsOf(challenge);
  const step = decideFor({
    account,
    user,
    activeMethods: types,
    proofs,
    requirements: requirementsOf(challenge),
    trustedDevice: false,
    now,
  });
  if (step.kind !== 'second_factor') return fail('invalid_challenge');
  return ok({ challenge, user, account, methods: step.methods, factors: types, activeMethods, proofs, personLocked: options.lockPerson === true });
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
      const opened = await openChallenge(trx, deps, input.challengeToken, { lockPerson: true });
      if (!opened.ok) return opened;
      const { challenge, account, user } = opened.value;
      const now = deps.now();
      let claimed: NextStep | null = null;
      const verified = await verifySecondFactor(trx, deps, {
        user,
        userLockedInThisTransaction: opened.value.personLocked,
        activeMethods: opened.value.activeMethods,
        factor: { method: input.method, code: input.code },
        allowed: opened.value.methods,
        use: { purpose: 'sign_in', boundTo: challenge.id, context },
        context,
        // The flow takes its next step with the right factor, once: the conditional
        // update lets exactly one request move it.
        claim: async (db, success) => {
          const proof = success.recoveryCodeKind === 'admin' ? 'admin_code' : success.method;
          const taken = await claimSecondStep(db, deps, {
            flow: challenge,
            proofs: opened.value.proofs,
            account,
            user,
            activeMethods: opened.value.factors,
            proof,
          });
          claimed = taken?.step ?? null;
          return taken ? null : { code: 'invalid_challenge' };
        },
        // A full sign-in is recorded in the same write as the counter reset.
        signsInOnSuccess: () => claimed?.kind === 'signed_in',
      });
      if (!verified.ok) {
        if (verified.failure.code === 'invalid_code' || verified.failure.code === 'two_factor_locked') {
          const attempts = await countFlowFailure(trx, challenge.id, CHALLENGE_ATTEMPT_LIMIT);
          if (attempts >= CHALLENGE_ATTEMPT_LIMIT && verified.failure.code === 'invalid_code') {
            return fail<SignInOutcome>('invalid_code', {
              field: 'code',
              message: `${verified.failure.message ?? 'That code is not right.'} That was the last try for this sign-in: sign in again.`,
              detail: { key: 'detail.lastTry' },
            });
          }
        }
        return verified;
      }
      const step: NextStep = claimed!;
      const method = verified.value.method;
      if (step.kind === 'enrolment' && step.reason === 'admin_code') {
        // An admin-issued code means the old device is presumed lost: its factors go,
        // and the session may only enrol again (DESIGN.md row 9).
        await removeAllFactors(trx, user, now);
        await new AccountUsers(trx, account.id).update(user.id, { two_factor_setup_required: 1 });
      } else if (step.kind === 'signed_in' && method === 'recovery_code') {
        const left = await recoveryCodesLeft(trx, user.id, now);
        await emailUser(trx, deps, { account, user, purpose: 'recovery_code_used', context, compose: (c) => mails.recoveryCodeUsed(c, { left }) });
      }
      return finishSecondStep(trx, deps, {
        flow: challenge,
        proofs: opened.value.proofs,
        method,
        account,
        user,
        step,
        rememberDevice: input.rememberDevice,
        context,
        challengeToken: String(input.challengeToken),
      });
    }),
  );
}
