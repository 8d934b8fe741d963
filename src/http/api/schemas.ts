// Shared pieces of the API's route schemas (TypeBox), from which /openapi.json is built.
import { Type } from 'typebox';
import { FACTORS, FACTOR_TYPES, SECOND_FACTOR_METHODS, type FactorType, type SecondFactorMethod } from '../../domain/factors.js';
import { LANGUAGES, type Language } from '../../domain/languages.js';

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
export const FactorTypeSchema = Type.Unsafe<FactorType>(Type.Union(FACTOR_TYPES.map((type) => Type.Literal(type))));
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
/** The same, left out by an API token, which confirms nothing (the service asks a person for them). */
export const OptionalConfirmationFields = { method: Type.Optional(ConfirmationMethod), code: Type.Optional(Code) };

// Answers. Fastify serialises a JSON answer with its schema (fast-json-stringify),
// which drops any property the schema leaves out: each schema here lists every
// property its body helper writes, and the response-schemas test checks real answers
// against /openapi.json.

/** Every route's failures (4xx and 5xx) answer ErrorBody, by reference to the one
 * shared schema (app.addSchema in http/app.ts). */
export const ErrorAnswers = {
  '4XX': Type.Ref('ErrorBody', { description: 'A refused request (ErrorBody; 429 adds `retry_after_seconds` and `Retry-After`).' }),
  '5XX': Type.Ref('ErrorBody', { description: 'Tessera or a service it needs failed (ErrorBody).' }),
};
/** ISO 8601 UTC with milliseconds (DESIGN.md, JSON API). */
export const Timestamp = Type.String({ format: 'date-time' });
export const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);
/** An answer that only says what happened: `{"status": "…"}`. */
export const StatusAnswer = <Status extends string>(status: Status) => Type.Object({ status: Type.Literal(status) });
/** A DELETE that answers nothing. */
export const NoContent = Type.Null({ description: 'Done; no body.' });
/** Free-form JSON (WebAuthn options as @simplewebauthn/server makes them). */
export const AnyObject = (description: string) => Type.Object({}, { additionalProperties: true, description });

/** A sign-in method a challenge offers (the factor list, recovery codes included). */
export const SecondFactorMethodSchema = Type.Unsafe<SecondFactorMethod>(Type.Union(SECOND_FACTOR_METHODS.map((method) => Type.Literal(method))));

/** The sign-in answers of DESIGN.md's API section (outcomes.ts signInOutcomeBody). */
export const SignedInAnswer = Type.Object({
  status: Type.Literal('signed_in'),
  session_token: Type.String(),
  trusted_device_token: Type.Optional(Type.String({ description: 'When `remember_device` was asked, or a used one was rotated.' })),
  two_factor_enrolment_deadline: Type.Optional(Timestamp),
});
export const TwoFactorRequiredAnswer = Type.Object({
  status: Type.Literal('two_factor_required'),
  challenge_token: Type.String(),
  methods: Type.Array(SecondFactorMethodSchema),
  preferred: Type.Union([FactorTypeSchema, Type.Null()]),
});
export const SetupRequiredAnswer = Type.Object({
  status: Type.Literal('two_factor_setup_required'),
  session_token: Type.String({ description: 'A setup-only session: it may only enrol a factor.' }),
});
export const SignInAnswer = Type.Union([SignedInAnswer, TwoFactorRequiredAnswer, SetupRequiredAnswer]);

/** A finished enrolment (outcomes.ts enrolmentDoneBody). */
export const EnrolmentDoneFields = {
  status: Type.Literal('enabled'),
  recovery_codes: Type.Optional(Type.Array(Type.String(), { description: 'Shown once, when this was the first factor.' })),
  session_token: Type.Optional(Type.String({ description: 'A full session replacing the setup-only one.' })),
};
export const EnrolmentDoneAnswer = Type.Object(EnrolmentDoneFields);

/** A chosen language (domain/languages.ts), or null when none is chosen. */
export const LanguageAnswer = Type.Union([Type.Unsafe<Language>(Type.Union(LANGUAGES.map((language) => Type.Literal(language)))), Type.Null()]);
/** A chosen IANA time zone, or null for UTC. */
export const TimeZoneAnswer = Type.Union([Type.String(), Type.Null()]);

/** A person as account admins see them (admin-routes.ts adminUserBody). */
export const AdminUser = Type.Object({
  id: Type.String(),
  email: Type.String(),
  name: Type.String(),
  role: Role,
  suspended: Type.Boolean(),
  invitation_pending: Type.Boolean(),
  created_at: Timestamp,
  updated_at: Type.String({
    format: 'date-time',
    description: 'The last change to the person: role, suspension, two-factor methods, recovery codes, password, sign-in.',
  }),
  last_sign_in_at: NullableTimestamp,
  passcode_locked_until: NullableTimestamp,
  two_factor: Type.Object({
    enabled: Type.Boolean(),
    methods: Type.Array(FactorTypeSchema),
    last_used_at: NullableTimestamp,
    recovery_codes_left: Type.Integer(),
    passkeys: Type.Integer({ description: 'Of the `webauthn` keys, those that are passkeys (sign in alone).' }),
  }),
});
