// What a sent code's verdict (services/one-time-codes.ts) means for a factor check:
// the same for texted and emailed codes, in each channel's words.
import type { FailureCode } from '../../domain/failures.js';
import type { CodeVerdict } from '../one-time-codes.js';
import type { FactorCheck } from './factor-module.js';

export interface SentCodeWords {
  /** Nothing was sent yet: 'No code has been texted yet. Ask for one with "Text me a code".' */
  noneSent: string;
  notDelivered: { code: FailureCode; message?: string };
}

export function sentCodeCheck(verdict: CodeVerdict, words: SentCodeWords): FactorCheck {
  switch (verdict.kind) {
    case 'right':
      return { kind: 'right' };
    case 'wrong':
      return verdict.triesLeft === 0 ? { kind: 'wrong', message: 'Too many wrong codes for this one. Ask for a new code.' } : { kind: 'wrong' };
    case 'used':
      return { kind: 'wrong', message: 'That code was already used. Ask for a new one.' };
    case 'none':
      return { kind: 'refused', failure: { code: 'invalid_request', field: 'code', message: words.noneSent } };
    case 'not_delivered':
      return { kind: 'refused', failure: words.notDelivered };
    case 'expired':
      return { kind: 'refused', failure: { code: 'invalid_code', field: 'code', message: 'This code has expired. Ask for a new one.' } };
    case 'exhausted':
      return { kind: 'refused', failure: { code: 'invalid_code', field: 'code', message: 'Too many wrong codes for this one. Ask for a new code.' } };
  }
}
