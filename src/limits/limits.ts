// Counters for abuse limits, on rate-limiter-flexible: in memory for one instance,
// in Redis when several instances must share them (DESIGN.md row 14). A Redis outage
// is an outage, never a pass: limits fail closed.
import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';

export interface LimitSpec {
  /** Distinguishes the counters of different limits in a shared store. */
  name: string;
  /** How many hits the window holds before it blocks. */
  points: number;
  windowInSeconds: number;
}

export interface LimitVerdict {
  allowed: boolean;
  retryAfterSeconds: number;
  /** Hits counted in the window, this one included (0 from `check`). */
  count: number;
}

export class LimitsUnavailableError extends Error {
  override name = 'LimitsUnavailableError';
}

export interface Limiter {
  /** Whether the key is blocked now, without counting anything. `points` (at most the
   * limiter's own) is a lower limit for this key, e.g. an account's own SMS budget. */
  check(key: string, points?: number): Promise<LimitVerdict>;
  /** Counts one hit; the verdict says whether that hit was within the limit. Each hit
   * is counted atomically, so of N parallel hits at most `points` are allowed. */
  hit(key: string, points?: number): Promise<LimitVerdict>;
  /** Gives back one hit: a limit reserved before a check that then succeeded, when
   * only failures count (SECURITY.md: reserve first, refund on success). */
  refund(key: string): Promise<void>;
  /** Blocks the key for the given time, whatever its count. */
  block(key: string, seconds: number): Promise<void>;
  reset(key: string): Promise<void>;
}

function toSeconds(milliseconds: number): number {
  return Math.max(1, Math.ceil(milliseconds / 1000));
}

class FlexibleLimiter implements Limiter {
  constructor(
    private readonly inner: RateLimiterAbstract,
    private readonly points: number,
  ) {}

  async check(key: string, points = this.points): Promise<LimitVerdict> {
    const state = await this.call(() => this.inner.get(key));
    if (state && state.consumedPoints >= Math.min(points, this.points)) return { allowed: false, retryAfterSeconds: toSeconds(state.msBeforeNext), count: 0 };
    return { allowed: true, retryAfterSeconds: 0, count: 0 };
  }

  async hit(key: string, points = this.points): Promise<LimitVerdict> {
    try {
      const state = await this.inner.consume(key);
      // The store counted this hit atomically: its count says whether it is within a
      // lower, per-key limit.
      if (state.consumedPoints > points) return { allowed: false, retryAfterSeconds: toSeconds(state.msBeforeNext), count: state.consumedPoints };
      return { allowed: true, retryAfterSeconds: 0, count: state.consumedPoints };
    } catch (error) {
      if (error instanceof RateLimiterRes) return { allowed: false, retryAfterSeconds: toSeconds(error.msBeforeNext), count: error.consumedPoints };
      throw new LimitsUnavailableError(`limit store unavailable: ${(error as Error)?.message ?? error}`);
    }
  }

  async refund(key: string): Promise<void> {
    await this.call(() => this.inner.reward(key, 1));
  }

  async block(key: string, seconds: number): Promise<void> {
    await this.call(() => this.inner.block(key, seconds));
  }

  async reset(key: string): Promise<void> {
    await this.call(() => this.inner.delete(key));
  }

  private async call<T>(action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      throw new LimitsUnavailableError(`limit store unavailable: ${(error as Error)?.message ?? error}`);
    }
  }
}

export class LimitStore {
  private constructor(
    private readonly redis: Redis | null,
    private readonly keyPrefix: string,
  ) {}

  static memory(): LimitStore {
    return new LimitStore(null, 'tessera');
  }

  static redis(url: string, keyPrefix = 'tessera'): LimitStore {
    // ioredis is loaded only when Redis is configured (bench/README.md, memory).
    const { Redis: RedisClient } = createRequire(import.meta.url)('ioredis') as typeof import('ioredis');
    const client = new RedisClient(url, {
      // Fail fast while Redis is away, so a request answers 503 at once instead of
      // waiting in an offline queue; ioredis keeps reconnecting in the background.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      lazyConnect: false,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    });
    client.on('error', () => {});
    return new LimitStore(client, keyPrefix);
  }

  get shared(): boolean {
    return this.redis !== null;
  }

  limiter(spec: LimitSpec): Limiter {
    const options = { keyPrefix: `${this.keyPrefix}:${spec.name}`, points: spec.points, duration: spec.windowInSeconds };
    const inner = this.redis ? new RateLimiterRedis({ ...options, storeClient: this.redis, rejectIfRedisNotReady: true }) : new RateLimiterMemory(options);
    return new FlexibleLimiter(inner, spec.points);
  }

  async ping(): Promise<void> {
    if (!this.redis) return;
    if (this.redis.status !== 'ready') throw new LimitsUnavailableError(`Redis is ${this.redis.status}`);
    await this.redis.ping();
  }

  async close(): Promise<void> {
    if (this.redis) this.redis.disconnect();
  }
}
