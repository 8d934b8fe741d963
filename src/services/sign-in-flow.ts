// The sign-in flow (DESIGN.md, Architecture): every way in (password page and API,
// password reset, invitation, first setup) starts one here with its first proof; the
// second step (services/challenge.ts) and a forced enrolment (services/two-factor.ts)
// continue it. Each time, domain/sign-in-decision.ts's decideNextStep says what the
// flow still owes, and this module acts on its answer. It alone creates sessions, and a
// session records the flow that made it and what that flow proved (amr, acr).
import type { Kysely } from 'kysely';
import { issueToken } from '../crypto/tokens.js';
import { SECOND_FACTOR_METHODS } from '../domain/factors.js';
import { fail, ok, type Result } from '../domain/failures.js';
import { CHALLENGE_LIFETIME_IN_MILLISECONDS, DAY_IN_MILLISECONDS } from '../domain/policy.js';
import {
  NO_REQUIREMENTS,
  decideNextStep,
  type FirstFactor,
  type FlowRequirements,
  type NextStep,
  type Proof,
  type ProofKind,
  storedAcr,
} from '../domain/sign-in-decision.js';
import type { FactorType, SecondFactorMethod } from '../domain/types.js';
import { appendAuditEvent } from '../store/audit.js';
import type { Account, Database, FlowState, Session, SessionKind, SignInFlow, TwoFactorMethodType, User } from '../store/schema.js';
import { insertSession } from '../store/sessions.js';
import { advanceFlow, findFlow, insertFlow, settlePasskeyFlow } from '../store/sign-in-flows.js';
import { listActiveFactorTypes } from '../store/two-factor.js';
import { AccountUsers } from '../store/users.js';
import type { RequestContext, ServiceDeps } from './deps.js';
import { noteSignInDevice } from './known-devices.js';
import { firstOfferedMethod } from './preferred-method.js';
import { twoFactorPolicyOf } from './two-factor-policy.js';
import { checkTrustedDevice, rememberDevice } from './trusted-devices.js';

export type SignInOutcome =
  | {
      status: 'signed_in';
      sessionToken: string;
      sessionExpiresAt: number;
      trustedDeviceToken: string | null;
      enrolmentDeadline: number | null;
      /** Where the flow's caller asked the person to be sent. */
      returnTo: string | null;
    }
  | { status: 'two_factor_required'; challengeToken: string; methods: SecondFactorMethod[]; preferred: TwoFactorMethodType | null }
  | { status: 'two_factor_setup_required'; sessionToken: string };

/** A setup-only session exists to enrol a second factor, which takes minutes, not days;
 * the flow waiting for that enrolment lives as long. */
const SETUP_SESSION_LIFETIME_IN_MILLISECONDS = 60 * 60 * 1000;

const PROOF_KINDS: readonly ProofKind[] = [
  'password',
  'password_reset',
  'invitation',
  'setup',
  ...SECOND_FACTOR_METHODS,
  'admin_code',
  'trusted_device',
  'email_confirmation',
  'passkey',
];

/** The proofs a flow row holds; anything unreadable counts as no proof at all. */
export function proofsOf(flow: Pick<SignInFlow, 'proofs'>): Proof[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(flow.proofs);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  return parsed.filter(
    (proof): proof is Proof =>
      typeof proof === 'object' && proof !== null && PROOF_KINDS.includes(proof.kind) && typeof proof.at === 'number' && Number.isFinite(proof.at),
  );
}

export function requirementsOf(flow: Pick<SignInFlow, 'required_acr' | 'max_age_seconds' | 'prompt_login'>): FlowRequirements {
  const acr = storedAcr(flow.required_acr);
  return {
    acr,
    maxAgeSeconds: flow.max_age_seconds,
    promptLogin: flow.prompt_login === 1,
  };
}

export function decideFor(input: {
  account: Account;
  user: User;
  activeMethods: readonly FactorType[];
  proofs: readonly Proof[];
  requirements: FlowRequirements;
  trustedDevice: boolean;
  now: number;
}): NextStep {
  return decideNextStep({
    proofs: input.proofs,
    requirements: input.requirements,
    subject: {
      role: input.user.role,
      twoFactorEnabled: input.user.two_factor_enabled === 1,
      twoFactorSetupRequired: input.user.two_factor_setup_required === 1,
      activeMethods: [...input.activeMethods],
    },
    policy: twoFactorPolicyOf(input.account),
    trustedDevice: input.trustedDevice,
    now: input.now,
  });
}

/** The state a flow is left in after a step. */
function stateAfter(step: NextStep): FlowState {
  switch (step.kind) {
    case 'signed_in':
      return 'done';
    case 'enrolment':
      return 'enrolment';
    case 'unmet':
      return 'expired';
    default:
      return 'second_factor';
  }
}

/** How long a flow in that state lives from now. */
function lifetimeOf(state: FlowState): number {
  return state === 'enrolment' ? SETUP_SESSION_LIFETIME_IN_MILLISECONDS : CHALLENGE_LIFETIME_IN_MILLISECONDS;
}

/** A step of the person's own sign-in, in the audit log. */
function recordSignInEvent(
  db: Kysely<Database>,
  input: { account: Account; user: User; context: RequestContext },
  type: string,
  details: Record<string, unknown>,
  now: number,
): Promise<void> {
  const { account, user, context } = input;
  return appendAuditEvent(
    db,
    { accountId: account.id, type, actorUserId: user.id, subjectUserId: user.id, ip: context.ip, userAgent: context.userAgent, details },
    now,
  );
}

async function issueSession(
  db: Kysely<Database>,
  deps: ServiceDeps,
  input: {
    account: Account;
    user: User;
    kind: SessionKind;
    flowId: string | null;
    step: NextStep;
    context: RequestContext;
    trustedDeviceId?: string | null;
    /** For a setup-only session: the email is already proven (or need not be). */
    emailConfirmed?: boolean;
    /** For a setup-only session: when the second factor that led to it was given. */
    passcodeVerifiedAt?: number | null;
  },
): Promise<{ token: string; expiresAt: number }> {
  const now = deps.now();
  const issued = issueToken();
  const lifetime = input.kind === 'setup' ? SETUP_SESSION_LIFETIME_IN_MILLISECONDS : input.account.session_days * DAY_IN_MILLISECONDS;
  const signedIn = input.step.kind === 'signed_in' ? input.step : null;
  await insertSession(db, {
    id: issued.id,
    accountId: input.account.id,
    userId: input.user.id,
    secretHash: issued.secretHash,
    kind: input.kind,
    now,
    expiresAt: now + lifetime,
    ip: input.context.ip,
    userAgent: input.context.userAgent,
    passcodeVerifiedAt: signedIn?.passcodeAt ?? input.passcodeVerifiedAt ?? null,
    viaTrustedDevice: signedIn?.viaTrustedDevice ?? false,
    trustedDeviceId: input.trustedDeviceId ?? null,
    emailConfirmedAt: input.kind === 'full' || input.emailConfirmed ? now : null,
    flowId: input.flowId,
    amr: signedIn ? JSON.stringify(signedIn.amr) : null,
    acr: signedIn?.acr ?? null,
  });
  return { token: issued.token, expiresAt: now + lifetime };
}

/**
 * Starts a flow for a person whose first factor was just accepted, and takes it as far
 * as it goes: a session, a setup-only session, or a challenge for the second step.
 */
export async function startSignInFlow(
  db: Kysely<Database>,
  deps: ServiceDeps,
  input: {
    account: Account;
    user: User;
    firstFactor: FirstFactor;
    trustedDeviceToken: string | null;
    context: RequestContext;
    returnTo?: string | null;
    requirements?: FlowRequirements;
  },
): Promise<Result<SignInOutcome>> {
  const { account, user, context } = input;
  const now = deps.now();
  const requirements = input.requirements ?? NO_REQUIREMENTS;
  const activeMethods = await listActiveFactorTypes(db, user);
  const trusted = await checkTrustedDevice(db, deps, { account, user, token: input.trustedDeviceToken, context });
  const given: Proof[] = [{ kind: input.firstFactor, at: now }];
  const step = decideFor({ account, user, activeMethods, proofs: given, requirements, trustedDevice: trusted.valid, now });
  if (step.kind === 'unmet' || step.kind === 'first_factor') return fail('unmet_authentication_requirements');

  const proofs: Proof[] = step.kind === 'signed_in' && step.viaTrustedDevice ? [...given, { kind: 'trusted_device', at: now }] : given;
  const state = stateAfter(step);
  const flow = issueToken();
  await insertFlow(db, {
    id: flow.id,
    accountId: account.id,
    userId: user.id,
    secretHash: flow.secretHash,
    state,
    proofs: JSON.stringify(proofs),
    returnTo: input.returnTo ?? null,
    requiredAcr: requirements.acr,
    maxAgeSeconds: requirements.maxAgeSeconds,
    promptLogin: requirements.promptLogin,
    now,
    expiresAt: now + lifetimeOf(state),
    ip: context.ip,
    userAgent: context.userAgent,
  });
  const audit = (type: string, details: Record<string, unknown>) => recordSignInEvent(db, { account, user, context }, type, details, now);

  if (step.kind === 'second_factor') {
    await audit('sign_in_password_accepted', { first_factor: input.firstFactor });
    const offered = step.methods.filter((m): m is FactorType => m !== 'recovery_code');
    return ok({
      status: 'two_factor_required',
      challengeToken: flow.token,
      methods: step.methods,
      preferred: firstOfferedMethod(user.preferred_method, offered),
    });
  }

  await new AccountUsers(db, account.id).update(user.id, { last_sign_in_at: now, updated_at: now });
  if (step.kind === 'enrolment') {
    // Forced first enrolment starts with a code sent to the person's email, so someone
    // who only stole the password cannot enrol their own phone (Authelia #135,
    // Keycloak #21837). An emailed link already proved the address.
    const session = await issueSession(db, deps, { account, user, kind: 'setup', flowId: flow.id, step, context, emailConfirmed: step.emailProven });
    await audit('sign_in_setup_required', { first_factor: input.firstFactor });
    await noteSignInDevice(db, deps, { account, user, context });
    return ok({ status: 'two_factor_setup_required', sessionToken: session.token });
  }
  const session = await issueSession(db, deps, {
    account,
    user,
    kind: 'full',
    flowId: flow.id,
    step,
    context,
    trustedDeviceId: step.viaTrustedDevice ? trusted.deviceId : null,
  });
  await audit('sign_in_succeeded', { first_factor: input.firstFactor, via_trusted_device: step.viaTrustedDevice });
  await noteSignInDevice(db, deps, { account, user, context });
  return ok({
    status: 'signed_in',
    sessionToken: session.token,
    sessionExpiresAt: session.expiresAt,
    trustedDeviceToken: step.viaTrustedDevice ? trusted.rotatedToken : null,
    enrolmentDeadline: step.enrolmentDeadline,
    returnTo: input.returnTo ?? null,
  });
}

/**
 * Records a second factor on a flow in the second-factor state and decides the next
 * step, in one conditional update: of several requests finishing one flow, exactly one
 * gets a step; the others get null.
 */
export async function claimSecondStep(
  db: Kysely<Database>,
  deps: ServiceDeps,
  input: { flow: SignInFlow; proofs: readonly Proof[]; account: Account; user: User; activeMethods: readonly FactorType[]; proof: ProofKind },
): Promise<{ step: NextStep; proofs: Proof[] } | null> {
  const now = deps.now();
  const proofs = [...input.proofs, { kind: input.proof, at: now }];
  const step = decideFor({ ...input, proofs, requirements: requirementsOf(input.flow), trustedDevice: false, now });
  const state = stateAfter(step);
  const claimed = await advanceFlow(db, {
    id: input.flow.id,
    from: 'second_factor',
    to: state,
    proofs: JSON.stringify(proofs),
    now,
    ...(state === 'enrolment' ? { expiresAt: now + lifetimeOf(state) } : {}),
  });
  return claimed ? { step, proofs } : null;
}

/** What a claimed second step leads to: a session, a setup-only session, or (a caller
 * demanding a security key) the same flow asking for it. */
export async function finishSecondStep(
  db: Kysely<Database>,
  deps: ServiceDeps,
  input: {
    flow: SignInFlow;
    /** The flow's proofs before this step (its first factor first). */
    proofs: readonly Proof[];
    /** The second factor this step was given. */
    method: SecondFactorMethod;
    account: Account;
    user: User;
    step: NextStep;
    rememberDevice: boolean;
    context: RequestContext;
    challengeToken: string;
  },
): Promise<Result<SignInOutcome>> {
  const { flow, account, user, step, context, method } = input;
  const audit = (type: string, details: Record<string, unknown>) => recordSignInEvent(db, { account, user, context }, type, details, deps.now());
  switch (step.kind) {
    case 'enrolment': {
      await audit('sign_in_setup_required', step.reason === 'admin_code' ? { method, admin_issued_code: true } : { method, security_key_required: true });
      // After an admin-issued code the address is proven by the admin's help; an admin
      // adding a required key must first confirm theirs (see decideNextStep).
      // The passcode just given counts as fresh: adding the key needs no second one.
      const session = await issueSession(db, deps, {
        account,
        user,
        kind: 'setup',
        flowId: flow.id,
        step,
        context,
        emailConfirmed: step.emailProven,
        passcodeVerifiedAt: deps.now(),
      });
      return ok({ status: 'two_factor_setup_required', sessionToken: session.token });
    }
    case 'second_factor':
      return ok({ status: 'two_factor_required', challengeToken: input.challengeToken, methods: step.methods, preferred: null });
    case 'signed_in': {
      await audit('sign_in_succeeded', { method, first_factor: input.proofs[0]?.kind ?? null });
      const trusting = input.rememberDevice && account.trusted_device_days > 0;
      const mailedNewComputer = await noteSignInDevice(db, deps, { account, user, context, trusted: trusting });
      const trusted = trusting ? await rememberDevice(db, deps, { account, user, context, mailed: mailedNewComputer }) : null;
      const session = await issueSession(db, deps, { account, user, kind: 'full', flowId: flow.id, step, context, trustedDeviceId: trusted?.id ?? null });
      return ok({
        status: 'signed_in',
        sessionToken: session.token,
        sessionExpiresAt: session.expiresAt,
        trustedDeviceToken: trusted?.token ?? null,
        enrolmentDeadline: null,
        returnTo: flow.return_to,
      });
    }
    default:
      return fail('unmet_authentication_requirements');
  }
}

/** The person of a setup-only session read the code emailed to them: their flow, waiting
 * for the enrolment, records it (a later full session's amr shows it). */
export async function recordEmailConfirmation(db: Kysely<Database>, deps: ServiceDeps, session: Session): Promise<void> {
  if (session.flow_id === null) return;
  const flow = await findFlow(db, session.flow_id);
  if (!flow || flow.state !== 'enrolment') return;
  const now = deps.now();
  await advanceFlow(db, {
    id: flow.id,
    from: 'enrolment',
    to: 'enrolment',
    proofs: JSON.stringify([...proofsOf(flow), { kind: 'email_confirmation', at: now }]),
    now,
  });
}

/**
 * A factor was just enrolled in a setup-only session: its flow gains that proof and, when
 * nothing more is owed, a full session replaces the setup-only one (which the caller
 * deletes). Null while the flow still owes something (an admin who must add a key and
 * enrolled another factor first).
 */
export async function continueAfterEnrolment(
  db: Kysely<Database>,
  deps: ServiceDeps,
  input: { session: Session; account: Account; user: User; factor: FactorType; context: RequestContext },
): Promise<{ token: string; expiresAt: number; returnTo: string | null } | null> {
  const { session, account, user, context } = input;
  const now = deps.now();
  const flow = session.flow_id !== null ? await findFlow(db, session.flow_id) : undefined;
  // A setup-only session from before flows existed proved a password when it was made.
  const earlier: Proof[] = flow ? proofsOf(flow) : [{ kind: 'password', at: session.created_at }];
  const proofs = [...earlier, { kind: input.factor, at: now }];
  const activeMethods = await listActiveFactorTypes(db, user);
  const step = decideFor({ account, user, activeMethods, proofs, requirements: flow ? requirementsOf(flow) : NO_REQUIREMENTS, trustedDevice: false, now });
  if (step.kind !== 'signed_in') return null;
  if (flow) await advanceFlow(db, { id: flow.id, from: 'enrolment', to: 'done', proofs: JSON.stringify(proofs), now });
  const next = await issueSession(db, deps, { account, user, kind: 'full', flowId: flow?.id ?? null, step, context });
  return { ...next, returnTo: flow?.return_to ?? null };
}

/**
 * Step-up (OpenID Connect): a person signed in asks for more than their session proved
 * (an app demanding a security key). A new flow starts from the proofs of the session's
 * own flow, so only what is missing is asked for. Null when the session's proofs no
 * longer count (`max_age`), so the person signs in again from the start.
 */
export async function startStepUpFlow(
  db: Kysely<Database>,
  deps: ServiceDeps,
  input: { session: Session; account: Account; user: User; requirements: FlowRequirements; returnTo: string; context: RequestContext },
): Promise<Result<SignInOutcome> | null> {
  const { session, account, user, context, requirements } = input;
  const now = deps.now();
  const earlier = session.flow_id !== null ? await findFlow(db, session.flow_id) : undefined;
  if (!earlier || earlier.user_id !== user.id) return null;
  // A trusted computer stood in for a passcode on that sign-in; it stands in for nothing here.
  const proofs = proofsOf(earlier).filter((proof) => proof.kind !== 'trusted_device');
  const activeMethods = await listActiveFactorTypes(db, user);
  const step = decideFor({ account, user, activeMethods, proofs, requirements, trustedDevice: false, now });
  if (step.kind === 'first_factor') return null;
  if (step.kind === 'unmet') return fail('unmet_authentication_requirements');
  if (step.kind !== 'second_factor') return null;
  const flow = issueToken();
  await insertFlow(db, {
    id: flow.id,
    accountId: account.id,
    userId: user.id,
    secretHash: flow.secretHash,
    state: 'second_factor',
    proofs: JSON.stringify(proofs),
    returnTo: input.returnTo,
    requiredAcr: requirements.acr,
    maxAgeSeconds: requirements.maxAgeSeconds,
    promptLogin: requirements.promptLogin,
    now,
    expiresAt: now + lifetimeOf('second_factor'),
    ip: context.ip,
    userAgent: context.userAgent,
  });
  await recordSignInEvent(db, { account, user, context }, 'sign_in_step_up', { required_acr: requirements.acr }, now);
  return ok({ status: 'two_factor_required', challengeToken: flow.token, methods: step.methods, preferred: null });
}

/** A passkey sign-in whose assertion was just checked (services/passkeys.ts): the flow,
 * started before anyone was known, now names the person, and goes as far as it can. */
export async function finishPasskeyFlow(
  db: Kysely<Database>,
  deps: ServiceDeps,
  input: { flow: SignInFlow; account: Account; user: User; context: RequestContext },
): Promise<Result<SignInOutcome>> {
  const { flow, account, user, context } = input;
  const now = deps.now();
  const proofs: Proof[] = [{ kind: 'passkey', at: now }];
  const activeMethods = await listActiveFactorTypes(db, user);
  const step = decideFor({ account, user, activeMethods, proofs, requirements: requirementsOf(flow), trustedDevice: false, now });
  if (step.kind !== 'signed_in' && step.kind !== 'enrolment') return fail('unmet_authentication_requirements');
  const state = stateAfter(step);
  if (
    !(await settlePasskeyFlow(db, {
      id: flow.id,
      accountId: account.id,
      userId: user.id,
      to: state,
      proofs: JSON.stringify(proofs),
      now,
      expiresAt: now + lifetimeOf(state),
    }))
  ) {
    return fail('invalid_challenge');
  }
  const audit = (type: string, details: Record<string, unknown>) => recordSignInEvent(db, { account, user, context }, type, details, now);
  await new AccountUsers(db, account.id).update(user.id, { last_sign_in_at: now, last_passcode_used_at: now, updated_at: now });
  await noteSignInDevice(db, deps, { account, user, context });
  if (step.kind === 'enrolment') {
    const session = await issueSession(db, deps, {
      account,
      user,
      kind: 'setup',
      flowId: flow.id,
      step,
      context,
      emailConfirmed: step.emailProven,
      passcodeVerifiedAt: now,
    });
    await audit('sign_in_setup_required', { first_factor: 'passkey' });
    return ok({ status: 'two_factor_setup_required', sessionToken: session.token });
  }
  const session = await issueSession(db, deps, { account, user, kind: 'full', flowId: flow.id, step, context });
  await audit('sign_in_succeeded', { first_factor: 'passkey', method: 'passkey' });
  return ok({
    status: 'signed_in',
    sessionToken: session.token,
    sessionExpiresAt: session.expiresAt,
    trustedDeviceToken: null,
    enrolmentDeadline: null,
    returnTo: flow.return_to,
  });
}
