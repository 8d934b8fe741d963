// What a person reads for each second-factor method, in the reader's language
// (`security.method.*`, the factor list's labels in English). The codes (totp, sms,
// webauthn, email, recovery_code) stay in the API, the CSV and JSON exports and the
// forms' values.
import type { SecondFactorMethod } from '../../domain/factors.js';
import type { Translator } from '../../i18n/translator.js';

/** How each language separates the names in a short list ("A, B"; Japanese 「A、B」). */
const SEPARATORS: Partial<Record<Translator['language'], string>> = { ja: '、', ar: '، ' };

/** "Authenticator app, Text message" for a person's methods, in `t`'s language. */
export function methodNames(t: Translator, methods: readonly SecondFactorMethod[]): string {
  return methods.map((method) => t.t(`security.method.${method}`)).join(SEPARATORS[t.language] ?? ', ');
}

/** "Passkey" or "2 passkeys" beside a person's methods (a passkey is one of their
 * security keys, which signs in alone); null without one. */
export function passkeyLabel(t: Translator, passkeys: number): string | null {
  if (passkeys <= 0) return null;
  return t.t('admin.passkeys', { count: passkeys });
}
