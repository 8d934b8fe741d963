// Emailed codes as a factor (DESIGN.md row 19): the code emailed for this use (a
// sign-in challenge, a confirmation, or the enrolment), checked by the one
// one-time-code module. Sending and enrolling are in email-factor.ts.
import { EMAILED_CODE_FACTOR } from '../../domain/factors.js';
import type { OneTimeCodePurpose } from '../../store/schema.js';
import { checkOneTimeCode } from '../one-time-codes.js';
import type { FactorModule, FactorUse } from './factor-module.js';
import { sentCodeCheck } from './sent-code.js';

export const EMAIL_CODE_PURPOSE = {
  sign_in: 'email_sign_in',
  confirmation: 'email_confirmation_code',
  enrolment: 'email_enrolment',
} as const satisfies Record<FactorUse['purpose'], OneTimeCodePurpose>;

/** A confirmation's code is bound to the person (their address is the factor). */
export function emailCodeBinding(use: Pick<FactorUse, 'purpose' | 'boundTo'>, userId: string): { purpose: OneTimeCodePurpose; boundTo: string } {
  return { purpose: EMAIL_CODE_PURPOSE[use.purpose], boundTo: use.purpose === 'confirmation' ? userId : use.boundTo };
}

export const emailedCodeFactor: FactorModule = {
  descriptor: EMAILED_CODE_FACTOR,
  async verify(db, deps, input) {
    const verdict = await checkOneTimeCode(db, deps, emailCodeBinding(input.use, input.user.id), input.code);
    return sentCodeCheck(verdict, {
      noneSent: 'No code has been emailed yet. Ask for one with "Email me a code".',
      notDelivered: { code: 'invalid_code', message: 'We could not send the email. Use another method.' },
    });
  },
};
