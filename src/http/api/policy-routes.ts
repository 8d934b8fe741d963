import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import type { ServiceDeps } from '../../services/deps.js';
import { policyOf, updateSecurityPolicy, type SecurityPolicy } from '../../services/security-policy.js';
import { sendApiFailure } from '../errors.js';
import { requestContext } from '../request-context.js';
import { adminActorOf, requireAdmin } from './authenticated.js';
import { iso } from './outcomes.js';
import { ErrorAnswers, NullableTimestamp, OptionalConfirmationFields, bearerSecurity } from './schemas.js';

const PolicyAnswer = Type.Object({
  require_two_factor: Type.Union([Type.Literal('off'), Type.Literal('staff')]),
  require_two_factor_since: NullableTimestamp,
  grace_days: Type.Integer(),
  session_days: Type.Integer(),
  trusted_device_days: Type.Integer(),
  country: Type.String({ description: 'ISO 3166-1 alpha-2: where national phone numbers are read.' }),
  sms_daily_budget: Type.Union([Type.Integer(), Type.Null()], { description: 'null: the default budget.' }),
  sms_allowed_countries: Type.Union([Type.Array(Type.String()), Type.Null()], { description: 'null: every country.' }),
  require_security_keys_for_admins: Type.Boolean(),
  passkey_sign_in: Type.Boolean(),
});

export function policyBody(policy: SecurityPolicy): Static<typeof PolicyAnswer> {
  return {
    require_two_factor: policy.requireTwoFactor,
    require_two_factor_since: iso(policy.requireTwoFactorSince),
    grace_days: policy.graceDays,
    session_days: policy.sessionDays,
    trusted_device_days: policy.trustedDeviceDays,
    country: policy.country,
    sms_daily_budget: policy.smsDailyBudget,
    sms_allowed_countries: policy.smsAllowedCountries,
    require_security_keys_for_admins: policy.securityKeysForAdmins,
    passkey_sign_in: policy.passkeySignIn,
  };
}

export function registerPolicyRoutes(scope: FastifyInstance, deps: ServiceDeps): void {
  const api = scope.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    '/api/v1/admin/security-policy',
    {
      preHandler: requireAdmin,
      config: { apiTokenScope: 'policy:read' },
      schema: { tags: ['admin'], summary: "The account's security policy", security: bearerSecurity, response: { 200: PolicyAnswer, ...ErrorAnswers } },
    },
    async (request) => policyBody(policyOf(adminActorOf(request).account)),
  );

  api.put(
    '/api/v1/admin/security-policy',
    {
      preHandler: requireAdmin,
      config: { apiTokenScope: 'policy:write' },
      schema: {
        tags: ['admin'],
        summary: 'Change the security policy (fields left out keep their value; a person confirms it, an API token with policy:write needs no confirmation)',
        response: { 200: PolicyAnswer, ...ErrorAnswers },
        description:
          "Turning `require_two_factor` off and on again never changes anyone's two-factor authentication. `session_days` 1–90, `trusted_device_days` 0–90 (0: always ask), `grace_days` 0–90. Text messages: `country` (ISO code national numbers are read in), `sms_daily_budget` (null: the default 1000), `sms_allowed_countries` (ISO codes, null: every country). `require_security_keys_for_admins`: admins must sign in with a security key or passkey (those without one add one at their next sign-in); you need a key yourself to turn it on. `passkey_sign_in` (default true): people may sign in with a passkey alone; false keeps passkeys as second factors after the password.",
        security: bearerSecurity,
        body: Type.Object({
          require_two_factor: Type.Optional(Type.Union([Type.Literal('off'), Type.Literal('staff')])),
          grace_days: Type.Optional(Type.Integer()),
          session_days: Type.Optional(Type.Integer()),
          trusted_device_days: Type.Optional(Type.Integer()),
          country: Type.Optional(Type.String({ maxLength: 2 })),
          sms_daily_budget: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
          sms_allowed_countries: Type.Optional(Type.Union([Type.Array(Type.String({ maxLength: 2 }), { maxItems: 250 }), Type.Null()])),
          require_security_keys_for_admins: Type.Optional(Type.Boolean()),
          passkey_sign_in: Type.Optional(Type.Boolean()),
          ...OptionalConfirmationFields,
        }),
      },
    },
    async (request, reply) => {
      const { method, code, ...change } = request.body;
      const result = await updateSecurityPolicy(deps, adminActorOf(request), change, { method, code }, requestContext(request));
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return policyBody(result.value);
    },
  );
}
