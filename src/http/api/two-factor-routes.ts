import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { completeSecondFactor } from '../../services/challenge.js';
import type { ServiceDeps } from '../../services/deps.js';
import { setPreferredMethod } from '../../services/preferred-method.js';
import { disableTwoFactor, regenerateRecoveryCodes } from '../../services/two-factor.js';
import { sendApiFailure } from '../errors.js';
import { requestContext } from '../request-context.js';
import { signedInOf } from './authenticated.js';
import { signInOutcomeBody } from './outcomes.js';
import { Code, ConfirmationFields, ErrorAnswers, FactorTypeSchema, SecondStepMethod, SignInAnswer, StatusAnswer, Token, bearerSecurity } from './schemas.js';

const RecoveryCodesAnswer = Type.Object({ recovery_codes: Type.Array(Type.String(), { description: 'Shown once; each works once.' }) });

/** The one route that accepts a challenge token (SECURITY.md: no other endpoint may). */
export function registerSecondStepRoute(app: FastifyInstance, deps: ServiceDeps): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.post(
    '/api/v1/sign-in/two-factor',
    {
      schema: {
        tags: ['sign-in'],
        summary: 'Second step of sign-in: a passcode or a recovery code for the challenge',
        response: { 200: SignInAnswer, ...ErrorAnswers },
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

/** Two-factor authentication as a whole (each factor's own routes are in http/factors/):
 * new recovery codes, turning it off, the preferred method. */
export function registerTwoFactorRoutes(scope: FastifyInstance, deps: ServiceDeps): void {
  const api = scope.withTypeProvider<TypeBoxTypeProvider>();

  api.post(
    '/api/v1/me/two-factor/recovery-codes',
    {
      schema: {
        tags: ['two-factor'],
        summary: 'Make a new set of 10 recovery codes (the old set stops working)',
        response: { 200: RecoveryCodesAnswer, ...ErrorAnswers },
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
        response: { 200: StatusAnswer('disabled'), ...ErrorAnswers },
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

  api.put(
    '/api/v1/me/two-factor/preferred',
    {
      schema: {
        tags: ['two-factor'],
        summary: 'Choose the method the passcode page offers first',
        response: { 200: Type.Object({ preferred: FactorTypeSchema }), ...ErrorAnswers },
        security: bearerSecurity,
        body: Type.Object({ method: FactorTypeSchema }),
      },
    },
    async (request, reply) => {
      const result = await setPreferredMethod(deps, signedInOf(request), request.body.method, requestContext(request));
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return { preferred: result.value };
    },
  );
}
