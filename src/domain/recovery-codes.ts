// Recovery codes: 16 Crockford Base32 characters (80 bits), shown as
// `xxxx-xxxx-xxxx-xxxx`. Pure: randomness comes in as a function returning bytes.
// Hashing and single use are the store's job (SECURITY.md, Recovery codes).

export const RECOVERY_CODE_COUNT = 10;

// 16 characters × 5 bits = 80 bits, above the 64 bits SECURITY.md requires
// for each recovery code.
export const RECOVERY_CODE_LENGTH = 16;

const BITS_PER_CHARACTER = 5;
const RECOVERY_CODE_BYTES = (RECOVERY_CODE_LENGTH * BITS_PER_CHARACTER) / 8; // 10

// Crockford Base32 (https://www.crockford.com/base32.html): no I, L, O (they
// look like 1 and 0) and no U (avoids accidental words).
const CROCKFORD_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const CANONICAL_PATTERN = /^[0-9A-HJKMNP-TV-Z]{16}$/;

/**
 * One code in display form. 10 random bytes are read 5 bits at a time, so
 * each character is uniform over the 32 symbols (no modulo bias).
 */
export function generateRecoveryCode(randomBytes: (size: number) => Uint8Array): string {
  const bytes = randomBytes(RECOVERY_CODE_BYTES);
  if (bytes.length !== RECOVERY_CODE_BYTES) {
    throw new RangeError(`randomBytes returned ${bytes.length} bytes, expected ${RECOVERY_CODE_BYTES}`);
  }
  let canonical = '';
  let buffer = 0; // pending bits, at most 12 at a time
  let bufferedBits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xfff;
    bufferedBits += 8;
    while (bufferedBits >= BITS_PER_CHARACTER) {
      bufferedBits -= BITS_PER_CHARACTER;
      canonical += CROCKFORD_ALPHABET[(buffer >>> bufferedBits) & 31];
    }
  }
  return formatRecoveryCode(canonical);
}

/** A set of distinct codes in display form. */
export function generateRecoveryCodes(randomBytes: (size: number) => Uint8Array, count: number = RECOVERY_CODE_COUNT): string[] {
  const codes = new Set<string>();
  // With 80 bits a repeat means the random source is broken; stop rather than loop forever.
  const maxAttempts = count * 2 + 10;
  for (let attempt = 0; codes.size < count; attempt++) {
    if (attempt >= maxAttempts) throw new Error('randomBytes keeps repeating itself');
    codes.add(generateRecoveryCode(randomBytes));
  }
  return [...codes];
}

/**
 * What a person typed → canonical 16 upper-case characters, or null.
 * Forgiving like Crockford decoding: any case; spaces, dashes and
 * underscores ignored; O read as 0, I and L as 1. Never throws.
 */
export function normalizeRecoveryCode(raw: string): string | null {
  // Bound the work on hostile input; a real code with separators is ~20 chars.
  if (typeof raw !== 'string' || raw.length > 64) return null;
  const compact = raw.replace(/[\s\p{Pd}_]/gu, '');
  // ASCII check before upper-casing: 'ı'.toUpperCase() is 'I' and 'ſ' is 'S'.
  if (!/^[0-9A-Za-z]*$/.test(compact)) return null;
  const canonical = compact.toUpperCase().replace(/O/g, '0').replace(/[IL]/g, '1');
  return CANONICAL_PATTERN.test(canonical) ? canonical : null;
}

/** Canonical "ABCD…" → display "abcd-efgh-jkmn-pqrs". */
export function formatRecoveryCode(canonical: string): string {
  if (!CANONICAL_PATTERN.test(canonical)) {
    throw new TypeError('formatRecoveryCode expects a canonical recovery code');
  }
  return (canonical.toLowerCase().match(/.{4}/g) ?? []).join('-');
}
