// Seeding helper thread: the per-user cryptography (ids, the AES-GCM-sealed TOTP seed,
// ten recovery codes and their HMACs) with Tessera's own functions, so the main thread
// only inserts rows. Loads Tessera's TypeScript through tsx's API.
import { createHmac, randomBytes } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { tsImport } from 'tsx/esm/api';

const src = (path) => tsImport(new URL(`../../src/${path}`, import.meta.url).href, import.meta.url);
const { loadKeyRing } = await src('crypto/keys.ts');
const { encryptSecret, sealedPlace } = await src('crypto/secret-box.ts');
const { generateRecoveryCodes, normalizeRecoveryCode } = await src('domain/recovery-codes.ts');
const { recoveryCodeHmac } = await src('services/second-factor.ts');

const { encryptionKeys, hmacKey, seed, label, seedBytes } = workerData;
const ring = loadKeyRing({ dataDir: '/nonexistent', encryptionKeys, hmacKey });
const seedKey = Buffer.from(seed, 'base64');

let pool = Buffer.alloc(0);
let offset = 0;
const bytes = (size) => {
  if (offset + size > pool.length) {
    pool = randomBytes(1 << 16);
    offset = 0;
  }
  offset += size;
  return pool.subarray(offset - size, offset);
};
const id = () => bytes(16).toString('base64url');

parentPort.on('message', ({ from, to }) => {
  // Per user: user id, method id, sealed seed, then 10 × (code id, code HMAC).
  const out = [];
  for (let index = from; index < to; index++) {
    const key = createHmac('sha256', seedKey).update(`${label}:${index}`).digest().subarray(0, seedBytes);
    const methodId = id();
    out.push(id(), methodId, encryptSecret(ring, key.toString('base64'), sealedPlace('two_factor_methods', 'secret_ciphertext', methodId)));
    for (const code of generateRecoveryCodes(bytes, 10)) out.push(id(), recoveryCodeHmac(ring, normalizeRecoveryCode(code)));
  }
  parentPort.postMessage({ from, to, out });
});
parentPort.postMessage({ ready: true });
