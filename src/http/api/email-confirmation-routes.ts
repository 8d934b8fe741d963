import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { ServiceDeps } from '../../services/deps.js';
import { sendEmailConfirmationCode, verifyEmailConfirmationCode } from '../../services/email-confirmation.js';
import { sendApiFailure } from '../errors.js';
import { requestContext } from '../request-context.js';
import { signedInOf } from './authenticated.js';
import { Code, ErrorAnswers, StatusAnswer, bearerSecurity } from './schemas.js';

export function registerEmailConfirmationRoutes(scope: FastifyInstance, deps: ServiceDeps): void {
  const api = scope.withTypeProvider<TypeBoxTypeProvider>();

  api.post(
    '/api/v1/me/email-confirmation',
    {
      config: { allowSetupSession: true },
      schema: {
        tags: ['me'],
        summary: 'Email a 6-digit code (forced first enrolment starts here); 30 s between sends',
        security: bearerSecurity,
        response: { 200: Type.Object({ status: Type.Literal('sent'), resend_after_seconds: Type.Integer() }), ...ErrorAnswers },
      },
    },
    async (request, reply) => {
      const result = await sendEmailConfirmationCode(deps, signedInOf(request), requestContext(request));
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return { status: 'sent', resend_after_seconds: result.value.retryAfterSeconds };
    },
  );

  api.post(
    '/api/v1/me/email-confirmation/verify',
    {
      config: { allowSetupSession: true },
      schema: {
        tags: ['me'],
        summary: 'Confirm the emailed code',
        security: bearerSecurity,
        body: Type.Object({ code: Code }),
        response: { 200: StatusAnswer('confirmed'), ...ErrorAnswers },
      },
    },
    async (request, reply) => {
      const result = await verifyEmailConfirmationCode(deps, signedInOf(request), request.body.code, requestContext(request));
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return { status: 'confirmed' };
    },
  );
}
