// The keys that sign ID tokens and back-channel logout tokens (DESIGN.md, OpenID
// Connect): ES256, and RS256 for older apps. Generated on first start, the private half
// sealed under the key ring. A rotation adds a key that is published at once but signs
// only from `signs_from` (apps refresh their copy of the key set first), and withdraws
// the keys it replaces after the longest lifetime of a token they signed.
import type { JWK } from 'jose';
import { LOGOUT_TOKEN_TYPE, logoutTokenClaims, type LogoutTokenSubject } from '../domain/logout-token.js';
import { randomBytes } from 'node:crypto';
import { decryptSecret, encryptSecret, sealedPlace } from '../crypto/secret-box.js';
import type { Database } from '../store/schema.js';
import {
  deleteWithdrawnSigningKeys,
  insertSigningKey,
  listLiveSigningKeys,
  lockSigningKeys,
  scheduleSigningKeyRetirement,
} from '../store/oidc-signing-keys.js';
import type { Dialect } from '../store/database.js';
import type { Kysely } from 'kysely';
import type { KeyRing } from '../crypto/keys.js';

export const SIGNING_ALGORITHMS = ['ES256', 'RS256'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

/** A new key is published this long before it signs: every instance reloads its key
 * set each minute, and apps refetch a key set when they meet an unknown key id. */
export const PUBLISH_AHEAD_IN_MILLISECONDS = 10 * 60 * 1000;
/** A replaced key stays published this long after it last signed: an ID token lives an
 * hour, a logout token minutes. */
export const KEEP_PUBLISHED_IN_MILLISECONDS = 24 * 60 * 60 * 1000;

export interface SigningKeySet {
  /** Private JWKs for oidc-provider, the signing key of each algorithm first. */
  keys: JWK[];
  /** Changes whenever the set or the key that signs changes. */
  fingerprint: string;
}

async function newKey(db: Kysely<Database>, ring: KeyRing, alg: SigningAlgorithm, now: number, signsFrom: number): Promise<void> {
  const id = randomBytes(12).toString('base64url');
  // jose loads when a key is made or used, not at start (memory: bench/README.md).
  const { exportJWK, generateKeyPair } = await import('jose');
  const { publicKey, privateKey } = await generateKeyPair(alg, alg === 'RS256' ? { extractable: true, modulusLength: 2048 } : { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid: id, alg, use: 'sig' };
  const privateJwk = { ...(await exportJWK(privateKey)), kid: id, alg, use: 'sig' };
  await insertSigningKey(db, {
    id,
    alg,
    public_jwk: JSON.stringify(publicJwk),
    private_key_ciphertext: encryptSecret(ring, JSON.stringify(privateJwk), sealedPlace('oidc_signing_keys', 'private_key_ciphertext', id)),
    created_at: now,
    signs_from: signsFrom,
    retires_at: null,
  });
}

/** On first start (or after every key was withdrawn): one key per algorithm, signing at
 * once. Safe to run from several instances: a second set would only be published too. */
export async function ensureSigningKeys(db: Kysely<Database>, dialect: Dialect, ring: KeyRing, now: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await lockSigningKeys(trx, dialect);
    const live = await listLiveSigningKeys(trx, now);
    for (const alg of SIGNING_ALGORITHMS) {
      if (!live.some((key) => key.alg === alg)) await newKey(trx, ring, alg, now, now);
    }
  });
}

/** Adds the next key of each algorithm and schedules the ones it replaces for withdrawal. */
export async function rotateSigningKeys(db: Kysely<Database>, ring: KeyRing, now: number): Promise<{ added: number; retiring: number }> {
  return db.transaction().execute(async (trx) => {
    const live = await listLiveSigningKeys(trx, now);
    const signsFrom = now + PUBLISH_AHEAD_IN_MILLISECONDS;
    for (const alg of SIGNING_ALGORITHMS) await newKey(trx, ring, alg, now, signsFrom);
    const replaced = live.map((key) => key.id);
    await scheduleSigningKeyRetirement(trx, replaced, signsFrom + KEEP_PUBLISHED_IN_MILLISECONDS);
    await deleteWithdrawnSigningKeys(trx, now);
    return { added: SIGNING_ALGORITHMS.length, retiring: replaced.length };
  });
}

/** The key set as of `now`: per algorithm, the newest key whose time to sign has come
 * signs; the others are published for checking tokens. */
export async function loadSigningKeySet(db: Kysely<Database>, ring: KeyRing, now: number): Promise<SigningKeySet> {
  const live = await listLiveSigningKeys(db, now);
  const signing = SIGNING_ALGORITHMS.map((alg) => live.find((key) => key.alg === alg && key.signs_from <= now)).filter((key) => key !== undefined);
  const ordered = [...signing, ...live.filter((key) => !signing.includes(key))];
  const keys = ordered.map(
    (key) => JSON.parse(decryptSecret(ring, key.private_key_ciphertext, sealedPlace('oidc_signing_keys', 'private_key_ciphertext', key.id))) as JWK,
  );
  return { keys, fingerprint: `${signing.map((key) => key.id).join(',')}|${ordered.map((key) => key.id).join(',')}` };
}

/** Signs a back-channel logout token (OpenID Connect Back-Channel Logout 1.0 §2.4)
 * with the key that signs ID tokens now (ES256, as the apps' ID tokens). */
export function logoutTokenSigner(deps: { db: Kysely<Database>; dialect: Dialect; keys: KeyRing; now: () => number; issuer: string }) {
  return async (subject: LogoutTokenSubject): Promise<string> => {
    const now = deps.now();
    let keySet = await loadSigningKeySet(deps.db, deps.keys, now);
    if (!keySet.keys.some((key) => key.alg === 'ES256')) {
      await ensureSigningKeys(deps.db, deps.dialect, deps.keys, now);
      keySet = await loadSigningKeySet(deps.db, deps.keys, now);
    }
    const jwk = keySet.keys.find((key) => key.alg === 'ES256');
    if (!jwk) throw new Error('no signing key');
    const claims = logoutTokenClaims(subject, { issuer: deps.issuer, nowInMilliseconds: now, jti: randomBytes(16).toString('base64url') });
    const { SignJWT, importJWK } = await import('jose');
    return new SignJWT({ ...claims }).setProtectedHeader({ alg: 'ES256', kid: jwk.kid!, typ: LOGOUT_TOKEN_TYPE }).sign(await importJWK(jwk, 'ES256'));
  };
}
