import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import type { ServiceDeps } from '../../services/deps.js';
import { changePassword } from '../../services/passwords.js';
import { twoFactorSummary } from '../../services/profile.js';
import { endSession, type SignedIn } from '../../services/sessions.js';
import { sendApiFailure } from '../errors.js';
import { requestContext } from '../request-context.js';
import { signedInOf } from './authenticated.js';
import { preferencesOf, setPreferences } from '../../services/preferences.js';
import {
  ErrorAnswers,
  FactorTypeSchema,
  LanguageAnswer,
  LanguageTag,
  Password,
  Role,
  StatusAnswer,
  TimeZone,
  TimeZoneAnswer,
  Timestamp,
  bearerSecurity,
} from './schemas.js';

const PreferencesAnswer = Type.Object({ language: LanguageAnswer, time_zone: TimeZoneAnswer });

const MeAnswer = Type.Object({
  id: Type.String(),
  email: Type.String(),
  name: Type.String(),
  role: Role,
  language: LanguageAnswer,
  time_zone: TimeZoneAnswer,
  account: Type.Object({ slug: Type.String(), name: Type.String() }),
  two_factor: Type.Object({
    enabled: Type.Boolean(),
    methods: Type.Array(FactorTypeSchema),
    preferred: Type.Union([FactorTypeSchema, Type.Null()]),
    recovery_codes_left: Type.Integer(),
  }),
  session: Type.Object({
    kind: Type.Union([Type.Literal('full'), Type.Literal('setup')], { description: '`setup`: a session that may only enrol a factor.' }),
    expires_at: Timestamp,
  }),
});

export async function meBody(deps: ServiceDeps, signedIn: SignedIn): Promise<Static<typeof MeAnswer>> {
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
    {
      config: { allowSetupSession: true },
      schema: { tags: ['me'], summary: 'Who is signed in, and their two-factor state', security: bearerSecurity, response: { 200: MeAnswer, ...ErrorAnswers } },
    },
    async (request) => meBody(deps, signedInOf(request)),
  );

  api.post(
    '/api/v1/sign-out',
    {
      config: { allowSetupSession: true },
      schema: { tags: ['sign-in'], summary: 'End this session', security: bearerSecurity, response: { 200: StatusAnswer('signed_out'), ...ErrorAnswers } },
    },
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
        response: { 200: StatusAnswer('password_changed'), ...ErrorAnswers },
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
        response: { 200: PreferencesAnswer, ...ErrorAnswers },
      },
    },
    async (request, reply) => {
      const result = await setPreferences(deps, signedInOf(request), request.body);
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return { language: result.value.language, time_zone: result.value.timeZone };
    },
  );
}
