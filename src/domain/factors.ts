// The second factors Tessera knows, as plain data: the one list every screen, route
// schema and rule loops over (DESIGN.md, "Factors plug in"). What each one does (send,
// enrol, verify) lives in services/factors/; this file only describes them, so the
// rules (sign-in-decision.ts) and the pages read the same words and order.

/** How a factor is proven, per RFC 8176 (the `amr` values DESIGN.md's OpenID Connect
 * section names): `otp` for app, email and recovery codes, `sms`, `hwk` for a key. */
export type AuthenticationMethodReference = 'otp' | 'sms' | 'hwk';

export interface FactorDescriptor<Type extends string = string> {
  type: Type;
  /** What pages and emails call it ("Text message"). */
  label: string;
  /** How an email says it was turned on: "Two-factor authentication was turned on with …". */
  labelInSentence: string;
  /** Offered in ascending order: security key, app, SMS, email, then recovery codes. */
  order: number;
  amr: AuthenticationMethodReference;
  /** Bound to the origin, so a look-alike site gets nothing it can replay (NIST SP 800-63B-4 §3.2.5). */
  phishingResistant: boolean;
  /** A factor a person turns on (recovery codes come with the first one instead). */
  enrolled: boolean;
  /** The passcode page's link to switch to it ("Use your authenticator app"). */
  signInOffer: string;
  /** The code is sent by Tessera (text, email): the page offers "send me a code". */
  sentCode: boolean;
  /** Refused where the account requires security keys of its admins (the weakest
   * factors, DESIGN.md row 19); other factors stay usable beside a key there. */
  forbiddenWithSecurityKeys: boolean;
}

export const SECURITY_KEY_FACTOR = {
  type: 'webauthn',
  signInOffer: 'Use your security key',
  label: 'Security key',
  labelInSentence: 'a security key',
  order: 10,
  amr: 'hwk',
  phishingResistant: true,
  enrolled: true,
  sentCode: false,
  forbiddenWithSecurityKeys: false,
} as const satisfies FactorDescriptor;

export const AUTHENTICATOR_APP_FACTOR = {
  type: 'totp',
  signInOffer: 'Use your authenticator app',
  label: 'Authenticator app',
  labelInSentence: 'an authenticator app',
  order: 20,
  amr: 'otp',
  phishingResistant: false,
  enrolled: true,
  sentCode: false,
  forbiddenWithSecurityKeys: false,
} as const satisfies FactorDescriptor;

export const TEXT_MESSAGE_FACTOR = {
  type: 'sms',
  signInOffer: 'Get a code by text message',
  label: 'Text message',
  labelInSentence: 'text messages',
  order: 30,
  amr: 'sms',
  phishingResistant: false,
  enrolled: true,
  sentCode: true,
  forbiddenWithSecurityKeys: false,
} as const satisfies FactorDescriptor;

export const EMAILED_CODE_FACTOR = {
  type: 'email',
  signInOffer: 'Get a code by email',
  label: 'Emailed code',
  labelInSentence: 'emailed codes',
  order: 40,
  amr: 'otp',
  phishingResistant: false,
  enrolled: true,
  sentCode: true,
  forbiddenWithSecurityKeys: true,
} as const satisfies FactorDescriptor;

export const RECOVERY_CODE_FACTOR = {
  type: 'recovery_code',
  signInOffer: 'Use a recovery code',
  label: 'Recovery code',
  labelInSentence: 'recovery codes',
  order: 1000,
  amr: 'otp',
  phishingResistant: false,
  enrolled: false,
  sentCode: false,
  forbiddenWithSecurityKeys: false,
} as const satisfies FactorDescriptor;

/** Every factor, in the order they are offered. Adding a factor is one line here and
 * its module in services/factors/ (registered in services/factors/registry.ts). */
export const FACTORS = [SECURITY_KEY_FACTOR, AUTHENTICATOR_APP_FACTOR, TEXT_MESSAGE_FACTOR, EMAILED_CODE_FACTOR, RECOVERY_CODE_FACTOR] as const;

/** Any way to pass the second step. */
export type SecondFactorMethod = (typeof FACTORS)[number]['type'];
/** A factor a person enrols (stored as a two_factor_methods row); recovery codes come with the first one. */
export type FactorType = Extract<(typeof FACTORS)[number], { enrolled: true }>['type'];

const BY_TYPE: ReadonlyMap<string, FactorDescriptor<SecondFactorMethod>> = new Map(FACTORS.map((factor) => [factor.type, factor]));

export const SECOND_FACTOR_METHODS: readonly SecondFactorMethod[] = [...FACTORS].sort((a, b) => a.order - b.order).map((factor) => factor.type);
export const FACTOR_TYPES: readonly FactorType[] = SECOND_FACTOR_METHODS.filter((type): type is FactorType => BY_TYPE.get(type)!.enrolled);

export function isSecondFactorMethod(value: unknown): value is SecondFactorMethod {
  return typeof value === 'string' && BY_TYPE.has(value);
}

export function isFactorType(value: unknown): value is FactorType {
  return isSecondFactorMethod(value) && BY_TYPE.get(value)!.enrolled;
}

export function factorDescriptor(type: SecondFactorMethod): FactorDescriptor<SecondFactorMethod> {
  return BY_TYPE.get(type)!;
}

/** Methods sorted in the order they are offered. */
export function inFactorOrder<T extends SecondFactorMethod>(methods: readonly T[]): T[] {
  return SECOND_FACTOR_METHODS.filter((method): method is T => (methods as readonly SecondFactorMethod[]).includes(method));
}
