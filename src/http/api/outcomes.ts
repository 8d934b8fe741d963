import type { SignInOutcome } from '../../services/sign-in-flow.js';
import type { EnrolmentDone } from '../../services/two-factor.js';
import type { Static } from 'typebox';
import type { EnrolmentDoneAnswer, SignInAnswer } from './schemas.js';

/** The sign-in answers of DESIGN.md's API section. */
export function signInOutcomeBody(outcome: SignInOutcome): Static<typeof SignInAnswer> {
  switch (outcome.status) {
    case 'signed_in':
      return {
        status: 'signed_in',
        session_token: outcome.sessionToken,
        ...(outcome.trustedDeviceToken ? { trusted_device_token: outcome.trustedDeviceToken } : {}),
        ...(outcome.enrolmentDeadline !== null ? { two_factor_enrolment_deadline: new Date(outcome.enrolmentDeadline).toISOString() } : {}),
      };
    case 'two_factor_required':
      return { status: 'two_factor_required', challenge_token: outcome.challengeToken, methods: outcome.methods, preferred: outcome.preferred };
    case 'two_factor_setup_required':
      return { status: 'two_factor_setup_required', session_token: outcome.sessionToken };
  }
}

export function iso(time: number | null): string | null {
  return time === null ? null : new Date(time).toISOString();
}

/** A finished enrolment (app or text messages): recovery codes on the first factor,
 * and a full session when it ends a setup-only one. */
export function enrolmentDoneBody(done: EnrolmentDone): Static<typeof EnrolmentDoneAnswer> {
  return {
    status: 'enabled' as const,
    ...(done.recoveryCodes ? { recovery_codes: done.recoveryCodes } : {}),
    ...(done.newSessionToken ? { session_token: done.newSessionToken } : {}),
  };
}
