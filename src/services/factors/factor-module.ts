// What a second factor declares to plug in (DESIGN.md, "Factors plug in"): its
// descriptor (type, label, order, amr, phishing resistance: domain/factors.ts) and how
// it is checked. Sending a code and enrolling are the factor's own use cases, named
// here where they exist so that routes and pages can loop over the registry.
import type { Kysely } from 'kysely';
import type { FactorDescriptor, SecondFactorMethod } from '../../domain/factors.js';
import type { Failure, Result } from '../../domain/failures.js';
import type { Database, TwoFactorMethod, User } from '../../store/schema.js';
import type { RequestContext, ServiceDeps } from '../deps.js';
import type { SignedIn } from '../sessions.js';

/** What a factor is checked for: the second step of a sign-in (bound to its challenge),
 * a confirmation of a sensitive action (bound to the session) or the enrolment of the
 * factor itself (bound to its pending two_factor_methods row). */
export interface FactorUse {
  purpose: 'sign_in' | 'confirmation' | 'enrolment';
  boundTo: string;
  context: RequestContext;
}

/**
 * `right`: the factor is proven and spent. `wrong`: a failure, counted on the person's
 * one counter by the caller (`message` says why, for a spent code). `refused`: nothing
 * could be checked (no code was sent, it expired, its text never left), answered as
 * it is and not counted: there was nothing to guess.
 */
export type FactorCheck = { kind: 'right'; recoveryCodeKind?: 'user' | 'admin' } | { kind: 'wrong'; message?: string } | { kind: 'refused'; failure: Failure };

export interface CodeSentAnswer {
  /** Where the code went, masked ("•••• ••• 42", "a•••@acme.test"). */
  destination: string;
  resendAfterSeconds: number;
  expiresAt: number;
}

export interface FactorModule {
  descriptor: FactorDescriptor<SecondFactorMethod>;
  verify(
    db: Kysely<Database>,
    deps: ServiceDeps,
    input: { user: User; code: unknown; use: FactorUse; activeMethods?: TwoFactorMethod[] },
  ): Promise<FactorCheck>;
  /** Factors whose code Tessera sends: one for a sign-in challenge, one for a confirmation. */
  send?: {
    signIn(deps: ServiceDeps, challengeToken: unknown, context: RequestContext): Promise<Result<CodeSentAnswer>>;
    confirmation(deps: ServiceDeps, signedIn: SignedIn, context: RequestContext): Promise<Result<CodeSentAnswer>>;
  };
}
