// The per-address limit on failed codes (DESIGN.md, API: 100 failed passwords or
// passcodes per 15 minutes per address or IPv6 /64). The attempt is reserved before
// any code is compared and given back unless it turned out a counted failure, so
// parallel guesses cannot all pass a check made before any of them was counted
// (SECURITY.md: reserve first, refund on success).
import { fail, type FailureCode, type Result } from '../domain/failures.js';
import { limitKeyForAddress } from '../domain/network.js';
import type { RequestContext, ServiceDeps } from './deps.js';

const COUNTED_FAILURES: ReadonlySet<FailureCode> = new Set(['invalid_code', 'two_factor_locked']);

export async function underAddressLimit<T>(deps: Pick<ServiceDeps, 'limits'>, context: RequestContext, check: () => Promise<Result<T>>): Promise<Result<T>> {
  const addressKey = limitKeyForAddress(context.ip);
  const reserved = await deps.limits.failuresByAddress.hit(addressKey);
  if (!reserved.allowed) {
    // The store counted the refused hit too, and a refused attempt compared nothing:
    // kept, it would outlive the reservations it met, and a burst of right codes from
    // one address (more than 100 waiting at once) would lock that address out.
    await deps.limits.failuresByAddress.refund(addressKey);
    return fail('rate_limited', { retryAfterSeconds: reserved.retryAfterSeconds });
  }
  let result: Result<T>;
  try {
    result = await check();
  } catch (error) {
    // An outage compared nothing: no failure to count.
    await deps.limits.failuresByAddress.refund(addressKey);
    throw error;
  }
  if (result.ok || !COUNTED_FAILURES.has(result.failure.code)) await deps.limits.failuresByAddress.refund(addressKey);
  return result;
}
