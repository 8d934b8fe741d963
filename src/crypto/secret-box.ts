// AES-256-GCM with a fresh 96-bit nonce per value (NIST SP 800-38D §8.2.2) and the
// key id stored beside the ciphertext, so keys can be rotated. Each value is bound to
// where it is stored (its table, column and row) as associated data: a value copied
// into another row or column, by anyone who can write to the database, fails to open
// instead of handing one person's secret to another.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { KeyRing } from './keys.js';

/** v2 binds the value to its place; v1 (no associated data) is still read, and key
 * rotation rewrites it as v2. */
const VERSION = 'v2';
const LEGACY_VERSION = 'v1';

/** Where a sealed value is stored, as its associated data. */
export function sealedPlace(table: string, column: string, rowId: string): string {
  return `${table}.${column}.${rowId}`;
}

export function encryptSecret(ring: KeyRing, plaintext: string, place: string): string {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', ring.active.key, nonce);
  cipher.setAAD(Buffer.from(place, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [VERSION, ring.active.id, nonce.toString('base64url'), tag.toString('base64url'), ciphertext.toString('base64url')].join('.');
}

function keyIdOf(sealed: string): string | null {
  const parts = sealed.split('.');
  return parts.length === 5 && (parts[0] === VERSION || parts[0] === LEGACY_VERSION) ? (parts[1] ?? null) : null;
}

/** Whether a value is sealed as new values are: under the active key, bound to its place. */
export function isCurrent(ring: KeyRing, sealed: string): boolean {
  return sealed.startsWith(`${VERSION}.`) && keyIdOf(sealed) === ring.active.id;
}

export function decryptSecret(ring: KeyRing, sealed: string, place: string): string {
  const [version, keyId, nonce, tag, ciphertext] = sealed.split('.');
  if ((version !== VERSION && version !== LEGACY_VERSION) || !keyId || nonce === undefined || tag === undefined || ciphertext === undefined) {
    throw new Error('sealed value has an unknown format');
  }
  const key = ring.byId.get(keyId);
  if (!key) throw new Error(`no encryption key with id "${keyId}"`);
  const decipher = createDecipheriv('aes-256-gcm', key.key, Buffer.from(nonce, 'base64url'));
  if (version === VERSION) decipher.setAAD(Buffer.from(place, 'utf8'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
}
