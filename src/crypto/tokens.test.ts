import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hashSecret, issueToken, newId, parseToken, secretMatches } from './tokens.js';

describe('tokens', () => {
  it('issues id.secret tokens that parse back, with only the hash of the secret kept', () => {
    const issued = issueToken();
    const parsed = parseToken(issued.token);
    assert.ok(parsed);
    assert.equal(parsed.id, issued.id);
    assert.equal(issued.secretHash, hashSecret(parsed.secret));
    assert.ok(secretMatches(parsed.secret, issued.secretHash));
    assert.ok(!secretMatches(parseToken(issueToken().token)!.secret, issued.secretHash), "another token's secret does not match");
  });

  it('never repeats an id or a secret', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i += 1) {
      const { token } = issueToken();
      const [id, secret] = token.split('.');
      for (const part of [id!, secret!, newId()]) {
        assert.ok(!seen.has(part), `repeated ${part}`);
        seen.add(part);
      }
    }
    assert.equal(seen.size, 60_000);
  });

  it('draws ids of 128 bits and secrets of 256 bits, in base64url', () => {
    const { id, token } = issueToken();
    assert.match(id, /^[A-Za-z0-9_-]{22}$/);
    assert.match(token.split('.')[1]!, /^[A-Za-z0-9_-]{43}$/);
    assert.match(newId(), /^[A-Za-z0-9_-]{22}$/);
  });

  it('spreads its bits evenly: each base64url character of the ids about equally often', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 20_000; i += 1) for (const char of newId().slice(0, 21)) counts.set(char, (counts.get(char) ?? 0) + 1);
    const expected = (20_000 * 21) / 64;
    assert.equal(counts.size, 64);
    for (const [char, count] of counts) assert.ok(Math.abs(count - expected) < expected * 0.1, `${char}: ${count} against ${expected}`);
  });
});
