import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { completeSetup } from '../../services/accounts.js';
import type { ServiceDeps } from '../../services/deps.js';
import { requestPasswordReset, setPasswordFromLink } from '../../services/passwords.js';
import { signInWithPassword } from '../../services/sign-in.js';
import { sendApiFailure } from '../errors.js';
import { requestContext } from '../request-context.js';
import { signInOutcomeBody } from './outcomes.js';
import { AccountSlug, Email, ErrorAnswers, Password, SignInAnswer, StatusAnswer, Token } from './schemas.js';

export function registerSignInRoutes(app: FastifyInstance, deps: ServiceDeps): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.post(
    '/api/v1/sign-in',
    {
      schema: {
        tags: ['sign-in'],
        summary: 'Sign in with account, email and password',
        response: { 200: SignInAnswer, ...ErrorAnswers },
        description:
          'Answers `signed_in` with a session token, `two_factor_required` with a challenge token, or `two_factor_setup_required` with a setup-only session token.',
        body: Type.Object({ account: AccountSlug, email: Email, password: Password, trusted_device_token: Type.Optional(Token) }),
      },
    },
    async (request, reply) => {
      const { account, email, password, trusted_device_token } = request.body;
      const result = await signInWithPassword(deps, { account, email, password, trustedDeviceToken: trusted_device_token ?? null }, requestContext(request));
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return signInOutcomeBody(result.value);
    },
  );

  api.post(
    '/api/v1/password-reset',
    {
      schema: {
        tags: ['sign-in'],
        summary: 'Email a password-reset link',
        response: { 200: StatusAnswer('sent_if_known'), ...ErrorAnswers },
        description: 'Always answers the same, whether or not the email exists.',
        body: Type.Object({ account: AccountSlug, email: Email }),
      },
    },
    async (request, reply) => {
      const result = await requestPasswordReset(deps, request.body, requestContext(request));
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return { status: 'sent_if_known' };
    },
  );

  api.post(
    '/api/v1/password-reset/complete',
    {
      schema: {
        tags: ['sign-in'],
        summary: 'Set a new password from a reset link',
        response: { 200: SignInAnswer, ...ErrorAnswers },
        description: 'Ends like a sign-in: a person with two-factor authentication gets `two_factor_required`.',
        body: Type.Object({ token: Token, new_password: Password }),
      },
    },
    async (request, reply) => {
      const result = await setPasswordFromLink(
        deps,
        'password_reset',
        { token: request.body.token, newPassword: request.body.new_password },
        requestContext(request),
      );
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return signInOutcomeBody(result.value);
    },
  );

  api.post(
    '/api/v1/invitations/accept',
    {
      schema: {
        tags: ['sign-in'],
        summary: 'Accept an invitation by choosing a password',
        response: { 200: SignInAnswer, ...ErrorAnswers },
        body: Type.Object({ token: Token, password: Password }),
      },
    },
    async (request, reply) => {
      const result = await setPasswordFromLink(deps, 'invitation', { token: request.body.token, newPassword: request.body.password }, requestContext(request));
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return signInOutcomeBody(result.value);
    },
  );

  api.post(
    '/api/v1/setup',
    {
      schema: {
        tags: ['sign-in'],
        summary: 'First run: create the first account and its owner from the setup link',
        response: { 200: SignInAnswer, ...ErrorAnswers },
        body: Type.Object({
          token: Token,
          account_name: Type.String({ minLength: 1, maxLength: 200 }),
          account_slug: AccountSlug,
          name: Type.String({ minLength: 1, maxLength: 200 }),
          email: Email,
          password: Password,
        }),
      },
    },
    async (request, reply) => {
      const body = request.body;
      const result = await completeSetup(
        deps,
        { token: body.token, accountName: body.account_name, accountSlug: body.account_slug, ownerName: body.name, email: body.email, password: body.password },
        requestContext(request),
      );
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return signInOutcomeBody(result.value);
    },
  );
}
