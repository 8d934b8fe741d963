import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { completeSecondFactor } from '../../services/challenge.js';
import type { ServiceDeps } from '../../services/deps.js';
import { disableTwoFactor, regenerateRecoveryCodes, startTotpEnrolment, verifyTotpEnrolment } from '../../services/two-factor.js';
import { sendApiFailure } from '../errors.js';
import { requestContext } from '../request-context.js';
import { signedInOf } from './authenticated.js';
import { enrolmentDoneBody, signInOutcomeBody } from './outcomes.js';
import { Code, ConfirmationFields, ConfirmationMethod, SecondStepMethod, Token, bearerSecurity } from './schemas.js';

/** The one route that accepts a challenge token (SECURITY.md: no other endpoint may). */
export function registerSecondStepRoute(app: FastifyInstance, deps: ServiceDeps): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.post(
    '/api/v1/sign-in/two-factor',
    {
      schema: {
        tags: ['sign-in'],
        summary: 'Second step of sign-in: a passcode or a recovery code for the challenge',
        description: '`remember_device` (default false) returns a `trusted_device_token` to send back on the next sign-in.',
        body: Type.Object({
          challenge_token: Token,
          method: SecondStepMethod,
          code: Code,
          remember_device: Type.Optional(Type.Boolean()),
        }),
      },
    },
    async (request, reply) => {
      const body = request.body;
      const result = await completeSecondFactor(
        deps,
        { challengeToken: body.challenge_token, method: body.method, code: body.code, rememberDevice: body.remember_device === true },
        requestContext(request),
      );
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return signInOutcomeBody(result.value);
    },
  );
}

export function registerTwoFactorRoutes(scope: FastifyInstance, deps: ServiceDeps): void {
  const api = scope.withTypeProvider<TypeBoxTypeProvider>();

  api.post(
    '/api/v1/me/two-factor/totp',
    {
      config: { allowSetupSession: true },
      // No body at all is fine; a JSON `null` is not an object.
      preValidation: async (request, reply) => {
        if (request.body === null) return sendApiFailure(reply, { code: 'invalid_request', message: 'The body must be a JSON object.' });
      },
      schema: {
        tags: ['two-factor'],
        summary: 'Start enrolling an authenticator app: a secret, its otpauth URI and a QR code (PNG data URI)',
        description:
          'The enrolment stays pending for 15 minutes until a correct code is given to /verify. When two-factor authentication is already on (with text messages), this adds a factor: send a confirmation (`method` and `code`).',
        security: bearerSecurity,
        body: Type.Union([Type.Null(), Type.Object({ method: Type.Optional(ConfirmationMethod), code: Type.Optional(Code) })]),
      },
    },
    async (request, reply) => {
      const body = request.body ?? {};
      const confirmation = body.method !== undefined || body.code !== undefined ? { method: body.method, code: body.code } : undefined;
      const result = await startTotpEnrolment(deps, signedInOf(request), requestContext(request), confirmation);
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return { secret: result.value.secret, otpauth_uri: result.value.otpauthUri, qr_code: result.value.qrCodeDataUrl };
    },
  );

  api.post(
    '/api/v1/me/two-factor/totp/verify',
    {
      config: { allowSetupSession: true },
      schema: {
        tags: ['two-factor'],
        summary: 'Finish enrolling an authenticator app with a code from it',
        description:
          'Answers `recovery_codes` (shown once) when this is the first factor, and a new full `session_token` when it completes a setup-only session.',
        security: bearerSecurity,
        body: Type.Object({ code: Code }),
      },
    },
    async (request, reply) => {
      const result = await verifyTotpEnrolment(deps, signedInOf(request), request.body.code, requestContext(request));
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return enrolmentDoneBody(result.value);
    },
  );

  api.post(
    '/api/v1/me/two-factor/recovery-codes',
    {
      schema: {
        tags: ['two-factor'],
        summary: 'Make a new set of 10 recovery codes (the old set stops working)',
        security: bearerSecurity,
        body: Type.Object(ConfirmationFields),
      },
    },
    async (request, reply) => {
      const result = await regenerateRecoveryCodes(deps, signedInOf(request), request.body, requestContext(request));
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return { recovery_codes: result.value };
    },
  );

  api.delete(
    '/api/v1/me/two-factor',
    {
      schema: {
        tags: ['two-factor'],
        summary: 'Turn two-factor authentication off (needs a current passcode or a recovery code)',
        description: 'Answers 403 `two_factor_required_by_account` when the account requires it.',
        security: bearerSecurity,
        body: Type.Object(ConfirmationFields),
      },
    },
    async (request, reply) => {
      const result = await disableTwoFactor(deps, signedInOf(request), request.body, requestContext(request));
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return { status: 'disabled' };
    },
  );
}
