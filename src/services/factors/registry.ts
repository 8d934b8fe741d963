// The one list of second factors: every check of a factor (sign-in, confirmation,
// enrolment) is a lookup here, and every page and schema loops over the same list's
// descriptors (domain/factors.ts). Adding a factor: its module beside these, one line
// below and one in domain/factors.ts; the compiler then names every place that must
// say something about it.
import type { SecondFactorMethod } from '../../domain/factors.js';
import { authenticatorAppFactor } from './authenticator-app.js';
import { emailedCodeFactor } from './emailed-code.js';
import type { FactorModule } from './factor-module.js';
import { recoveryCodeFactor } from './recovery-codes.js';
import { securityKeyFactor } from './security-key.js';
import { textMessageFactor } from './text-message.js';

export const FACTOR_MODULES = {
  webauthn: securityKeyFactor,
  totp: authenticatorAppFactor,
  sms: textMessageFactor,
  email: emailedCodeFactor,
  recovery_code: recoveryCodeFactor,
} as const satisfies Record<SecondFactorMethod, FactorModule>;

export function factorModule(type: SecondFactorMethod): FactorModule {
  return FACTOR_MODULES[type];
}
