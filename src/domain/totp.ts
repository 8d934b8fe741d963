// TOTP (RFC 6238) over HOTP (RFC 4226). Pure: the clock comes in as
// `timeInMilliseconds` and the seed as bytes; nothing here stores anything.
// Truncation and HMAC are otpauth's; this file decides steps, windows and replay.
import { timingSafeEqual } from 'node:crypto';
import { HOTP, Secret } from 'otpauth';

export type TotpAlgorithm = 'SHA1' | 'SHA256' | 'SHA512';

export interface TotpParameters {
  algorithm: TotpAlgorithm;
  digits: number;
  periodInSeconds: number;
}

// SHA1 / 6 digits / 30 s: RFC 6238 §4 defaults (X = 30 s, §5.2 recommends it),
// and the only combination every authenticator app supports; several apps
// silently ignore `algorithm`, `digits` and `period` in the otpauth URI.
export const DEFAULT_TOTP_PARAMETERS: TotpParameters = Object.freeze({
  algorithm: 'SHA1',
  digits: 6,
  periodInSeconds: 30,
});

// RFC 4226 §4 (R6): shared secret of 160 bits recommended.
export const TOTP_SECRET_BYTES = 20;

// RFC 6238 §5.2: at most one time step of network delay / clock drift either way.
const DEFAULT_WINDOW_IN_STEPS = 1;

const ALGORITHMS: readonly TotpAlgorithm[] = ['SHA1', 'SHA256', 'SHA512'];

// Parameters come from our own storage or config, so a bad value is a bug:
// throw instead of answering "invalid" for every code.
function assertValidParameters(parameters: TotpParameters): void {
  if (!ALGORITHMS.includes(parameters.algorithm)) {
    throw new TypeError(`Unsupported TOTP algorithm: ${String(parameters.algorithm)}`);
  }
  // RFC 4226 §5.3: at least 6 digits, "possibly 7 and 8".
  if (!Number.isInteger(parameters.digits) || parameters.digits < 6 || parameters.digits > 8) {
    throw new RangeError(`TOTP digits must be 6, 7 or 8, got ${parameters.digits}`);
  }
  if (!Number.isInteger(parameters.periodInSeconds) || parameters.periodInSeconds <= 0) {
    throw new RangeError(`TOTP period must be a positive integer, got ${parameters.periodInSeconds}`);
  }
}

function toOtpauthSecret(secret: Uint8Array): Secret {
  // Copy: otpauth's Secret wraps the whole ArrayBuffer it is given, and a view (a
  // Node Buffer from the shared pool, a subarray) holds other bytes too. Not
  // `secret.slice()`: Buffer#slice returns a view, not a copy.
  return new Secret({ buffer: Uint8Array.from(secret).buffer });
}

/** RFC 4648 Base32, upper case, without "=" padding (Key Uri Format). */
export function encodeSecretBase32(secret: Uint8Array): string {
  return toOtpauthSecret(secret).base32.replace(/=+$/, '');
}

/** "JBSWY3DPEHPK3PXP" → "JBSW Y3DP EHPK 3PXP", easier to type by hand. */
export function formatSecretForManualEntry(base32: string): string {
  return (base32.replace(/\s+/g, '').match(/.{1,4}/g) ?? []).join(' ');
}

// Google's Key Uri Format forbids a colon in the issuer or account name (it
// separates them in the label, even URL-encoded as %3A). We replace each ":"
// with a space rather than dropping it, so "Acme:Ops" stays readable as
// "Acme Ops", then collapse the whitespace this may create. Lone UTF-16
// surrogates become U+FFFD because encodeURIComponent throws on them.
function sanitizeLabelPart(value: string): string {
  return value
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
    .replace(/:/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * `otpauth://totp/<Issuer>:<account>?secret=…&issuer=<Issuer>&algorithm=…&digits=…&period=…`
 * (Google Authenticator Key Uri Format): issuer both as label prefix and
 * parameter, as the format recommends, each part URL-encoded.
 */
export function buildOtpauthUri(input: { issuer: string; accountName: string; secret: Uint8Array; parameters?: TotpParameters }): string {
  const parameters = input.parameters ?? DEFAULT_TOTP_PARAMETERS;
  assertValidParameters(parameters);
  const issuer = sanitizeLabelPart(input.issuer);
  const accountName = sanitizeLabelPart(input.accountName);
  if (issuer === '' || accountName === '') {
    throw new TypeError('otpauth URI needs a non-empty issuer and account name');
  }
  const e = encodeURIComponent;
  return (
    `otpauth://totp/${e(issuer)}:${e(accountName)}` +
    `?secret=${encodeSecretBase32(input.secret)}` +
    `&issuer=${e(issuer)}` +
    `&algorithm=${parameters.algorithm}` +
    `&digits=${parameters.digits}` +
    `&period=${parameters.periodInSeconds}`
  );
}

/** RFC 4226 §5.3 HOTP value for one counter, computed by otpauth. */
export function generateHotp(secret: Uint8Array, counter: number, parameters: TotpParameters): string {
  assertValidParameters(parameters);
  if (!Number.isSafeInteger(counter) || counter < 0) {
    throw new RangeError(`HOTP counter must be a non-negative integer, got ${counter}`);
  }
  return HOTP.generate({
    secret: toOtpauthSecret(secret),
    algorithm: parameters.algorithm,
    digits: parameters.digits,
    counter,
  });
}

// RFC 6238 §4.2: T = floor((Current Unix time - T0) / X), with T0 = 0.
// One division of integers in milliseconds, so exact step boundaries are exact.
function timeStep(timeInMilliseconds: number, parameters: TotpParameters): number {
  if (!Number.isFinite(timeInMilliseconds) || timeInMilliseconds < 0) {
    throw new RangeError(`Invalid time: ${timeInMilliseconds}`);
  }
  return Math.floor(timeInMilliseconds / (parameters.periodInSeconds * 1000));
}

export function generateTotp(secret: Uint8Array, timeInMilliseconds: number, parameters: TotpParameters): string {
  assertValidParameters(parameters);
  return generateHotp(secret, timeStep(timeInMilliseconds, parameters), parameters);
}

/**
 * What a person typed → the code to verify. Drops spaces, dashes and any
 * other whitespace ("123 456", "123-456"); returns null unless exactly
 * `digits` ASCII digits remain (full-width digits and the like are refused).
 */
export function normalizePasscodeInput(raw: string, digits: number = DEFAULT_TOTP_PARAMETERS.digits): string | null {
  // Bound the work done on hostile input before running any regex over it.
  if (typeof raw !== 'string' || raw.length > 64) return null;
  const compact = raw.replace(/[\s\p{Pd}]/gu, '');
  return compact.length === digits && /^[0-9]+$/.test(compact) ? compact : null;
}

export type TotpVerification = { ok: true; step: number } | { ok: false; reason: 'invalid' | 'replayed' };

const encoder = new TextEncoder();

/**
 * Checks `code` (already normalized: exactly `digits` ASCII digits) against
 * steps T-w … T+w. On success returns the matched absolute step, which the
 * caller must store as the new `lastUsedStep` with a compare-and-set.
 * `replayed` means the code was right but not newer than `lastUsedStep`
 * (RFC 6238 §5.2: a code is accepted once, never an older one after a newer
 * one); callers should treat it as a failed attempt.
 */
export function verifyTotp(input: {
  secret: Uint8Array;
  code: string;
  timeInMilliseconds: number;
  parameters: TotpParameters;
  lastUsedStep: number | null;
  windowInSteps?: number;
}): TotpVerification {
  const { secret, code, parameters, lastUsedStep } = input;
  const windowInSteps = input.windowInSteps ?? DEFAULT_WINDOW_IN_STEPS;
  assertValidParameters(parameters);
  if (!Number.isInteger(windowInSteps) || windowInSteps < 0 || windowInSteps > 10) {
    throw new RangeError(`windowInSteps must be an integer in 0..10, got ${windowInSteps}`);
  }
  const currentStep = timeStep(input.timeInMilliseconds, parameters);

  if (typeof code !== 'string' || code.length !== parameters.digits || !/^[0-9]+$/.test(code)) {
    return { ok: false, reason: 'invalid' };
  }
  const codeBytes = encoder.encode(code);

  // Every candidate is computed and compared in constant time, with no early
  // exit, so timing says nothing about which step (if any) matched. If two
  // steps share a code, the newest wins: it is the one not yet replayed.
  let matchedStep: number | null = null;
  for (let step = currentStep - windowInSteps; step <= currentStep + windowInSteps; step++) {
    if (step < 0) continue;
    const candidate = encoder.encode(generateHotp(secret, step, parameters));
    if (timingSafeEqual(codeBytes, candidate)) matchedStep = step;
  }

  if (matchedStep === null) return { ok: false, reason: 'invalid' };
  if (lastUsedStep !== null && matchedStep <= lastUsedStep) return { ok: false, reason: 'replayed' };
  return { ok: true, step: matchedStep };
}
