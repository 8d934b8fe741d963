// Texted passcodes: their lifetime, the resend cooldown, the send quotas and the
// message itself. Pure rules; the services store the code (hashed) and send the text.

import { resendWaitInSeconds } from './one-time-codes.js';

/** Texted codes live and cool down like every sent code (one-time-codes.ts). */
export { resendWaitInSeconds };

/** Send quotas (SECURITY.md, anti-pumping). Each is a window in which at most that
 * many texts go out; past it the answer is 429 and no provider is called. */
export const SMS_QUOTAS = {
  /** Enough for an enrolment and a few sign-ins with a resend in one sitting; the
   * per-number, per-address and per-account ceilings are what stop pumping. */
  perPerson: { points: 10, windowInSeconds: 60 * 60 },
  perNumber: { points: 10, windowInSeconds: 24 * 60 * 60 },
  /** Per client address (IPv6 per /64): one office may sign in many people. */
  perAddress: { points: 20, windowInSeconds: 60 * 60 },
  /** Per account per day, unless the account sets its own (accounts.sms_daily_budget). */
  perAccountDefault: { points: 1000, windowInSeconds: 24 * 60 * 60 },
} as const;

/**
 * The text: `<code> is your <product> (<account>) verification code.`, a blank line,
 * then `@<host> #<code>` as the last line, the origin-bound one-time code format that
 * WebOTP and iOS/Android autofill read (WICG sms-one-time-codes).
 */
export function smsCodeText(input: { code: string; productName: string; accountName: string; host: string }): string {
  return `${input.code} is your ${input.productName} (${input.accountName}) verification code.\n\n@${input.host} #${input.code}`;
}

/** The largest daily budget an account or the deployment may set. */
export const MAX_SMS_DAILY_BUDGET = 100_000_000;

/** Where a texted code stands, as far as the person needs to know. */
export type SmsDelivery = 'none' | 'queued' | 'sent' | 'retrying' | 'failed';

export function deliveryOf(message: { status: 'pending' | 'sent' | 'failed'; attempts: number } | null | undefined): SmsDelivery {
  if (!message) return 'none';
  if (message.status === 'sent') return 'sent';
  if (message.status === 'failed') return 'failed';
  return message.attempts > 0 ? 'retrying' : 'queued';
}
