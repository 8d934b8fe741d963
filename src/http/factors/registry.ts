// The one list of factors on the http side: the method chooser, Security settings'
// two-factor section, the passcode page, confirmations, notices, the audit log's words
// and the app's routes all loop over it. Adding a factor: its folder beside these and
// one line below (keyed by FactorType, so the compiler names a missing one).
import { FACTOR_TYPES, type FactorType } from '../../domain/factors.js';
import { authenticatorAppHttp } from './authenticator-app/index.js';
import { emailedCodeHttp } from './emailed-code/index.js';
import type { HttpFactor } from './http-factor.js';
import { securityKeyHttp } from './security-key/index.js';
import { textMessageHttp } from './text-message/index.js';

export const HTTP_FACTORS = {
  webauthn: securityKeyHttp,
  totp: authenticatorAppHttp,
  sms: textMessageHttp,
  email: emailedCodeHttp,
} as const satisfies { [Type in FactorType]: HttpFactor<Type> };

/** Every factor's http module, in the order factors are offered (domain/factors.ts). */
export const HTTP_FACTORS_IN_ORDER: readonly HttpFactor[] = FACTOR_TYPES.map((type) => HTTP_FACTORS[type]);

export function httpFactor(type: FactorType): HttpFactor {
  return HTTP_FACTORS[type];
}
