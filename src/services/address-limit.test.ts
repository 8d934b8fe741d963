import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fail, ok, type Result } from '../domain/failures.js';
import { LimitStore } from '../limits/limits.js';
import { underAddressLimit } from './address-limit.js';
import type { RequestContext, ServiceDeps } from './deps.js';

const POINTS = 3;
const context: RequestContext = { ip: '203.0.113.7', userAgent: null };

function depsWithAddressLimit(): Pick<ServiceDeps, 'limits'> {
  const failuresByAddress = LimitStore.memory().limiter({ name: 'failures-by-address', points: POINTS, windowInSeconds: 900 });
  return { limits: { failuresByAddress } } as unknown as Pick<ServiceDeps, 'limits'>;
}

/** A check that answers when told to. */
function pending(): { check: () => Promise<Result<string>>; answer: (result: Result<string>) => void } {
  let answer: (result: Result<string>) => void = () => {};
  const promise = new Promise<Result<string>>((resolve) => (answer = resolve));
  return { check: () => promise, answer };
}

describe('underAddressLimit', () => {
  it('refuses attempts beyond the reservations held, and they count for nothing once those succeed', async () => {
    const deps = depsWithAddressLimit();
    const held = Array.from({ length: POINTS }, () => pending());
    const running = held.map((h) => underAddressLimit(deps, context, h.check));
    for (let i = 0; i < POINTS; i++) {
      const refused = await underAddressLimit(deps, context, async () => ok('compared'));
      assert.equal(refused.ok ? 'ok' : refused.failure.code, 'rate_limited');
    }
    for (const h of held) h.answer(ok('right code'));
    for (const result of await Promise.all(running)) assert.equal(result.ok, true);
    const next = await underAddressLimit(deps, context, async () => ok('right code'));
    assert.equal(next.ok, true, 'no failure happened, so the address is not limited');
  });

  it('keeps counting real failures', async () => {
    const deps = depsWithAddressLimit();
    for (let i = 0; i < POINTS; i++) {
      const wrong = await underAddressLimit(deps, context, async () => fail<string>('invalid_code'));
      assert.equal(wrong.ok ? 'ok' : wrong.failure.code, 'invalid_code');
    }
    const refused = await underAddressLimit(deps, context, async () => ok('right code'));
    assert.equal(refused.ok ? 'ok' : refused.failure.code, 'rate_limited');
    const stillRefused = await underAddressLimit(deps, context, async () => ok('right code'));
    assert.equal(stillRefused.ok ? 'ok' : stillRefused.failure.code, 'rate_limited');
  });
});
