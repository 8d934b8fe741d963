// What a person reads for each second-factor method: the factor list's labels
// (domain/factors.ts). The codes (totp, sms, webauthn, email, recovery_code) stay in the
// API, the CSV and JSON exports and the forms' values.
import { FACTORS, type SecondFactorMethod } from '../../domain/factors.js';

export const METHOD_NAMES = Object.fromEntries(FACTORS.map((factor) => [factor.type, factor.label])) as Readonly<Record<SecondFactorMethod, string>>;

/** "Authenticator app, Text message" for a person's methods. */
export function methodNames(methods: readonly SecondFactorMethod[]): string {
  return methods.map((method) => METHOD_NAMES[method]).join(', ');
}

/** "Passkey" or "2 passkeys" beside a person's methods (a passkey is one of their
 * security keys, which signs in alone); null without one. */
export function passkeyLabel(passkeys: number): string | null {
  if (passkeys <= 0) return null;
  return passkeys === 1 ? 'Passkey' : `${passkeys} passkeys`;
}
