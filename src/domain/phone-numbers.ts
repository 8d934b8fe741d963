// Phone numbers for text-message passcodes: parsed and validated with
// libphonenumber-js (Google's metadata, "max" set so the number's type is known) and
// kept as E.164 (+<country code><number>), the one form every SMS provider takes.
import { createRequire } from 'node:module';
import type { CountryCode } from 'libphonenumber-js/max';
import { fail, ok, type Result } from './failures.js';

// The metadata is several MiB: loaded on first use, so a server that never touches a
// phone number never holds it (bench/README.md, memory).
let library: typeof import('libphonenumber-js/max') | null = null;
function phoneLibrary(): typeof import('libphonenumber-js/max') {
  library ??= createRequire(import.meta.url)('libphonenumber-js/max') as typeof import('libphonenumber-js/max');
  return library;
}

export interface PhoneNumber {
  /** E.164, e.g. +447911123456. */
  e164: string;
  /** ISO 3166-1 alpha-2 country the number belongs to, e.g. GB. */
  country: string;
  /** The only digits kept in clear, to show the number masked. */
  lastDigits: string;
}

/** Two digits: enough for a person to recognise their number, too few to recover it. */
export const PHONE_DIGITS_SHOWN = 2;

/** Types that cannot receive a text, or that SMS-pumping fraud relies on (premium
 * rate and shared cost numbers pay their owner per message received). */
const REFUSED_TYPES = new Set(['FIXED_LINE', 'PREMIUM_RATE', 'TOLL_FREE', 'SHARED_COST', 'PAGER', 'UAN', 'VOICEMAIL']);

export function isCountryCode(value: unknown): value is CountryCode {
  return typeof value === 'string' && /^[A-Z]{2}$/.test(value) && phoneLibrary().isSupportedCountry(value);
}

/**
 * Reads what a person typed: international (+44 7911 123456, 0044…) or national
 * (07911 123456) in `defaultCountry`. Spaces, dashes, dots and brackets are fine.
 */
export function normalizePhoneNumber(raw: unknown, defaultCountry: string | null): Result<PhoneNumber> {
  const invalid = (message: string) => fail<PhoneNumber>('invalid_request', { field: 'phone', message });
  if (typeof raw !== 'string' || raw.trim() === '') return invalid('Enter your mobile phone number.');
  const text = raw.trim().replace(/^00(?=[1-9])/, '+');
  if (text.length > 40 || !/^\+?[0-9 ()./-]+$/.test(text)) {
    return invalid('Enter a phone number with digits only, like +44 7911 123456.');
  }
  const country = isCountryCode(defaultCountry) ? defaultCountry : undefined;
  const parsed = phoneLibrary().parsePhoneNumberFromString(text, country ? { defaultCountry: country } : undefined);
  if (!parsed || !parsed.isValid() || !parsed.country) {
    if (text.startsWith('+') || !country) return invalid('That is not a valid phone number. Check the country code and the digits.');
    return fail('invalid_request', {
      field: 'phone',
      message: `That is not a valid phone number in ${countryName(country)}. Choose the right country or start with +.`,
      detail: { key: 'detail.phone.invalidInCountry', values: { country } },
    });
  }
  const type = parsed.getType();
  if (type !== undefined && REFUSED_TYPES.has(type)) return invalid('This number cannot receive text messages. Enter a mobile number.');
  const e164 = parsed.number;
  return ok({ e164, country: parsed.country, lastDigits: e164.slice(-PHONE_DIGITS_SHOWN) });
}

/** "•••• ••• 23": recognisable by its owner, useless to anyone else. */
export function maskPhoneNumber(lastDigits: string | null): string {
  return `•••• ••• ${lastDigits ?? '••'}`;
}

/**
 * An account's country allow-list ("GB, IE,fr"), or null when every country is allowed.
 * Unknown codes are dropped rather than failing every send.
 */
export function parseCountryList(raw: string | null | undefined): string[] | null {
  if (raw === null || raw === undefined || raw.trim() === '') return null;
  const codes = raw
    .split(/[\s,;]+/)
    .map((code) => code.trim().toUpperCase())
    .filter((code) => isCountryCode(code));
  return [...new Set(codes)];
}

export function isCountryAllowed(country: string, allowList: string[] | null): boolean {
  return allowList === null || allowList.includes(country);
}

// Made on first use: ICU's region names add about 5 MiB to the resident memory of a
// server that may never show a country list (bench/README.md, memory).
let regionNames: Intl.DisplayNames | null = null;

export function countryName(code: string): string {
  try {
    regionNames ??= new Intl.DisplayNames(['en'], { type: 'region', fallback: 'code' });
    return regionNames.of(code) ?? code;
  } catch {
    return code;
  }
}

export interface CountryOption {
  code: string;
  name: string;
  callingCode: string;
}

/** The countries a person may pick, by name, limited to the account's allow-list. */
export function countryOptions(allowList: string[] | null): CountryOption[] {
  const { getCountries, getCountryCallingCode } = phoneLibrary();
  return getCountries()
    .filter((code) => isCountryAllowed(code, allowList))
    .map((code) => ({ code, name: countryName(code), callingCode: getCountryCallingCode(code) }))
    .sort((a, b) => a.name.localeCompare(b.name, 'en'));
}
