// Emailed codes as a second factor over the API (DESIGN.md row 19, "More ways in and
// factors"): turning them on, a code for a sign-in challenge, a code for a
// confirmation. A code is never part of an answer.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { ServiceDeps } from '../../../services/deps.js';
import {
  resendEmailEnrolmentCode,
  sendEmailSignInCode,
  sendEmailedConfirmationCode,
  startEmailEnrolment,
  verifyEmailEnrolment,
} from '../../../services/email-factor.js';
import type { CodeSentAnswer } from '../../../services/factors/factor-module.js';
import { sendApiFailure } from '../../errors.js';
import { requestContext } from '../../request-context.js';
import { signedInOf } from '../../api/authenticated.js';
import { enrolmentDoneBody, iso } from '../../api/outcomes.js';
import { Code, ConfirmationMethod, EnrolmentDoneAnswer, ErrorAnswers, Timestamp, Token, bearerSecurity } from '../../api/schemas.js';

const EmailSentAnswer = Type.Object({
  status: Type.Literal('sent'),
  email: Type.String({ description: 'Where the code went, masked ("a•••@acme.test").' }),
  resend_after_seconds: Type.Integer(),
  expires_at: Timestamp,
});

function sentBody(sent: CodeSentAnswer): Record<string, unknown> {
  return { status: 'sent', email: sent.destination, resend_after_seconds: sent.resendAfterSeconds, expires_at: iso(sent.expiresAt) };
}

const COOLDOWN =
  'Another code after 30 seconds (429 with `Retry-After` before that); a new code voids the previous one. Past a quota (the same as texts): 429 `rate_limited` and nothing is sent.';

/** Like /sign-in/two-factor, it takes the challenge token, and nothing else does. */
export function registerSignInEmailRoutes(app: FastifyInstance, deps: ServiceDeps): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.post(
    '/api/v1/sign-in/email',
    {
      schema: {
        tags: ['sign-in'],
        summary: 'Email a passcode for this sign-in (when emailed codes are one of its methods)',
        response: { 200: EmailSentAnswer, ...ErrorAnswers },
        description: `The first code of a challenge is always allowed (within the quotas). ${COOLDOWN}`,
        body: Type.Object({ challenge_token: Token }),
      },
    },
    async (request, reply) => {
      const result = await sendEmailSignInCode(deps, request.body.challenge_token, requestContext(request));
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return sentBody(result.value);
    },
  );
}

export function registerEmailedCodeRoutes(scope: FastifyInstance, deps: ServiceDeps): void {
  const api = scope.withTypeProvider<TypeBoxTypeProvider>();

  api.post(
    '/api/v1/me/two-factor/email',
    {
      config: { allowSetupSession: true },
      preValidation: async (request, reply) => {
        if (request.body === null) return sendApiFailure(reply, { code: 'invalid_request', message: 'The body must be a JSON object.' });
      },
      schema: {
        tags: ['two-factor'],
        summary: 'Start turning on emailed codes: emails a code to your address',
        response: { 200: EmailSentAnswer, ...ErrorAnswers },
        description: `Finish with /verify within 15 minutes. When two-factor authentication is already on, this adds a factor: give a confirmation (\`method\` and \`code\`). Emailed codes are the weakest method; an account that requires security keys refuses them (403 \`factor_not_allowed\`). ${COOLDOWN}`,
        security: bearerSecurity,
        body: Type.Union([Type.Null(), Type.Object({ method: Type.Optional(ConfirmationMethod), code: Type.Optional(Code) })]),
      },
    },
    async (request, reply) => {
      const body = request.body ?? {};
      const confirmation = body.method !== undefined || body.code !== undefined ? { method: body.method, code: body.code } : undefined;
      const result = await startEmailEnrolment(deps, signedInOf(request), confirmation, requestContext(request));
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return sentBody(result.value);
    },
  );

  api.post(
    '/api/v1/me/two-factor/email/resend',
    {
      config: { allowSetupSession: true },
      schema: {
        tags: ['two-factor'],
        summary: 'Email a new code for the enrolment (after 30 seconds; the previous code stops working)',
        response: { 200: EmailSentAnswer, ...ErrorAnswers },
        security: bearerSecurity,
      },
    },
    async (request, reply) => {
      const result = await resendEmailEnrolmentCode(deps, signedInOf(request), requestContext(request));
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return sentBody(result.value);
    },
  );

  api.post(
    '/api/v1/me/two-factor/email/verify',
    {
      config: { allowSetupSession: true },
      schema: {
        tags: ['two-factor'],
        summary: 'Finish turning on emailed codes with the emailed code',
        response: { 200: EnrolmentDoneAnswer, ...ErrorAnswers },
        description:
          'Answers `recovery_codes` (shown once) when this is the first factor, and a new full `session_token` when it completes a setup-only session.',
        security: bearerSecurity,
        body: Type.Object({ code: Code }),
      },
    },
    async (request, reply) => {
      const result = await verifyEmailEnrolment(deps, signedInOf(request), request.body.code, requestContext(request));
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return enrolmentDoneBody(result.value);
    },
  );

  api.post(
    '/api/v1/me/two-factor/email/send',
    {
      schema: {
        tags: ['two-factor'],
        summary: 'Email a code to your address, for a confirmation with method "email"',
        response: { 200: EmailSentAnswer, ...ErrorAnswers },
        description: COOLDOWN,
        security: bearerSecurity,
      },
    },
    async (request, reply) => {
      const result = await sendEmailedConfirmationCode(deps, signedInOf(request), requestContext(request));
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return sentBody(result.value);
    },
  );
}
