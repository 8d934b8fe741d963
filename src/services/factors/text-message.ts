// Text messages as a factor: the code texted for this use (a sign-in challenge, a
// confirmation, or the number being verified), checked by the one one-time-code
// module. Texting is in sms-sending.ts, enrolling in sms-enrolment.ts.
import { TEXT_MESSAGE_FACTOR } from '../../domain/factors.js';
import type { OneTimeCodePurpose } from '../../store/schema.js';
import { findSmsMethod } from '../../store/sms.js';
import { checkOneTimeCode } from '../one-time-codes.js';
import type { FactorModule, FactorUse } from './factor-module.js';
import { sentCodeCheck } from './sent-code.js';

export const SMS_CODE_PURPOSE = { sign_in: 'sms_sign_in', confirmation: 'sms_confirmation', enrolment: 'sms_enrolment' } as const satisfies Record<
  FactorUse['purpose'],
  OneTimeCodePurpose
>;

export const textMessageFactor: FactorModule = {
  descriptor: TEXT_MESSAGE_FACTOR,
  async verify(db, deps, input) {
    // A confirmation's code is bound to the enrolled number's row, like the text it came in.
    let boundTo = input.use.boundTo;
    if (input.use.purpose === 'confirmation') boundTo = (await findSmsMethod(db, input.user, 'active'))?.id ?? '';
    const verdict = await checkOneTimeCode(db, deps, { purpose: SMS_CODE_PURPOSE[input.use.purpose], boundTo }, input.code);
    return sentCodeCheck(verdict, {
      noneSent: 'No code has been texted yet. Ask for one with "Text me a code".',
      notDelivered: { code: 'sms_not_delivered' },
    });
  },
};
