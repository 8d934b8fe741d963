import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { ServiceDeps } from '../../services/deps.js';
import { changePassword } from '../../services/passwords.js';
import { twoFactorSummary } from '../../services/profile.js';
import { endSession, type SignedIn } from '../../services/sessions.js';
import { sendApiFailure } from '../errors.js';
import { requestContext } from '../request-context.js';
import { signedInOf } from './authenticated.js';
import { preferencesOf, setPreferences } from '../../services/preferences.js';
import { LanguageTag, Password, TimeZone, bearerSecurity } from './schemas.js';

export async function meBody(deps: ServiceDeps, signedIn: SignedIn): Promise<Record<string, unknown>> {
  const { user, account, session } = signedIn;
  const summary = await twoFactorSummary(deps.db, user, deps.now());
  const preferences = preferencesOf(user);
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    language: preferences.language,
    time_zone: preferences.timeZone,
    account: { slug: account.slug, name: account.name },
    two_factor: { enabled: summary.enabled, methods: summary.methods, preferred: summary.preferred, recovery_codes_left: summary.recoveryCodesLeft },
    session: { kind: session.kind, expires_at: new Date(session.expires_at).toISOString() },
  };
}

export function registerMeRoutes(scope: FastifyInstance, deps: ServiceDeps): void {
  const api = scope.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    '/api/v1/me',
    { config: { allowSetupSession: true }, schema: { tags: ['me'], summary: 'Who is signed in, and their two-factor state', security: bearerSecurity } },
    async (request) => meBody(deps, signedInOf(request)),
  );

  api.post(
    '/api/v1/sign-out',
    { config: { allowSetupSession: true }, schema: { tags: ['sign-in'], summary: 'End this session', security: bearerSecurity } },
    async (request) => {
      await endSession(deps, signedInOf(request), requestContext(request));
      return { status: 'signed_out' };
    },
  );

  api.put(
    '/api/v1/me/password',
    {
      schema: {
        tags: ['me'],
        summary: 'Change your password (your other sessions end)',
        security: bearerSecurity,
        body: Type.Object({ current_password: Password, new_password: Password }),
      },
    },
    async (request, reply) => {
      const result = await changePassword(
        deps,
        signedInOf(request),
        { currentPassword: request.body.current_password, newPassword: request.body.new_password },
        requestContext(request),
      );
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return { status: 'password_changed' };
    },
  );

  api.put(
    '/api/v1/me/preferences',
    {
      schema: {
        tags: ['me'],
        summary: 'Your language and time zone (fields left out keep their value; null clears one)',
        description:
          '`language`: one of en, de, fr, es, pt-BR, ja, ar (null: the account default, else the browser). `time_zone`: an IANA name such as Europe/Berlin (null: UTC). Pages, emails and texts follow them.',
        security: bearerSecurity,
        body: Type.Object({ language: Type.Optional(LanguageTag), time_zone: Type.Optional(TimeZone) }),
      },
    },
    async (request, reply) => {
      const result = await setPreferences(deps, signedInOf(request), request.body);
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return { language: result.value.language, time_zone: result.value.timeZone };
    },
  );
}
