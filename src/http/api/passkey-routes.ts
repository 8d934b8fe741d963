// Passkey sign-in over the API (DESIGN.md, more ways in): the browser side is
// navigator.credentials.get() with the options given here (no allow-list: the browser
// offers the person's passkeys for this site), or @simplewebauthn/browser.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { ServiceDeps } from '../../services/deps.js';
import { finishPasskeySignIn, startPasskeySignIn } from '../../services/passkeys.js';
import { sendApiFailure } from '../errors.js';
import { requestContext } from '../request-context.js';
import { signInOutcomeBody } from './outcomes.js';
import { AnyObject, ErrorAnswers, SignInAnswer, Token, WebauthnCredential } from './schemas.js';

export function registerPasskeySignInRoutes(app: FastifyInstance, deps: ServiceDeps): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.post(
    '/api/v1/sign-in/passkey/options',
    {
      preValidation: async (request, reply) => {
        if (request.body === null) return sendApiFailure(reply, { code: 'invalid_request', message: 'The body must be a JSON object.' });
      },
      schema: {
        tags: ['sign-in'],
        summary: 'Sign in with a passkey alone: the options for navigator.credentials.get()',
        response: {
          200: Type.Object({ flow_token: Type.String(), options: AnyObject('PublicKeyCredentialRequestOptionsJSON for navigator.credentials.get().') }),
          ...ErrorAnswers,
        },
        description:
          'Starts a sign-in that waits for a passkey: `flow_token` names it (good for 5 minutes and one verification). No account or email: the passkey the person picks names them.',
        body: Type.Object({}),
      },
    },
    async (request, reply) => {
      const result = await startPasskeySignIn(deps, {}, requestContext(request));
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return { flow_token: result.value.flowToken, options: result.value.options };
    },
  );

  api.post(
    '/api/v1/sign-in/passkey/verify',
    {
      schema: {
        tags: ['sign-in'],
        summary: 'Sign in with a passkey alone: the signed assertion',
        response: { 200: SignInAnswer, ...ErrorAnswers },
        description:
          'A passkey that verified its user (PIN, fingerprint, face) signs in: `status: "signed_in"` with `amr` hwk, user, mfa. One that only proved presence answers 401 `passkey_not_verified`: sign in with the password instead. A wrong signature counts as a wrong passcode.',
        body: Type.Object({ flow_token: Token, credential: WebauthnCredential }),
      },
    },
    async (request, reply) => {
      const result = await finishPasskeySignIn(deps, { flowToken: request.body.flow_token, credential: request.body.credential }, requestContext(request));
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return signInOutcomeBody(result.value);
    },
  );
}
