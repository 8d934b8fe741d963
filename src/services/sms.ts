// Checking texted codes. A code is 6 digits from the CSPRNG, stored only as an HMAC
// under the key kept outside the database (like recovery codes), bound to what it was
// sent for (`challenge:<id>` or `method:<id>`), valid 10 minutes and spent by one
// conditional update. Sending them is in sms-sending.ts.
import type { Kysely } from 'kysely';
import { constantTimeEqualHex, hmacHex } from '../crypto/tokens.js';
import type { Failure } from '../domain/failures.js';
import { deliveryOf } from '../domain/sms-codes.js';
import { normalizePasscodeInput } from '../domain/totp.js';
import type { Database } from '../store/schema.js';
import { consumeChallengeCode, consumeMethodCode, findMessageState, findSmsMethod } from '../store/sms.js';
import { findFlow } from '../store/sign-in-flows.js';
import { findMethod } from '../store/two-factor.js';
import type { ServiceDeps } from './deps.js';
import type { SmsCodeCheck } from './sms-codes.js';

export function smsCodeHmac(deps: Pick<ServiceDeps, 'keys'>, binding: string, code: string): string {
  return hmacHex(deps.keys.hmacKey, `sms-code:${binding}:${code}`);
}

interface CodeHolder {
  hash: string | null;
  expiresAt: number | null;
  sentAt: number | null;
  messageId: string | null;
}

async function check(
  db: Kysely<Database>,
  deps: ServiceDeps,
  holder: CodeHolder | null,
  binding: string,
  rawCode: string,
  consume: (hash: string) => Promise<boolean>,
): Promise<boolean | Failure> {
  if (!holder || holder.sentAt === null) {
    return { code: 'invalid_request', field: 'code', message: 'No code has been texted yet. Ask for one with "Text me a code".' };
  }
  // The text never left: the person could not have the code, so nothing is counted
  // and the code is not even looked at (SECURITY.md: a provider failure costs no attempt).
  if (deliveryOf(await findMessageState(db, holder.messageId)) === 'failed') return { code: 'sms_not_delivered' };
  const code = normalizePasscodeInput(rawCode);
  if (code === null || holder.hash === null) return false;
  if (holder.expiresAt === null || holder.expiresAt <= deps.now()) {
    return { code: 'invalid_code', field: 'code', message: 'This code has expired. Ask for a new one.' };
  }
  if (!constantTimeEqualHex(smsCodeHmac(deps, binding, code), holder.hash)) return false;
  return consume(holder.hash);
}

/** The code texted for a sign-in challenge. */
export function challengeSmsCheck(deps: ServiceDeps, challengeId: string): SmsCodeCheck {
  return async (db, code) => {
    const challenge = await findFlow(db, challengeId);
    const holder = challenge
      ? { hash: challenge.sms_code_hash, expiresAt: challenge.sms_code_expires_at, sentAt: challenge.sms_sent_at, messageId: challenge.sms_message_id }
      : null;
    return check(db, deps, holder, `challenge:${challengeId}`, code, (hash) => consumeChallengeCode(db, challengeId, hash));
  };
}

/** The code texted to a phone number's row: the enrolled number (confirmations) or a
 * number being verified (enrolment). */
function methodSmsCheck(
  deps: ServiceDeps,
  find: (
    db: Kysely<Database>,
  ) => Promise<
    { id: string; sms_code_hash: string | null; sms_code_expires_at: number | null; sms_sent_at: number | null; sms_message_id: string | null } | undefined
  >,
): SmsCodeCheck {
  return async (db, code) => {
    const method = await find(db);
    if (!method) return check(db, deps, null, '', code, async () => false);
    const holder = { hash: method.sms_code_hash, expiresAt: method.sms_code_expires_at, sentAt: method.sms_sent_at, messageId: method.sms_message_id };
    return check(db, deps, holder, `method:${method.id}`, code, (hash) => consumeMethodCode(db, method.id, hash));
  };
}

/** A code texted to the person's enrolled number, for a confirmation with method "sms". */
export function enrolledSmsCheck(deps: ServiceDeps, userId: string): SmsCodeCheck {
  return methodSmsCheck(deps, (db) => findSmsMethod(db, userId, 'active'));
}

/** A code texted to a number being verified. */
export function pendingSmsCheck(deps: ServiceDeps, userId: string, methodId: string): SmsCodeCheck {
  return methodSmsCheck(deps, async (db) => {
    const method = await findMethod(db, userId, methodId);
    return method && method.type === 'sms' && method.status === 'pending' ? method : undefined;
  });
}
