import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import type { ServiceDeps } from '../../services/deps.js';
import { twoFactorSummary } from '../../services/profile.js';
import { peopleCsv } from '../../services/audit-log.js';
import { changeRole, inviteUser, listPeople, readPeopleFilter, setSuspended } from '../../services/users.js';
import type { User } from '../../store/schema.js';
import { sendApiFailure } from '../errors.js';
import { requestContext } from '../request-context.js';
import { adminActorOf, requireAdmin } from './authenticated.js';
import { PAGE_SIZE, decodeCursor, encodeCursor } from './cursor.js';
import { iso } from './outcomes.js';
import { AdminUser, Code, ConfirmationMethod, Email, ErrorAnswers, LanguageTag, Reason, Role, bearerSecurity } from './schemas.js';

export async function adminUserBody(deps: ServiceDeps, user: User): Promise<Static<typeof AdminUser>> {
  const summary = await twoFactorSummary(deps.db, user, deps.now());
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    suspended: user.suspended_at !== null,
    invitation_pending: user.password_hash === null,
    created_at: iso(user.created_at)!,
    updated_at: iso(user.updated_at)!,
    last_sign_in_at: iso(user.last_sign_in_at),
    passcode_locked_until: user.passcode_locked_until !== null && user.passcode_locked_until > deps.now() ? iso(user.passcode_locked_until) : null,
    two_factor: {
      enabled: summary.enabled,
      methods: summary.methods,
      last_used_at: iso(summary.lastUsedAt),
      recovery_codes_left: summary.recoveryCodesLeft,
      passkeys: summary.passkeys,
    },
  };
}

const UserId = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

const UsersPage = Type.Object({
  users: Type.Array(AdminUser),
  next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'Give it as `cursor` for the next page; null on the last one.' }),
});
/** JSON, or with `format=csv` the same people as CSV (one row a person). */
const UsersAnswer = {
  content: {
    'application/json': { schema: UsersPage },
    'text/csv': { schema: Type.String({ description: 'With `format=csv`: a header row, then one row a person.' }) },
  },
};

export function registerAdminRoutes(scope: FastifyInstance, deps: ServiceDeps): void {
  const api = scope.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    '/api/v1/admin/users',
    {
      preHandler: requireAdmin,
      config: { apiTokenScope: 'users:read' },
      schema: {
        tags: ['admin'],
        summary: "The account's people and their two-factor state, newest first",
        response: { 200: UsersAnswer, ...ErrorAnswers },
        description:
          '`two_factor.methods` are method codes (a passkey is a `webauthn` key); `two_factor.passkeys` counts the keys that are passkeys, which sign in alone. `format=csv`: the same, one row a person, with `passkeys` as the last column.\n\nFor sync scripts: `email` finds one person by address (case-insensitive); `updated_since` (ISO 8601, e.g. `2026-11-28T12:00:00Z`) keeps the people whose `updated_at` is at or after it. A change of role, suspension, two-factor methods or recovery codes, password, or a sign-in moves `updated_at`. Filters combine with each other and with `cursor` (pages stay newest first by `created_at`); keep the time you started a sync and give it as `updated_since` next time.',
        security: bearerSecurity,
        querystring: Type.Object({
          filter: Type.Optional(Type.Union([Type.Literal('staff_without_2fa')])),
          email: Type.Optional(Type.String({ maxLength: 320, description: 'One address, matched case-insensitively.' })),
          updated_since: Type.Optional(Type.String({ maxLength: 40, description: 'ISO 8601 date or time: people whose `updated_at` is at or after it.' })),
          cursor: Type.Optional(Type.String({ maxLength: 200 })),
          format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')])),
        }),
      },
    },
    async (request, reply) => {
      const signedIn = adminActorOf(request);
      const filter = readPeopleFilter({ email: request.query.email, updatedSince: request.query.updated_since });
      if (!filter.ok) return sendApiFailure(reply, filter.failure);
      const staffWithoutTwoFactor = request.query.filter === 'staff_without_2fa';
      if (request.query.format === 'csv') {
        const everyone = await listPeople(deps, signedIn.account.id, { limit: 100_000, before: null, staffWithoutTwoFactor, ...filter.value });
        const rows = await Promise.all(
          everyone.map(async (user) => ({
            email: user.email,
            name: user.name,
            role: user.role,
            suspended: user.suspended_at !== null,
            ...(await twoFactorSummary(deps.db, user, deps.now())),
          })),
        );
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="${signedIn.account.slug}-people.csv"`)
          .send(peopleCsv(rows));
      }
      const before = decodeCursor(request.query.cursor);
      if (before === 'invalid') return sendApiFailure(reply, { code: 'invalid_request', field: 'cursor', message: 'The cursor is not valid.' });
      const users = await listPeople(deps, signedIn.account.id, { limit: PAGE_SIZE + 1, before, staffWithoutTwoFactor, ...filter.value });
      const page = users.slice(0, PAGE_SIZE);
      const last = page[page.length - 1];
      return {
        users: await Promise.all(page.map((user) => adminUserBody(deps, user))),
        next_cursor: users.length > PAGE_SIZE && last ? encodeCursor(last) : null,
      };
    },
  );

  api.post(
    '/api/v1/admin/users',
    {
      preHandler: requireAdmin,
      config: { apiTokenScope: 'users:write' },
      schema: {
        tags: ['admin'],
        summary: 'Invite someone by email (a set-password link valid 72 hours)',
        response: { 200: AdminUser, ...ErrorAnswers },
        description: 'Inviting an admin gives power: it needs your confirmation (`method`, `code`) and a `reason` for the audit log.',
        security: bearerSecurity,
        body: Type.Object({
          email: Email,
          role: Role,
          name: Type.Optional(Type.String({ maxLength: 200 })),
          language: Type.Optional(LanguageTag),
          reason: Type.Optional(Reason),
          method: Type.Optional(ConfirmationMethod),
          code: Type.Optional(Code),
        }),
      },
    },
    async (request, reply) => {
      const { method, code, ...person } = request.body;
      const result = await inviteUser(deps, adminActorOf(request), { ...person, confirmation: { method, code } }, requestContext(request));
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return adminUserBody(deps, result.value);
    },
  );

  api.patch(
    '/api/v1/admin/users/:id',
    {
      preHandler: requireAdmin,
      config: { apiTokenScope: 'users:write' },
      schema: {
        tags: ['admin'],
        summary: "Change someone's role, or suspend or reactivate them (suspension ends their sessions)",
        response: { 200: AdminUser, ...ErrorAnswers },
        description: 'Each gives or takes power: it needs your confirmation (`method`, `code`) and a `reason` for the audit log, and the person is emailed.',
        security: bearerSecurity,
        params: UserId,
        body: Type.Object({
          role: Type.Optional(Role),
          suspended: Type.Optional(Type.Boolean()),
          reason: Type.Optional(Reason),
          method: Type.Optional(ConfirmationMethod),
          code: Type.Optional(Code),
        }),
      },
    },
    async (request, reply) => {
      const signedIn = adminActorOf(request);
      const context = requestContext(request);
      const { role, suspended, reason, method, code } = request.body;
      const change = { reason, confirmation: { method, code } };
      // One change per request, so each is one transaction that fully happens or not at all.
      if ((role === undefined) === (suspended === undefined)) {
        return sendApiFailure(reply, { code: 'invalid_request', message: 'Give either role or suspended.' });
      }
      const result =
        role !== undefined
          ? await changeRole(deps, signedIn, request.params.id, role, change, context)
          : await setSuspended(deps, signedIn, request.params.id, suspended === true, change, context);
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return adminUserBody(deps, result.value);
    },
  );
}
