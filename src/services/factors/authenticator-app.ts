// The authenticator app (TOTP, RFC 6238) as a factor: any active app of the person
// whose code is right within ±1 step and whose step moves forward, compared-and-set
// atomically, so a code is accepted once (RFC 6238 §5.2). Enrolling is in two-factor.ts.
import { decryptSecret, sealedPlace } from '../../crypto/secret-box.js';
import { AUTHENTICATOR_APP_FACTOR } from '../../domain/factors.js';
import { normalizePasscodeInput, verifyTotp, type TotpAlgorithm } from '../../domain/totp.js';
import { claimTotpStep, listActiveMethods } from '../../store/two-factor.js';
import type { ServiceDeps } from '../deps.js';
import type { FactorModule } from './factor-module.js';

/** A TOTP seed, or null when it does not open where it is stored: a value moved there
 * from another row is refused like a wrong code, never honoured and never a 500. */
function openSeed(deps: ServiceDeps, methodId: string, sealed: string): Buffer | null {
  try {
    return Buffer.from(decryptSecret(deps.keys, sealed, sealedPlace('two_factor_methods', 'secret_ciphertext', methodId)), 'base64');
  } catch {
    return null;
  }
}

export const authenticatorAppFactor: FactorModule = {
  descriptor: AUTHENTICATOR_APP_FACTOR,
  async verify(db, deps, input) {
    const code = typeof input.code === 'string' ? normalizePasscodeInput(input.code) : null;
    if (code === null) return { kind: 'wrong' };
    let replayed = false;
    const methods = input.activeMethods ?? (await listActiveMethods(db, input.user));
    const now = deps.now();
    for (const method of methods) {
      if (method.type !== 'totp' || !method.secret_ciphertext) continue;
      const secret = openSeed(deps, method.id, method.secret_ciphertext);
      if (!secret) continue;
      const result = verifyTotp({
        secret,
        code,
        timeInMilliseconds: now,
        parameters: { algorithm: (method.algorithm ?? 'SHA1') as TotpAlgorithm, digits: method.digits ?? 6, periodInSeconds: method.period_seconds ?? 30 },
        lastUsedStep: method.last_used_step,
      });
      if (!result.ok) {
        replayed ||= result.reason === 'replayed';
        continue;
      }
      // A code is accepted once, even when the same code arrives twice at the same
      // instant. The method must still be active: it may have been read before this
      // transaction locked the person.
      if (await claimTotpStep(db, { id: method.id, step: result.step, now })) return { kind: 'right' };
      replayed = true;
    }
    // A spent code still counts as a failure, but the person is told why it failed.
    return replayed ? { kind: 'wrong', message: 'That passcode was already used. Wait for the next one in your app.' } : { kind: 'wrong' };
  },
};
