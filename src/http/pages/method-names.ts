// What a person reads for each second-factor method. The codes (totp, sms, webauthn,
// recovery_code) stay in the API, the CSV and JSON exports and the forms' values.
import type { FactorType } from '../../domain/types.js';

export const METHOD_NAMES: Readonly<Record<FactorType | 'recovery_code', string>> = {
  totp: 'Authenticator app',
  sms: 'Text message',
  webauthn: 'Security key',
  recovery_code: 'Recovery code',
};

/** "Authenticator app, Text message" for a person's methods. */
export function methodNames(methods: readonly (keyof typeof METHOD_NAMES)[]): string {
  return methods.map((method) => METHOD_NAMES[method]).join(', ');
}
