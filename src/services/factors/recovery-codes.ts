// Recovery codes as a factor: 10 single-use codes of ≥64 bits, stored as HMACs under a
// key kept outside the database, one row each, spent by one conditional update. They
// come with the first factor (two-factor.ts) and are always offered last.
import type { Kysely } from 'kysely';
import type { KeyRing } from '../../crypto/keys.js';
import { hmacHex } from '../../crypto/tokens.js';
import { RECOVERY_CODE_FACTOR } from '../../domain/factors.js';
import { normalizeRecoveryCode } from '../../domain/recovery-codes.js';
import { consumeRecoveryCode, wasRecoveryCodeUsed } from '../../store/recovery-codes.js';
import type { Database } from '../../store/schema.js';
import type { UserRef } from '../../store/users.js';
import type { FactorModule } from './factor-module.js';

export function recoveryCodeHmac(keys: KeyRing, canonical: string): string {
  return hmacHex(keys.hmacKey, `recovery-code:${canonical}`);
}

/** Spends the code an admin issued for this person, if that is what `raw` is: the one
 * code that works through a passcode lock (second-factor.ts says why). */
export async function consumeAdminRecoveryCode(db: Kysely<Database>, keys: KeyRing, user: UserRef, raw: unknown, now: number): Promise<boolean> {
  if (typeof raw !== 'string') return false;
  const canonical = normalizeRecoveryCode(raw);
  if (canonical === null) return false;
  return (await consumeRecoveryCode(db, user, { codeHmac: recoveryCodeHmac(keys, canonical), now, onlyKind: 'admin' })) !== null;
}

export const recoveryCodeFactor: FactorModule = {
  descriptor: RECOVERY_CODE_FACTOR,
  async verify(db, deps, input) {
    const canonical = typeof input.code === 'string' ? normalizeRecoveryCode(input.code) : null;
    if (canonical === null) return { kind: 'wrong' };
    const codeHmac = recoveryCodeHmac(deps.keys, canonical);
    const kind = await consumeRecoveryCode(db, input.user, { codeHmac, now: deps.now() });
    if (kind) return { kind: 'right', recoveryCodeKind: kind };
    if (await wasRecoveryCodeUsed(db, input.user, codeHmac))
      return { kind: 'wrong', message: 'That recovery code was already used. Each code works once: use another one.' };
    return { kind: 'wrong' };
  },
};
