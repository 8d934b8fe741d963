// The account's apps (DESIGN.md, OpenID Connect and Forward-auth): OpenID Connect
// clients and hosts guarded by forward-auth, for account admins. Adding, changing and
// removing one takes the admin's confirmation and a reason.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { MAX_POST_LOGOUT_REDIRECT_URIS, MAX_REDIRECT_URIS, MAX_URI_LENGTH } from '../../domain/apps.js';
import { ACR } from '../../domain/sign-in-decision.js';
import { adminAppManager, createApp, deleteApp, getApp, listApps, updateApp, type RegisteredApp } from '../../services/apps.js';
import type { ServiceDeps } from '../../services/deps.js';
import { sendApiFailure } from '../errors.js';
import { requestContext } from '../request-context.js';
import { adminActorOf, requireAdmin } from './authenticated.js';
import { iso } from './outcomes.js';
import { Code, ConfirmationMethod, ErrorAnswers, Reason, Role, Timestamp, bearerSecurity } from './schemas.js';

const AppId = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

const AppType = Type.Enum(['confidential', 'public', 'proxy'], {
  description:
    '`confidential`: a server-side app that keeps a secret; `public`: a single-page or mobile app (PKCE, no secret); `proxy`: a host guarded by forward-auth.',
});
const RequiredAcr = Type.Union([Type.Enum([ACR.password, ACR.twoFactor, ACR.phishingResistant]), Type.Null()], {
  description: 'The sign-in strength the app demands of everyone, or null for any.',
});
const URI_RULES = `An absolute https URL (http only for 127.0.0.1, localhost or [::1]), without fragment or user name, at most ${MAX_URI_LENGTH} characters; matched exactly as given.`;
// The bounds a body may not pass; the service says why a value breaks the rules.
const Uri = Type.String({ maxLength: 2 * MAX_URI_LENGTH, description: URI_RULES });
const Uris = (description: string) => Type.Array(Uri, { maxItems: 100, description });

/** The settings an admin gives (all optional on PATCH: fields left out keep their value). */
const SettingsFields = {
  redirect_uris: Type.Optional(Uris(`1 to ${MAX_REDIRECT_URIS} for confidential and public apps, none for proxy apps. ${URI_RULES}`)),
  post_logout_redirect_uris: Type.Optional(Uris(`0 to ${MAX_POST_LOGOUT_REDIRECT_URIS}: where the app may send people after signing out.`)),
  backchannel_logout_uri: Type.Optional(
    Type.Union([Uri, Type.Null()], { description: `Where Tessera posts a logout token when a person signs out. ${URI_RULES}` }),
  ),
  host: Type.Optional(
    Type.Union([Type.String({ maxLength: 300 }), Type.Null()], {
      description: 'Proxy apps only: the host name the reverse proxy guards, with its port if any (unique in the deployment).',
    }),
  ),
  first_party: Type.Optional(Type.Boolean({ description: 'Trusted by the account: people are not asked to consent. Default false.' })),
  allowed_roles: Type.Optional(Type.Array(Role, { maxItems: 10, description: 'Who may sign in to it: a non-empty set. Default ["admin","agent"].' })),
  required_acr: Type.Optional(RequiredAcr),
};
const Name = Type.String({ maxLength: 500, description: '1 to 100 characters.' });
const ConfirmationFields = {
  reason: Type.Optional(Reason),
  method: Type.Optional(ConfirmationMethod),
  code: Type.Optional(Code),
};

const AppBodyFields = {
  id: Type.String(),
  client_id: Type.String({ description: 'The OpenID Connect client_id (the same as id).' }),
  name: Type.String(),
  type: AppType,
  redirect_uris: Type.Array(Type.String()),
  post_logout_redirect_uris: Type.Array(Type.String()),
  backchannel_logout_uri: Type.Union([Type.String(), Type.Null()]),
  host: Type.Union([Type.String(), Type.Null()]),
  first_party: Type.Boolean(),
  allowed_roles: Type.Array(Role),
  required_acr: RequiredAcr,
  created_at: Timestamp,
  updated_at: Timestamp,
};
const AppBody = Type.Object(AppBodyFields);
const AppWithSecretBody = Type.Object({
  ...AppBodyFields,
  client_secret: Type.Optional(Type.String({ description: 'Only in the answer that made it: shown once, only its SHA-256 is kept.' })),
});

/** An app as the API and `bin/tessera app … --json` show it: never its secret. */
export function appBody(app: RegisteredApp) {
  return {
    id: app.id,
    client_id: app.id,
    name: app.name,
    type: app.type,
    redirect_uris: app.redirectUris,
    post_logout_redirect_uris: app.postLogoutRedirectUris,
    backchannel_logout_uri: app.backchannelLogoutUri,
    host: app.host,
    first_party: app.firstParty,
    allowed_roles: app.allowedRoles,
    required_acr: app.requiredAcr,
    created_at: iso(app.createdAt)!,
    updated_at: iso(app.updatedAt)!,
  };
}

function withSecret(app: RegisteredApp, clientSecret: string | null) {
  return { ...appBody(app), ...(clientSecret !== null ? { client_secret: clientSecret } : {}) };
}

export function registerAppRoutes(scope: FastifyInstance, deps: ServiceDeps): void {
  const api = scope.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    '/api/v1/admin/apps',
    {
      preHandler: requireAdmin,
      config: { apiTokenScope: 'apps:write' },
      schema: {
        tags: ['admin'],
        summary: "The account's apps (OpenID Connect clients and forward-auth hosts), newest first, all in one page",
        security: bearerSecurity,
        response: { 200: Type.Object({ apps: Type.Array(AppBody) }), ...ErrorAnswers },
      },
    },
    async (request) => ({ apps: (await listApps(deps, adminAppManager(adminActorOf(request)))).map(appBody) }),
  );

  api.post(
    '/api/v1/admin/apps',
    {
      preHandler: requireAdmin,
      config: { apiTokenScope: 'apps:write' },
      schema: {
        tags: ['admin'],
        summary: 'Register an app; a confidential app gets its client_secret in this answer only',
        description: 'Needs your confirmation (`method`, `code`) and a `reason` for the audit log. `client_id` is the OpenID Connect client id.',
        security: bearerSecurity,
        body: Type.Object({ name: Name, type: AppType, ...SettingsFields, ...ConfirmationFields }),
        response: { 200: AppWithSecretBody, ...ErrorAnswers },
      },
    },
    async (request, reply) => {
      const { method, code, ...fields } = request.body;
      const result = await createApp(deps, adminAppManager(adminActorOf(request)), { ...fields, confirmation: { method, code } }, requestContext(request));
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return withSecret(result.value.app, result.value.clientSecret);
    },
  );

  api.get(
    '/api/v1/admin/apps/:id',
    {
      preHandler: requireAdmin,
      config: { apiTokenScope: 'apps:write' },
      schema: { tags: ['admin'], summary: 'One app of the account', security: bearerSecurity, params: AppId, response: { 200: AppBody, ...ErrorAnswers } },
    },
    async (request, reply) => {
      const result = await getApp(deps, adminAppManager(adminActorOf(request)), request.params.id);
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return appBody(result.value);
    },
  );

  api.patch(
    '/api/v1/admin/apps/:id',
    {
      preHandler: requireAdmin,
      config: { apiTokenScope: 'apps:write' },
      schema: {
        tags: ['admin'],
        summary: "Change an app (fields left out keep their value), or replace a confidential app's secret",
        description:
          'Needs your confirmation (`method`, `code`) and a `reason`. `rotate_secret: true` makes a new `client_secret`, returned in this answer only; the old one stops working at once. An app keeps its type.',
        security: bearerSecurity,
        params: AppId,
        body: Type.Object({
          name: Type.Optional(Name),
          type: Type.Optional(AppType),
          ...SettingsFields,
          rotate_secret: Type.Optional(Type.Boolean({ description: 'Confidential apps: make a new secret.' })),
          ...ConfirmationFields,
        }),
        response: { 200: AppWithSecretBody, ...ErrorAnswers },
      },
    },
    async (request, reply) => {
      const { method, code, ...fields } = request.body;
      const result = await updateApp(
        deps,
        adminAppManager(adminActorOf(request)),
        request.params.id,
        { ...fields, confirmation: { method, code } },
        requestContext(request),
      );
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return withSecret(result.value.app, result.value.clientSecret);
    },
  );

  api.delete(
    '/api/v1/admin/apps/:id',
    {
      preHandler: requireAdmin,
      config: { apiTokenScope: 'apps:write' },
      schema: {
        tags: ['admin'],
        summary: 'Remove an app: every grant, code and token it holds ends with it',
        description: 'Needs your confirmation (`method`, `code`) and a `reason`.',
        security: bearerSecurity,
        params: AppId,
        body: Type.Object(ConfirmationFields),
        response: { 204: Type.Null({ description: 'Removed.' }), ...ErrorAnswers },
      },
    },
    async (request, reply) => {
      const { reason, method, code } = request.body;
      const result = await deleteApp(
        deps,
        adminAppManager(adminActorOf(request)),
        request.params.id,
        { reason, confirmation: { method, code } },
        requestContext(request),
      );
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return reply.code(204).send(null);
    },
  );
}
