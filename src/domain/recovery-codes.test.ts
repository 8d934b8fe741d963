import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import {
  RECOVERY_CODE_COUNT,
  RECOVERY_CODE_LENGTH,
  formatRecoveryCode,
  generateRecoveryCode,
  generateRecoveryCodes,
  normalizeRecoveryCode,
} from './recovery-codes.js';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const DISPLAY_PATTERN = /^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$/;

/** A fake source that hands out the given byte arrays in turn. */
function bytesFrom(...chunks: Uint8Array[]): (size: number) => Uint8Array {
  let next = 0;
  return (size) => {
    const chunk = chunks[next++ % chunks.length]!;
    assert.equal(size, chunk.length);
    return chunk;
  };
}

/** Independent reference encoder: the 80 bits as a BigInt, read 5 bits at a time. */
function referenceEncode(bytes: Uint8Array): string {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  let out = '';
  for (let shift = 75n; shift >= 0n; shift -= 5n) out += ALPHABET[Number((value >> shift) & 31n)];
  return out;
}

describe('constants', () => {
  it('gives ten codes of 16 characters, at least 64 bits each', () => {
    assert.equal(RECOVERY_CODE_COUNT, 10);
    assert.equal(RECOVERY_CODE_LENGTH, 16);
    assert.ok(RECOVERY_CODE_LENGTH * Math.log2(ALPHABET.length) >= 64);
    assert.equal(RECOVERY_CODE_LENGTH * Math.log2(ALPHABET.length), 80);
  });
});

describe('generateRecoveryCode', () => {
  it('asks for exactly 10 bytes (80 bits) and uses all of them', () => {
    const sizes: number[] = [];
    const code = generateRecoveryCode((size) => {
      sizes.push(size);
      return new Uint8Array(size);
    });
    assert.deepEqual(sizes, [10]);
    assert.equal(code, '0000-0000-0000-0000');
  });

  it('encodes 5 bits per character in Crockford order', () => {
    // Bits 00000 00001 … 01111, then 10000 … 11111: every symbol once.
    const first = Uint8Array.from([0x00, 0x44, 0x32, 0x14, 0xc7, 0x42, 0x54, 0xb6, 0x35, 0xcf]);
    const second = Uint8Array.from([0x84, 0x65, 0x3a, 0x56, 0xd7, 0xc6, 0x75, 0xbe, 0x77, 0xdf]);
    assert.equal(generateRecoveryCode(bytesFrom(first)), '0123-4567-89ab-cdef');
    assert.equal(generateRecoveryCode(bytesFrom(second)), 'ghjk-mnpq-rstv-wxyz');
    assert.equal(generateRecoveryCode(bytesFrom(new Uint8Array(10).fill(0xff))), 'zzzz-zzzz-zzzz-zzzz');
  });

  it('matches an independent encoder for any 10 bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 10, maxLength: 10 }), (bytes) => {
        assert.equal(normalizeRecoveryCode(generateRecoveryCode(bytesFrom(bytes))), referenceEncode(bytes));
      }),
    );
  });

  it('refuses a random source that returns the wrong number of bytes', () => {
    assert.throws(() => generateRecoveryCode(() => new Uint8Array(8)));
  });
});

describe('generateRecoveryCodes', () => {
  it('gives RECOVERY_CODE_COUNT codes by default', () => {
    const codes = generateRecoveryCodes(randomBytes);
    assert.equal(codes.length, RECOVERY_CODE_COUNT);
  });

  it('gives distinct, well-formed codes over a few thousand draws', () => {
    const codes = generateRecoveryCodes(randomBytes, 5000);
    assert.equal(codes.length, 5000);
    assert.equal(new Set(codes).size, 5000);
    for (const code of codes) {
      assert.match(code, DISPLAY_PATTERN);
      assert.equal(code.replace(/-/g, '').length, RECOVERY_CODE_LENGTH);
    }
  });

  it('uses every symbol of the alphabet and nothing else', () => {
    const seen = new Set(generateRecoveryCodes(randomBytes, 500).join('').replace(/-/g, '').toUpperCase());
    assert.deepEqual([...seen].sort().join(''), ALPHABET);
  });

  it('skips a repeated draw so the set stays distinct', () => {
    const a = new Uint8Array(10).fill(1);
    const b = new Uint8Array(10).fill(2);
    const codes = generateRecoveryCodes(bytesFrom(a, a, b), 2);
    assert.equal(new Set(codes).size, 2);
  });

  it('fails instead of looping forever on a stuck random source', () => {
    assert.throws(() => generateRecoveryCodes(() => new Uint8Array(10), 3));
  });
});

describe('normalizeRecoveryCode', () => {
  const canonical = '0123456789ABCDEF';
  const accepted: Array<[string, string]> = [
    ['0123-4567-89ab-cdef', canonical],
    ['0123456789ABCDEF', canonical],
    ['0123456789abcdef', canonical],
    ['0123 4567 89AB CDEF', canonical],
    ['  0123_4567_89ab_cdef\n', canonical],
    ['0123\u20134567\u201489ab-cdef', canonical], // en/em dashes from a word processor
    ['O123-4567-89ab-cdef', canonical], // O read as 0
    ['o123-4567-89ab-cdef', canonical],
    ['0I23-4567-89ab-cdef', canonical], // I read as 1
    ['0i23-4567-89ab-cdef', canonical],
    ['0L23-4567-89ab-cdef', canonical], // L read as 1
    ['0l23-4567-89ab-cdef', canonical],
    ['ghjk-mnpq-rstv-wxyz', 'GHJKMNPQRSTVWXYZ'],
  ];
  for (const [raw, expected] of accepted) {
    it(`${JSON.stringify(raw)} → ${expected}`, () => {
      assert.equal(normalizeRecoveryCode(raw), expected);
    });
  }

  const refused = [
    '',
    '0123-4567-89ab-cde', // 15
    '0123-4567-89ab-cdef0', // 17
    '0123-4567-89ab-cdeu', // U is not Crockford
    '0123-4567-89ab-cde!',
    '0123.4567.89ab.cdef',
    '0123-4567-89ab-cde\u0000',
    '0123-4567-89ab-cde🙂',
    '0123-4567-89ab-cde\u0131', // dotless ı upper-cases to I
    '0123-4567-89ab-cdeſ', // long s upper-cases to S
    '０１２３４５６７８９ＡＢＣＤＥＦ', // full-width
    'x'.repeat(100_000),
  ];
  for (const raw of refused) {
    it(`refuses ${JSON.stringify(raw.slice(0, 24))}`, () => {
      assert.equal(normalizeRecoveryCode(raw), null);
    });
  }

  it('refuses non-strings instead of throwing', () => {
    assert.equal(normalizeRecoveryCode(undefined as unknown as string), null);
    assert.equal(normalizeRecoveryCode(42 as unknown as string), null);
  });

  it('never throws, and only ever returns a canonical code', () => {
    const anyString = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit)) }), // lone surrogates too
      fc.string({ unit: fc.constantFrom(...'0123456789abcdefghijklmnopqrstuvwxyzOIL -_'), maxLength: 24 }),
    );
    fc.assert(
      fc.property(anyString, (raw) => {
        const result = normalizeRecoveryCode(raw);
        assert.ok(result === null || /^[0-9A-HJKMNP-TV-Z]{16}$/.test(result));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('formatRecoveryCode', () => {
  it('lower-cases and groups by four', () => {
    assert.equal(formatRecoveryCode('0123456789ABCDEF'), '0123-4567-89ab-cdef');
  });

  it('refuses a non-canonical input (a bug in the caller)', () => {
    assert.throws(() => formatRecoveryCode('0123-4567-89ab-cdef'));
    assert.throws(() => formatRecoveryCode('0123456789abcdef'));
  });

  it('round-trips: normalize(format(canonical)) === canonical', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 10, maxLength: 10 }), (bytes) => {
        const display = generateRecoveryCode(bytesFrom(bytes));
        const canonical = normalizeRecoveryCode(display);
        assert.ok(canonical !== null);
        assert.equal(formatRecoveryCode(canonical), display);
        assert.equal(normalizeRecoveryCode(formatRecoveryCode(canonical)), canonical);
        assert.equal(normalizeRecoveryCode(display.toUpperCase().replace(/-/g, ' ')), canonical);
      }),
    );
  });
});
