// Security keys and passkeys over the API (DESIGN.md row 15). The browser side is
// navigator.credentials (or @simplewebauthn/browser): these routes hand out the
// options and check what the authenticator signed.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { completeSecondFactor, securityKeySignInOptions } from '../../../services/challenge.js';
import type { ServiceDeps } from '../../../services/deps.js';
import {
  KEY_NAME_MAX_LENGTH,
  confirmationOptions,
  finishKeyRegistration,
  removeSecurityKey,
  renameSecurityKey,
  securityKeysOf,
  startKeyRegistration,
  type SecurityKey,
} from '../../../services/webauthn.js';
import { sendApiFailure } from '../../errors.js';
import { requestContext } from '../../request-context.js';
import { signedInOf } from '../../api/authenticated.js';
import { enrolmentDoneBody, iso, signInOutcomeBody } from '../../api/outcomes.js';
import {
  AnyObject,
  Code,
  ConfirmationFields,
  ConfirmationMethod,
  EnrolmentDoneFields,
  ErrorAnswers,
  NullableTimestamp,
  SignInAnswer,
  StatusAnswer,
  Timestamp,
  Token,
  WebauthnCredential,
  bearerSecurity,
} from '../../api/schemas.js';

const KeyName = Type.String({ maxLength: KEY_NAME_MAX_LENGTH * 4 });
const KeyParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });

const KeyAnswer = Type.Object({
  id: Type.String(),
  name: Type.String(),
  passkey: Type.Boolean({ description: 'Added as a passkey: it signs in alone.' }),
  created_at: Timestamp,
  last_used_at: NullableTimestamp,
  backed_up: Type.Boolean({ description: 'Synced by its provider rather than bound to one device.' }),
  transports: Type.Array(Type.String()),
});
const OptionsAnswer = Type.Object({ options: AnyObject('WebAuthn options (JSON) for navigator.credentials, or @simplewebauthn/browser.') });

function keyBody(key: SecurityKey): Static<typeof KeyAnswer> {
  return {
    id: key.id,
    name: key.name,
    passkey: key.passkey,
    created_at: iso(key.createdAt)!,
    last_used_at: iso(key.lastUsedAt),
    backed_up: key.backedUp,
    transports: key.transports,
  };
}

/** The second-factor routes for keys: with /sign-in/two-factor, the only ones that accept
 * a challenge token (SECURITY.md). */
export function registerSecurityKeySignInRoutes(app: FastifyInstance, deps: ServiceDeps): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.post(
    '/api/v1/sign-in/webauthn/options',
    {
      schema: {
        tags: ['sign-in'],
        summary: 'Second step with a security key: the options for navigator.credentials.get()',
        response: { 200: OptionsAnswer, ...ErrorAnswers },
        description: 'Only when the challenge offers `webauthn`. The options are good for 5 minutes and one verification; asking again replaces them.',
        body: Type.Object({ challenge_token: Token }),
      },
    },
    async (request, reply) => {
      const result = await securityKeySignInOptions(deps, request.body.challenge_token);
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return { options: result.value };
    },
  );

  api.post(
    '/api/v1/sign-in/webauthn/verify',
    {
      schema: {
        tags: ['sign-in'],
        summary: 'Second step with a security key: the signed assertion for the challenge',
        response: { 200: SignInAnswer, ...ErrorAnswers },
        description: 'Answers like /sign-in/two-factor. A wrong signature counts as a wrong passcode.',
        body: Type.Object({ challenge_token: Token, credential: WebauthnCredential, remember_device: Type.Optional(Type.Boolean()) }),
      },
    },
    async (request, reply) => {
      const body = request.body;
      const result = await completeSecondFactor(
        deps,
        { challengeToken: body.challenge_token, method: 'webauthn', code: body.credential, rememberDevice: body.remember_device === true },
        requestContext(request),
      );
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return signInOutcomeBody(result.value);
    },
  );
}

export function registerSecurityKeyRoutes(scope: FastifyInstance, deps: ServiceDeps): void {
  const api = scope.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    '/api/v1/me/two-factor/webauthn',
    {
      config: { allowSetupSession: true },
      schema: {
        tags: ['two-factor'],
        summary: 'Your security keys and passkeys',
        security: bearerSecurity,
        response: { 200: Type.Object({ keys: Type.Array(KeyAnswer) }), ...ErrorAnswers },
      },
    },
    async (request) => ({ keys: (await securityKeysOf(deps.db, signedInOf(request).user)).map(keyBody) }),
  );

  api.post(
    '/api/v1/me/two-factor/webauthn/registration/options',
    {
      config: { allowSetupSession: true },
      preValidation: async (request, reply) => {
        if (request.body === null) return sendApiFailure(reply, { code: 'invalid_request', message: 'The body must be a JSON object.' });
      },
      schema: {
        tags: ['two-factor'],
        summary: 'Start adding a security key or passkey: the options for navigator.credentials.create()',
        response: { 200: OptionsAnswer, ...ErrorAnswers },
        description:
          'Good for 5 minutes and one registration. `passkey: true` asks for a passkey (a discoverable credential with user verification), which can sign in alone; without it, a security key for the second step. When two-factor authentication is already on, this adds a factor: send a confirmation (`method` and `code`). Answers 409 `webauthn_unavailable` when TESSERA_BASE_URL is an IP address or plain HTTP other than localhost.',
        security: bearerSecurity,
        body: Type.Union([
          Type.Null(),
          Type.Object({ method: Type.Optional(ConfirmationMethod), code: Type.Optional(Code), passkey: Type.Optional(Type.Boolean()) }),
        ]),
      },
    },
    async (request, reply) => {
      const body = request.body ?? {};
      const confirmation = body.method !== undefined || body.code !== undefined ? { method: body.method, code: body.code } : undefined;
      const result = await startKeyRegistration(deps, signedInOf(request), confirmation, requestContext(request), body.passkey === true);
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return { options: result.value };
    },
  );

  api.post(
    '/api/v1/me/two-factor/webauthn/registration',
    {
      config: { allowSetupSession: true },
      schema: {
        tags: ['two-factor'],
        summary: 'Finish adding a security key with what navigator.credentials.create() returned',
        response: { 200: Type.Object({ ...EnrolmentDoneFields, key: KeyAnswer }), ...ErrorAnswers },
        description:
          'Answers `recovery_codes` (shown once) when this is the first factor, a new full `session_token` when it completes a setup-only session, and the `key`.',
        security: bearerSecurity,
        body: Type.Object({ name: Type.Optional(KeyName), credential: WebauthnCredential, passkey: Type.Optional(Type.Boolean()) }),
      },
    },
    async (request, reply) => {
      const result = await finishKeyRegistration(
        deps,
        signedInOf(request),
        { name: request.body.name, credential: request.body.credential, passkey: request.body.passkey === true },
        requestContext(request),
      );
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return { ...enrolmentDoneBody(result.value), key: keyBody(result.value.key) };
    },
  );

  api.post(
    '/api/v1/me/two-factor/webauthn/confirmation/options',
    {
      schema: {
        tags: ['two-factor'],
        summary: 'Options to confirm a sensitive action with a security key',
        response: { 200: OptionsAnswer, ...ErrorAnswers },
        description:
          'Sign them with navigator.credentials.get() and send the result as a confirmation: `method: "webauthn"` and `code` = the credential as a JSON string. Good for 5 minutes and one use.',
        security: bearerSecurity,
      },
    },
    async (request, reply) => {
      const result = await confirmationOptions(deps, signedInOf(request));
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return { options: result.value };
    },
  );

  api.patch(
    '/api/v1/me/two-factor/webauthn/:id',
    {
      schema: {
        tags: ['two-factor'],
        summary: 'Rename a security key',
        security: bearerSecurity,
        params: KeyParams,
        body: Type.Object({ name: KeyName }),
        response: { 200: Type.Object({ key: KeyAnswer }), ...ErrorAnswers },
      },
    },
    async (request, reply) => {
      const result = await renameSecurityKey(deps, signedInOf(request), { id: request.params.id, name: request.body.name }, requestContext(request));
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return { key: keyBody(result.value) };
    },
  );

  api.delete(
    '/api/v1/me/two-factor/webauthn/:id',
    {
      schema: {
        tags: ['two-factor'],
        summary: 'Remove a security key (needs a confirmation)',
        response: { 200: StatusAnswer('removed'), ...ErrorAnswers },
        description:
          'Trusted computers are forgotten. Your only two-factor method cannot be removed this way (409 `last_two_factor_method`): turn two-factor authentication off instead.',
        security: bearerSecurity,
        params: KeyParams,
        body: Type.Object(ConfirmationFields),
      },
    },
    async (request, reply) => {
      const result = await removeSecurityKey(deps, signedInOf(request), { id: request.params.id, confirmation: request.body }, requestContext(request));
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return { status: 'removed' };
    },
  );
}
