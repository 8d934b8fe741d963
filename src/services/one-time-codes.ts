// The one place sent codes are made and checked: texted codes (sign-in, enrolment,
// confirmation), the forced enrolment's emailed code and emailed codes as a second
// factor. A code is 6 digits from the CSPRNG, stored only as an HMAC under the key
// kept outside the database (like recovery codes), bound to what it was sent for,
// valid 10 minutes, 30 seconds before another, 5 tries, spent by one conditional
// update. What a wrong guess costs the person (their one failure counter) is the
// caller's: second-factor.ts for factors, email-confirmation.ts for its own step.
import type { Kysely } from 'kysely';
import { constantTimeEqualHex, hmacHex, newId, newNumericCode } from '../crypto/tokens.js';
import { CODE_LIFETIME_IN_MILLISECONDS, TRIES_PER_CODE, hourlyCapWaitInSeconds, normalizeSentCode, resendWaitInSeconds } from '../domain/one-time-codes.js';
import { deliveryOf, type SmsDelivery } from '../domain/sms-codes.js';
import {
  consumeOneTimeCode,
  findMessageState,
  findNewestOneTimeCode,
  insertOneTimeCode,
  oneTimeCodeTimesSince,
  spendOneTimeCodeTry,
} from '../store/one-time-codes.js';
import type { Database, OneTimeCodePurpose } from '../store/schema.js';
import type { ServiceDeps } from './deps.js';

export interface CodeBinding {
  purpose: OneTimeCodePurpose;
  /** What the code is for: a sign-in challenge's id, a two_factor_methods row's, a person's. */
  boundTo: string;
}

function codeHmac(deps: Pick<ServiceDeps, 'keys'>, binding: CodeBinding, code: string): string {
  return hmacHex(deps.keys.hmacKey, `one-time-code:${binding.purpose}:${binding.boundTo}:${code}`);
}

/** Why no code may be sent now: the 30-second cooldown of this binding, or the hourly
 * cap of this person and purpose. Counts nothing. */
export async function sendRefusal(
  db: Kysely<Database>,
  deps: Pick<ServiceDeps, 'now'>,
  input: CodeBinding & { userId: string; capPerHour?: number },
): Promise<{ reason: 'cooldown' | 'hourly_cap'; retryAfterSeconds: number } | null> {
  const now = deps.now();
  const newest = await findNewestOneTimeCode(db, input.purpose, input.boundTo);
  const wait = resendWaitInSeconds(newest?.sent_at ?? null, now);
  if (wait > 0) return { reason: 'cooldown', retryAfterSeconds: wait };
  if (input.capPerHour !== undefined) {
    const times = await oneTimeCodeTimesSince(db, input.userId, input.purpose, now - 60 * 60 * 1000);
    const capWait = hourlyCapWaitInSeconds(times, input.capPerHour, now);
    if (capWait > 0) return { reason: 'hourly_cap', retryAfterSeconds: capWait };
  }
  return null;
}

export interface CodeSent {
  sentAt: number;
  expiresAt: number;
  /** Seconds before "Send again" may be used. */
  resendAfterSeconds: number;
}

/**
 * Makes a new code for a binding (voiding the previous one: only the newest is ever
 * checked) and hands it to `deliver`, which writes the message to the outbox in the
 * caller's transaction and answers its id. The caller has asked sendRefusal first.
 */
export async function issueOneTimeCode(
  db: Kysely<Database>,
  deps: Pick<ServiceDeps, 'keys' | 'now'>,
  input: CodeBinding & { accountId: string; userId: string; deliver: (code: string, expiresAt: number) => Promise<string | null> },
): Promise<CodeSent> {
  const now = deps.now();
  const code = newNumericCode();
  const expiresAt = now + CODE_LIFETIME_IN_MILLISECONDS;
  const messageId = await input.deliver(code, expiresAt);
  await insertOneTimeCode(db, {
    id: newId(),
    accountId: input.accountId,
    userId: input.userId,
    purpose: input.purpose,
    boundTo: input.boundTo,
    codeHmac: codeHmac(deps, input, code),
    sentAt: now,
    expiresAt,
    messageId,
  });
  return { sentAt: now, expiresAt, resendAfterSeconds: resendWaitInSeconds(now, now) };
}

/**
 * What a typed code turned out to be. `right`: spent now, by this request alone.
 * `wrong` (one try taken) and `used` (spent before, or by a parallel request: a replay
 * or a loser) count as failures. `none`, `not_delivered`, `expired` and `exhausted`
 * had nothing left to guess and are not counted.
 */
export type CodeVerdict =
  | { kind: 'right' }
  | { kind: 'wrong'; triesLeft: number }
  | { kind: 'used' }
  | { kind: 'none' }
  | { kind: 'not_delivered' }
  | { kind: 'expired' }
  | { kind: 'exhausted' };

export async function checkOneTimeCode(
  db: Kysely<Database>,
  deps: Pick<ServiceDeps, 'keys' | 'now'>,
  binding: CodeBinding,
  raw: unknown,
): Promise<CodeVerdict> {
  const now = deps.now();
  const row = await findNewestOneTimeCode(db, binding.purpose, binding.boundTo);
  if (!row) return { kind: 'none' };
  // The message never left: the person could not have the code, so nothing is counted
  // and the code is not even looked at (SECURITY.md: a provider failure costs no attempt).
  if (deliveryOf(await findMessageState(db, row.message_id)) === 'failed') return { kind: 'not_delivered' };
  if (row.expires_at <= now) return { kind: 'expired' };
  if (row.attempts >= TRIES_PER_CODE) return { kind: 'exhausted' };
  if (row.used_at !== null) return { kind: 'used' };
  const code = normalizeSentCode(raw);
  const hmac = code === null ? null : codeHmac(deps, binding, code);
  if (hmac === null || !constantTimeEqualHex(hmac, row.code_hmac)) {
    const triesUsed = await spendOneTimeCodeTry(db, row.id, TRIES_PER_CODE);
    return triesUsed === null ? { kind: 'used' } : { kind: 'wrong', triesLeft: TRIES_PER_CODE - triesUsed };
  }
  return (await consumeOneTimeCode(db, { id: row.id, codeHmac: hmac, maxTries: TRIES_PER_CODE, now })) ? { kind: 'right' } : { kind: 'used' };
}

export interface SentCodeState {
  sentAt: number | null;
  resendAfterSeconds: number;
  delivery: SmsDelivery;
}

/** Where the newest code of a binding stands, for a page or a status answer. */
export async function sentCodeState(db: Kysely<Database>, deps: Pick<ServiceDeps, 'now'>, binding: CodeBinding): Promise<SentCodeState> {
  const row = await findNewestOneTimeCode(db, binding.purpose, binding.boundTo);
  return {
    sentAt: row?.sent_at ?? null,
    resendAfterSeconds: resendWaitInSeconds(row?.sent_at ?? null, deps.now()),
    delivery: deliveryOf(await findMessageState(db, row?.message_id ?? null)),
  };
}
