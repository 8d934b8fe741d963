import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { decryptSecret, encryptSecret, isCurrent, sealedPlace } from './secret-box.js';
import type { KeyRing } from './keys.js';

const key = { id: 'k1', key: randomBytes(32) };
const ring: KeyRing = { active: key, byId: new Map([[key.id, key]]), hmacKey: randomBytes(32) };
const place = sealedPlace('two_factor_methods', 'secret_ciphertext', 'row-1');

describe('secret box', () => {
  it('opens a value where it was sealed, and nowhere else', () => {
    const sealed = encryptSecret(ring, 'JBSWY3DPEHPK3PXP', place);
    assert.match(sealed, /^v2\.k1\./);
    assert.equal(decryptSecret(ring, sealed, place), 'JBSWY3DPEHPK3PXP');
    assert.throws(() => decryptSecret(ring, sealed, sealedPlace('two_factor_methods', 'secret_ciphertext', 'row-2')));
    assert.throws(() => decryptSecret(ring, sealed, sealedPlace('two_factor_methods', 'phone_ciphertext', 'row-1')));
    assert.ok(isCurrent(ring, sealed));
  });

  it('still opens a v1 value (sealed before values were bound to their place), which is not current', () => {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key.key, nonce);
    const ciphertext = Buffer.concat([cipher.update('+15005550006', 'utf8'), cipher.final()]);
    const legacy = ['v1', 'k1', nonce.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
    assert.equal(decryptSecret(ring, legacy, place), '+15005550006');
    assert.equal(isCurrent(ring, legacy), false, 'key rotation rewrites it bound to its place');
  });
});
