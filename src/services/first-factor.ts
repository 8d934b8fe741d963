// The single way from "first factor accepted" to a session (DESIGN.md row 12).
// Password sign-in, password reset, invitation acceptance and first setup all end
// here; the decision itself is the pure rule in domain/sign-in-decision.ts.
import type { Kysely } from 'kysely';
import { issueToken } from '../crypto/tokens.js';
import { CHALLENGE_LIFETIME_IN_MILLISECONDS } from '../domain/policy.js';
import { decideAfterFirstFactor, type AccountTwoFactorPolicy } from '../domain/sign-in-decision.js';
import type { FactorType, SecondFactorMethod } from '../domain/types.js';
import { appendAuditEvent } from '../store/audit.js';
import { insertChallenge } from '../store/challenges.js';
import type { Account, Database, FirstFactor, TwoFactorMethodType, User } from '../store/schema.js';
import { listActiveMethods } from '../store/two-factor.js';
import { AccountUsers } from '../store/users.js';
import type { RequestContext, ServiceDeps } from './deps.js';
import { startSession } from './sessions.js';
import { noteSignInDevice } from './known-devices.js';
import { firstOfferedMethod } from './preferred-method.js';
import { checkTrustedDevice, type TrustedDeviceCheck } from './trusted-devices.js';

export type SignInOutcome =
  | { status: 'signed_in'; sessionToken: string; sessionExpiresAt: number; trustedDeviceToken: string | null; enrolmentDeadline: number | null }
  | { status: 'two_factor_required'; challengeToken: string; methods: SecondFactorMethod[]; preferred: TwoFactorMethodType | null }
  | { status: 'two_factor_setup_required'; sessionToken: string };

export function twoFactorPolicyOf(account: Account): AccountTwoFactorPolicy {
  return {
    requireTwoFactor: account.require_two_factor,
    requireTwoFactorSince: account.require_two_factor_since,
    graceDays: account.grace_days,
    securityKeysForAdmins: account.require_phishing_resistant_admins === 1,
  };
}

export async function completeFirstFactor(
  db: Kysely<Database>,
  deps: ServiceDeps,
  input: { account: Account; user: User; firstFactor: FirstFactor; trustedDeviceToken: string | null; context: RequestContext },
): Promise<SignInOutcome> {
  const { account, user, context } = input;
  const now = deps.now();
  const methods = await listActiveMethods(db, user.id);
  const activeMethods = [...new Set(methods.map((m) => m.type))];
  const trusted: TrustedDeviceCheck = await checkTrustedDevice(db, deps, { account, user, token: input.trustedDeviceToken, context });
  const step = decideAfterFirstFactor({
    subject: {
      role: user.role,
      twoFactorEnabled: user.two_factor_enabled === 1,
      twoFactorSetupRequired: user.two_factor_setup_required === 1,
      activeMethods,
    },
    policy: twoFactorPolicyOf(account),
    trustedDevice: trusted.valid,
    now,
  });
  const audit = (type: string, details?: Record<string, unknown>) =>
    appendAuditEvent(
      db,
      { accountId: account.id, type, actorUserId: user.id, subjectUserId: user.id, ip: context.ip, userAgent: context.userAgent, details },
      now,
    );

  if (step.kind === 'two_factor_required') {
    const issued = issueToken();
    await insertChallenge(db, {
      id: issued.id,
      accountId: account.id,
      userId: user.id,
      secretHash: issued.secretHash,
      firstFactor: input.firstFactor,
      now,
      expiresAt: now + CHALLENGE_LIFETIME_IN_MILLISECONDS,
      ip: context.ip,
      userAgent: context.userAgent,
    });
    await audit('sign_in_password_accepted', { first_factor: input.firstFactor });
    const offered = step.methods.filter((m): m is FactorType => m !== 'recovery_code');
    return {
      status: 'two_factor_required',
      challengeToken: issued.token,
      methods: step.methods,
      preferred: firstOfferedMethod(user.preferred_method, offered),
    };
  }

  const users = new AccountUsers(db, account.id);
  await users.update(user.id, { last_sign_in_at: now, updated_at: now });
  if (step.kind === 'two_factor_setup_required') {
    // Forced first enrolment starts with a code sent to the person's email, so someone
    // who only stole the password cannot enrol their own phone (Authelia #135,
    // Keycloak #21837). An emailed link already proved the address.
    const emailProven = input.firstFactor === 'invitation' || input.firstFactor === 'password_reset';
    const session = await startSession(db, deps, {
      account,
      user,
      kind: 'setup',
      context,
      passcodeVerifiedAt: null,
      viaTrustedDevice: false,
      emailConfirmed: emailProven,
    });
    await audit('sign_in_setup_required', { first_factor: input.firstFactor });
    await noteSignInDevice(db, deps, { account, user, context });
    return { status: 'two_factor_setup_required', sessionToken: session.token };
  }
  const session = await startSession(db, deps, {
    account,
    user,
    kind: 'full',
    context,
    passcodeVerifiedAt: null,
    viaTrustedDevice: step.viaTrustedDevice,
    trustedDeviceId: step.viaTrustedDevice ? trusted.deviceId : null,
  });
  await audit('sign_in_succeeded', { first_factor: input.firstFactor, via_trusted_device: step.viaTrustedDevice });
  await noteSignInDevice(db, deps, { account, user, context });
  return {
    status: 'signed_in',
    sessionToken: session.token,
    sessionExpiresAt: session.expiresAt,
    trustedDeviceToken: step.viaTrustedDevice ? trusted.rotatedToken : null,
    enrolmentDeadline: step.enrolmentDeadline,
  };
}
