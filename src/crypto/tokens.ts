// Tokens are `id.secret` (Lucia's session guide): the id finds the row, only a
// SHA-256 of the secret is stored, and the comparison takes constant time.
import { createHash, createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

export interface IssuedToken {
  id: string;
  secretHash: string;
  /** The value handed to the client once; never stored. */
  token: string;
}

const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let poolUsed = 0;

/** `bytes` from the CSPRNG as base64url, drawn from a 4 KiB buffer refilled in one
 * call (crypto.randomUUID caches its entropy the same way). Each byte is handed out
 * once and then wiped from the buffer. Kept because bench/ measured it: with a call
 * into the CSPRNG per token the second step of sign-in ran about 1,540 instead of
 * 1,640 verifications/s (quick runs, 2 cores, issue 18), and with the sign-in flow's
 * own work that left it more than the allowed 10% below its earlier rate. */
function randomBase64url(bytes: number): string {
  if (poolUsed + bytes > pool.length) {
    pool = randomBytes(POOL_BYTES);
    poolUsed = 0;
  }
  const text = pool.toString('base64url', poolUsed, poolUsed + bytes);
  pool.fill(0, poolUsed, poolUsed + bytes);
  poolUsed += bytes;
  return text;
}

/** 256 random bits of secret (DESIGN.md row 1), plus a 128-bit id for the lookup. */
export function issueToken(): IssuedToken {
  const id = randomBase64url(16);
  const secret = randomBase64url(32);
  return { id, secretHash: hashSecret(secret), token: `${id}.${secret}` };
}

/** An OpenID Connect client secret: 256 random bits, handed to the admin once; only
 * its SHA-256 is stored (a client authenticates with client_secret_basic or _post). */
export function issueClientSecret(): { secret: string; secretHash: string } {
  const secret = randomBytes(32).toString('base64url');
  return { secret, secretHash: hashSecret(secret) };
}

export function parseToken(token: unknown): { id: string; secret: string } | null {
  if (typeof token !== 'string' || token.length > 200) return null;
  const match = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!match) return null;
  return { id: match[1]!, secret: match[2]! };
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function secretMatches(secret: string, storedHash: string): boolean {
  const actual = Buffer.from(hashSecret(secret), 'hex');
  const expected = Buffer.from(storedHash, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

export function hmacHex(key: Buffer, value: string): string {
  return createHmac('sha256', key).update(value).digest('hex');
}

export function constantTimeEqualHex(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && left.length > 0 && timingSafeEqual(left, right);
}

/** A 6-digit numeric code from the CSPRNG (SMS and email confirmation codes). */
export function newNumericCode(): string {
  return randomInt(0, 1_000_000).toString().padStart(6, '0');
}

export function newId(): string {
  return randomBase64url(16);
}

/** An API token (DESIGN.md, Automation): `tsr_`, a 128-bit id, then 256 bits of secret,
 * one word a secret scanner can match by its prefix. Only the secret's SHA-256 is kept. */
export function issueApiToken(): IssuedToken {
  const id = randomBase64url(16);
  const secret = randomBase64url(32);
  return { id, secretHash: hashSecret(secret), token: `tsr_${id}${secret}` };
}

export function parseApiToken(token: unknown): { id: string; secret: string } | null {
  if (typeof token !== 'string' || token.length !== 69) return null;
  const match = /^tsr_([A-Za-z0-9_-]{22})([A-Za-z0-9_-]{43})$/.exec(token);
  return match ? { id: match[1]!, secret: match[2]! } : null;
}

export function looksLikeApiToken(token: unknown): boolean {
  return typeof token === 'string' && token.startsWith('tsr_');
}
