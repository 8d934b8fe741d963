// The benchmark's users: user i has the email u<i>@bench.test, one password for all,
// and its own TOTP key derived from a per-run seed. The pool hands out users so that
// each user's code is used at most once per 30-second step (replay protection on the
// server is honoured, never tripped), and never to two flows at once.
import { createHmac, randomBytes } from 'node:crypto';
import { hotp, stepAt } from './totp.js';

export const PASSWORD = 'violet lamp harbour 42 quietly bench';
export const ACCOUNT_SLUG = 'bench';

export function emailOf(index: number): string {
  return `u${index}@bench.test`;
}

export class UserPool {
  private readonly lastStep: Float64Array;
  private readonly busy: Uint8Array;
  private cursor = 0;

  constructor(
    readonly size: number,
    /** The TOTP key of user i, as the authenticator app holds it. */
    readonly keyOf: (index: number) => Buffer,
  ) {
    this.lastStep = new Float64Array(size).fill(-1);
    this.busy = new Uint8Array(size);
  }

  /** The next user that is not busy and whose code was not used in the current step;
   * null when a whole cycle finds none. The user stays busy until release(). */
  take(now = Date.now()): number | null {
    const step = stepAt(now);
    for (let scanned = 0; scanned < this.size; scanned++) {
      const index = this.cursor;
      this.cursor = (this.cursor + 1) % this.size;
      if (this.busy[index] === 0 && this.lastStep[index]! < step) {
        this.busy[index] = 1;
        return index;
      }
    }
    return null;
  }

  /** Takes up to `count` users at once (challenges made beforehand). */
  takeMany(count: number): number[] {
    const taken: number[] = [];
    while (taken.length < count) {
      const index = this.take();
      if (index === null) break;
      taken.push(index);
    }
    return taken;
  }

  /** The code for user i now, or null when this user's code for this step was used. */
  code(index: number, now = Date.now()): string | null {
    const step = stepAt(now);
    if (this.lastStep[index]! >= step) return null;
    this.lastStep[index] = step;
    return hotp(this.keyOf(index), step);
  }

  release(index: number): void {
    this.busy[index] = 0;
  }
}

/** Per-run derivation of user keys: HMAC(seed, label:i), cut to `length` bytes. */
export function keyDeriver(label: string, length: number, seed: Buffer = randomBytes(32)): (index: number) => Buffer {
  return (index) => createHmac('sha256', seed).update(`${label}:${index}`).digest().subarray(0, length);
}
