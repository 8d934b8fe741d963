// Normalisation and validation of the names people type: account slugs, emails,
// display names and roles.
import type { Role } from './types.js';

export const ROLES: readonly Role[] = ['admin', 'agent', 'end_user'];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Staff are the people an account's "require 2FA" setting applies to (DESIGN.md row 8). */
export function isStaff(role: Role): boolean {
  return role === 'admin' || role === 'agent';
}

/** Slugs are lower-case and matched case-insensitively (DESIGN.md, API). */
export function normalizeSlug(raw: string): string {
  return raw.trim().toLowerCase();
}

export function isValidSlug(slug: string): boolean {
  return /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/.test(slug);
}

/** Emails are unique per account and matched case-insensitively. */
export function normalizeEmail(raw: string): string {
  return raw.normalize('NFC').trim().toLowerCase();
}

// Deliberately simple: one "@", no spaces or control characters, a dot in the
// domain. The set-password email is the real check that an address works.
export function isValidEmail(email: string): boolean {
  // Invisible format characters (bidi overrides, zero-width spaces) and lone
  // surrogates would make two addresses look alike.
  return email.length <= 254 && /^[^\s@\p{Cc}\p{Cf}\p{Cs}]+@[^\s@\p{Cc}\p{Cf}\p{Cs}]+\.[^\s@\p{Cc}\p{Cf}\p{Cs}]+$/u.test(email);
}

export function normalizeDisplayName(raw: string): string {
  return raw
    .normalize('NFC')
    .replace(/\p{Cc}/gu, '')
    .replace(/\s+/g, ' ')
    .trim();
}

export function isValidDisplayName(name: string): boolean {
  return name.length >= 1 && name.length <= 100;
}
