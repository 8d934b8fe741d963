// Shared pieces of the API's route schemas (TypeBox), from which /openapi.json is built.
import { Type } from 'typebox';
import { FACTORS, FACTOR_TYPES, SECOND_FACTOR_METHODS } from '../../domain/factors.js';

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      field: Type.Optional(Type.String()),
      retry_after_seconds: Type.Optional(Type.Integer()),
    }),
  },
  { $id: 'ErrorBody', description: 'Every 4xx and 5xx answer has this shape.' },
);

export const Email = Type.String({ minLength: 1, maxLength: 320 });
export const Password = Type.String({ minLength: 1, maxLength: 1024 });
export const Token = Type.String({ minLength: 1, maxLength: 200 });
export const AccountSlug = Type.String({ minLength: 1, maxLength: 100 });
export const Role = Type.Union([Type.Literal('admin'), Type.Literal('agent'), Type.Literal('end_user')]);

/** One of the languages of domain/languages.ts (BCP 47), or null for "not chosen". */
export const LanguageTag = Type.Union([Type.String({ maxLength: 16 }), Type.Null()]);
/** An IANA time zone name, or null for UTC. */
export const TimeZone = Type.Union([Type.String({ maxLength: 64 }), Type.Null()]);

export const bearerSecurity = [{ bearer: [] as string[] }];

/** Every factor of the factor list (domain/factors.ts), in its order, then the password. */
export const ConfirmationMethod = Type.Union([...SECOND_FACTOR_METHODS.map((method) => Type.Literal(method)), Type.Literal('password')]);
/** The second step of sign-in takes a typed code: every factor but the phishing-resistant
 * ones, which sign a ceremony of their own (/sign-in/webauthn/verify). */
export const SecondStepMethod = Type.Union(
  SECOND_FACTOR_METHODS.filter((method) => !FACTORS.find((factor) => factor.type === method)!.phishingResistant).map((method) => Type.Literal(method)),
);
/** A factor a person enrols (the preferred method is one of these). */
export const FactorTypeSchema = Type.Union(FACTOR_TYPES.map((type) => Type.Literal(type)));
/** A passcode or recovery code; with method "webauthn", the browser's signed assertion
 * (PublicKeyCredential.toJSON()) as a JSON string. */
export const Code = Type.String({ minLength: 1, maxLength: 16384 });
/** Why an admin acted, for the audit log (the service asks for 3–500 characters). */
export const Reason = Type.String({ maxLength: 2000 });
/** A WebAuthn credential as the browser serialises it (PublicKeyCredential.toJSON()). */
export const WebauthnCredential = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 1400 }),
    rawId: Type.String({ minLength: 1, maxLength: 1400 }),
    type: Type.Literal('public-key'),
    response: Type.Object({}, { additionalProperties: true }),
  },
  { additionalProperties: true, description: 'PublicKeyCredential.toJSON() of the browser (or @simplewebauthn/browser).' },
);
/** A sensitive request's confirmation (DESIGN.md, API "Confirmation"). */
export const ConfirmationFields = { method: ConfirmationMethod, code: Code };
