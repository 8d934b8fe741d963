// Shared pieces of the API's route schemas (TypeBox), from which /openapi.json is built.
import { Type } from 'typebox';

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

export const bearerSecurity = [{ bearer: [] as string[] }];

export const ConfirmationMethod = Type.Union([Type.Literal('totp'), Type.Literal('sms'), Type.Literal('recovery_code'), Type.Literal('password')]);
export const Code = Type.String({ minLength: 1, maxLength: 1024 });
/** A sensitive request's confirmation (DESIGN.md, API "Confirmation"). */
export const ConfirmationFields = { method: ConfirmationMethod, code: Code };
