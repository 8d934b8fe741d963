import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HashingOverloadedError, PasswordHasher } from './passwords.js';

describe('password hashing', () => {
  it('argon2id with m=19456 KiB, t=2, p=1; verifies the right password only', async () => {
    const hasher = new PasswordHasher(1);
    const stored = await hasher.hash('correct horse battery staple');
    assert.match(stored, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert.equal(await hasher.verify(stored, 'correct horse battery staple'), true);
    assert.equal(await hasher.verify(stored, 'correct horse battery stapler'), false);
    assert.equal(await hasher.verify('not a hash', 'x'), false);
    assert.equal(await hasher.verifyDummy('anything'), false);
  });

  it('queues a bounded number of checks and refuses the rest instead of waiting without end', async () => {
    const hasher = new PasswordHasher(1);
    const stored = await hasher.hash('correct horse battery staple');
    const results = await Promise.allSettled(Array.from({ length: 60 }, () => hasher.verify(stored, 'wrong password')));
    const refused = results.filter((r) => r.status === 'rejected');
    assert.equal(refused.length, 60 - 1 - 48, 'one running, 48 waiting, the rest refused');
    for (const r of refused) assert.ok((r as PromiseRejectedResult).reason instanceof HashingOverloadedError);
    // Once the queue drains, checks are accepted again.
    assert.equal(await hasher.verify(stored, 'correct horse battery staple'), true);
  });
});
