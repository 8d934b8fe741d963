// Text-message passcodes (their own issue). Until then no one has an SMS factor, so
// no texted code can ever match.
import type { ServiceDeps } from './deps.js';
import type { SmsCodeCheck } from './sms-codes.js';

export function enrolledSmsCheck(_deps: ServiceDeps, _userId: string): SmsCodeCheck {
  return async () => false;
}

export function challengeSmsCheck(_deps: ServiceDeps, _challengeId: string): SmsCodeCheck {
  return async () => false;
}
