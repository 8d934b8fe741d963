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

// GSM 03.38: the basic table (one septet each) and its extension (two: escape + char).
const GSM7_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
const GSM7_EXTENSION = new Set('^{}\\[~]|€\f');

/** How long a text is in its encoding's units, and what fits in one segment: 160
 * GSM-7 septets, or 70 UCS-2 units once one character is outside GSM-7 (Arabic,
 * Japanese, most accented letters) (3GPP TS 23.038, 23.040). */
export function smsLength(text: string): { encoding: 'gsm7' | 'ucs2'; units: number; segmentLimit: number } {
  let septets = 0;
  for (const character of text) {
    if (GSM7_BASIC.has(character)) septets += 1;
    else if (GSM7_EXTENSION.has(character)) septets += 2;
    else return { encoding: 'ucs2', units: text.length, segmentLimit: 70 };
  }
  return { encoding: 'gsm7', units: septets, segmentLimit: 160 };
}

/**
 * The text: the person's language's `<code> is your <product> (<account>) verification
 * code.` (`message`, made for an account name), a blank line, then `@<host> #<code>` as
 * the last line, the origin-bound one-time code format that WebOTP and iOS/Android
 * autofill read (WICG sms-one-time-codes). A long account name is shortened (...) so the
 * text stays one segment.
 */
export function smsCodeText(input: { code: string; accountName: string; host: string; message: (accountName: string) => string }): string {
  const compose = (accountName: string) => `${input.message(accountName)}\n\n@${input.host} #${input.code}`;
  const characters = [...input.accountName];
  let text = compose(input.accountName);
  // Shorter and shorter, with "..." (GSM-7, unlike "…"), until it fits.
  for (let kept = characters.length - 1; kept >= 0 && smsLength(text).units > smsLength(text).segmentLimit; kept--) {
    text = compose(`${characters.slice(0, kept).join('').trimEnd()}...`);
  }
  return text;
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
