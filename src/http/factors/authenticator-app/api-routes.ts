// Turning on an authenticator app over the API: a secret with its otpauth URI and QR
// code, then a code from the app.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { ServiceDeps } from '../../../services/deps.js';
import { startTotpEnrolment, verifyTotpEnrolment } from '../../../services/two-factor.js';
import { sendApiFailure } from '../../errors.js';
import { requestContext } from '../../request-context.js';
import { signedInOf } from '../../api/authenticated.js';
import { enrolmentDoneBody } from '../../api/outcomes.js';
import { Code, ConfirmationMethod, EnrolmentDoneAnswer, ErrorAnswers, bearerSecurity } from '../../api/schemas.js';

const TotpEnrolmentAnswer = Type.Object({
  secret: Type.String({ description: 'Base32, upper case, without padding or spaces.' }),
  otpauth_uri: Type.String({ description: 'otpauth://totp/… for the app.' }),
  qr_code: Type.String({ description: 'The otpauth URI as a QR code: a data:image/png;base64,… URI.' }),
});

export function registerAuthenticatorAppRoutes(scope: FastifyInstance, deps: ServiceDeps): void {
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
        response: { 200: TotpEnrolmentAnswer, ...ErrorAnswers },
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
        response: { 200: EnrolmentDoneAnswer, ...ErrorAnswers },
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
}
