// argon2id with OWASP's minimum parameters (Password Storage Cheat Sheet: m=19 MiB,
// t=2, p=1). Hashing runs on libuv's thread pool; a semaphore caps how many run at
// once so a burst of sign-ins queues instead of starving every other request.
import { availableParallelism } from 'node:os';
import { hash, verify } from '@node-rs/argon2';

// `Algorithm` is a const enum, which verbatimModuleSyntax cannot import: 2 is Argon2id.
const ARGON2ID = 2;
const OPTIONS = { algorithm: ARGON2ID, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/** Too many password checks are already waiting: answer 503 rather than queue without
 * bound (an overload must not turn into minutes of latency for everyone). */
export class HashingOverloadedError extends Error {
  override name = 'HashingOverloadedError';
}

class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(
    private readonly limit: number,
    private readonly maxWaiting: number,
  ) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) {
      if (this.waiting.length >= this.maxWaiting) throw new HashingOverloadedError('too many password checks waiting');
      // The finishing task hands its slot over directly, so `active` never overshoots.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active += 1;
    }
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active -= 1;
    }
  }
}

/** Waiting checks allowed per hashing slot: at ~20 ms a check, about a second of queue. */
const WAITING_PER_SLOT = 48;

export class PasswordHasher {
  private readonly semaphore: Semaphore;
  private dummyHash: Promise<string> | null = null;

  constructor(concurrency = 0) {
    const slots = concurrency > 0 ? concurrency : availableParallelism();
    this.semaphore = new Semaphore(slots, slots * WAITING_PER_SLOT);
  }

  hash(password: string): Promise<string> {
    return this.semaphore.run(() => hash(password, OPTIONS));
  }

  async verify(storedHash: string, password: string): Promise<boolean> {
    return this.semaphore.run(async () => {
      try {
        return await verify(storedHash, password);
      } catch {
        return false;
      }
    });
  }

  /** Spends the same time as a real verification, for unknown users, so the answer
   * time does not tell whether an email exists (DESIGN.md row 1). */
  async verifyDummy(password: string): Promise<false> {
    this.dummyHash ??= hash('tessera-dummy-password', OPTIONS);
    await this.verify(await this.dummyHash, password);
    return false;
  }
}
