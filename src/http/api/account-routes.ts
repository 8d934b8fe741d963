// The account itself: its name and default language (DESIGN.md "Languages").
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import type { ServiceDeps } from '../../services/deps.js';
import { accountSettingsOf, updateAccountSettings, type AccountSettings } from '../../services/preferences.js';
import { sendApiFailure } from '../errors.js';
import { requestContext } from '../request-context.js';
import { requireAdmin, signedInOf } from './authenticated.js';
import { ErrorAnswers, LanguageAnswer, LanguageTag, bearerSecurity } from './schemas.js';

const AccountAnswer = Type.Object({ slug: Type.String(), name: Type.String(), default_language: LanguageAnswer });

// People only: no `config.apiTokenScope`, so an API token is refused (person_required);
// the account's name and language are not among the scopes of DESIGN.md "Automation".
function accountBody(slug: string, settings: AccountSettings): Static<typeof AccountAnswer> {
  return { slug, name: settings.name, default_language: settings.defaultLanguage };
}

export function registerAccountRoutes(scope: FastifyInstance, deps: ServiceDeps): void {
  const api = scope.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    '/api/v1/admin/account',
    {
      preHandler: requireAdmin,
      schema: {
        tags: ['admin'],
        summary: "The account's name and default language",
        security: bearerSecurity,
        response: { 200: AccountAnswer, ...ErrorAnswers },
      },
    },
    async (request) => {
      const { account } = signedInOf(request);
      return accountBody(account.slug, accountSettingsOf(account));
    },
  );

  api.patch(
    '/api/v1/admin/account',
    {
      preHandler: requireAdmin,
      schema: {
        tags: ['admin'],
        summary: 'Rename the account or set its default language (audited; fields left out keep their value)',
        description: '`default_language`: one of en, de, fr, es, pt-BR, ja, ar, for the people who chose none (null: each browser decides).',
        security: bearerSecurity,
        response: { 200: AccountAnswer, ...ErrorAnswers },
        body: Type.Object({ name: Type.Optional(Type.String({ maxLength: 200 })), default_language: Type.Optional(LanguageTag) }),
      },
    },
    async (request, reply) => {
      const signedIn = signedInOf(request);
      const result = await updateAccountSettings(deps, signedIn, request.body, requestContext(request));
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return accountBody(signedIn.account.slug, result.value);
    },
  );
}
