// AES-256-GCM with a fresh 96-bit nonce per value (NIST SP 800-38D §8.2.2) and the
// key id stored beside the ciphertext, so keys can be rotated.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { KeyRing } from './keys.js';

const VERSION = 'v1';

export function encryptSecret(ring: KeyRing, plaintext: string): string {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', ring.active.key, nonce);
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [VERSION, ring.active.id, nonce.toString('base64url'), tag.toString('base64url'), ciphertext.toString('base64url')].join('.');
}

export function keyIdOf(sealed: string): string | null {
  const parts = sealed.split('.');
  return parts.length === 5 && parts[0] === VERSION ? (parts[1] ?? null) : null;
}

export function decryptSecret(ring: KeyRing, sealed: string): string {
  const [version, keyId, nonce, tag, ciphertext] = sealed.split('.');
  if (version !== VERSION || !keyId || nonce === undefined || tag === undefined || ciphertext === undefined) {
    throw new Error('sealed value has an unknown format');
  }
  const key = ring.byId.get(keyId);
  if (!key) throw new Error(`no encryption key with id "${keyId}"`);
  const decipher = createDecipheriv('aes-256-gcm', key.key, Buffer.from(nonce, 'base64url'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
}
