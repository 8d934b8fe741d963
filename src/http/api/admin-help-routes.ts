import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { adminHelper, issueRecoveryCodeFor, resetTwoFactorFor, unlockSignInFor } from '../../services/admin-help.js';
import { auditCsv, readAuditLog, type AuditEntryView } from '../../services/audit-log.js';
import type { ServiceDeps } from '../../services/deps.js';
import { sendApiFailure } from '../errors.js';
import { requestContext } from '../request-context.js';
import { describeBrowser } from '../../domain/browser-name.js';
import { adminActorOf, requireAdmin, signedInOf } from './authenticated.js';
import { PAGE_SIZE, decodeCursor, encodeCursor } from './cursor.js';
import { iso } from './outcomes.js';
import { Code, ConfirmationMethod, ErrorAnswers, NullableTimestamp, Reason, StatusAnswer, Timestamp, bearerSecurity } from './schemas.js';

const UserId = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const HelpBody = Type.Object({ reason: Reason, method: ConfirmationMethod, code: Code });

const Person = Type.Union([Type.Object({ id: Type.String(), email: Type.String() }), Type.Null()]);
const AuditEntry = Type.Object({
  id: Type.String(),
  type: Type.String({ description: 'What happened, e.g. `sign_in_succeeded`, `role_changed`.' }),
  created_at: Timestamp,
  actor: Person,
  api_token: Type.Union([Type.Object({ id: Type.String(), name: Type.String() }), Type.Null()], {
    description: 'The API token the actor acted through, if any.',
  }),
  subject: Person,
  ip: Type.Union([Type.String(), Type.Null()]),
  browser: Type.Union([Type.String(), Type.Null()]),
  user_agent: Type.Union([Type.String(), Type.Null()]),
  reason: Type.Union([Type.String(), Type.Null()]),
  details: Type.Union([Type.Object({}, { additionalProperties: true, description: 'Depends on the type of event.' }), Type.Null()]),
});
/** JSON, or with `format=csv` the same events as CSV. */
const AuditAnswer = {
  content: {
    'application/json': {
      schema: Type.Object({
        audit_events: Type.Array(AuditEntry),
        next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'Give it as `cursor` for the next page; null on the last one.' }),
      }),
    },
    'text/csv': { schema: Type.String({ description: 'With `format=csv`: every event that matches, a header row first.' }) },
  },
};

/** The person, the reason and the admin's confirmation, as both help routes take them. */
function helpInput(request: FastifyRequest & { params: { id: string }; body: { reason: string; method: string; code: string } }) {
  const { reason, method, code } = request.body;
  return { userId: request.params.id, reason, confirmation: { method, code }, context: requestContext(request) };
}

export function auditEntryBody(entry: AuditEntryView): Static<typeof AuditEntry> {
  return {
    id: entry.id,
    type: entry.type,
    created_at: iso(entry.at)!,
    actor: entry.actor,
    api_token: entry.apiToken,
    subject: entry.subject,
    ip: entry.ip,
    browser: entry.userAgent ? describeBrowser(entry.userAgent) : null,
    user_agent: entry.userAgent,
    reason: entry.reason,
    details: entry.details,
  };
}

export function registerAdminHelpRoutes(scope: FastifyInstance, deps: ServiceDeps): void {
  const api = scope.withTypeProvider<TypeBoxTypeProvider>();

  api.post(
    '/api/v1/admin/users/:id/recovery-code',
    {
      preHandler: requireAdmin,
      schema: {
        tags: ['admin'],
        summary: 'Issue a one-time recovery code for a locked-out person (shown once, expires in 1 hour)',
        response: { 200: Type.Object({ code: Type.String({ description: 'Shown once.' }), expires_at: NullableTimestamp }), ...ErrorAnswers },
        description:
          'Signing in with it gives a setup-only session: the person must enrol again, and their old factors are removed. Not for yourself, nor the owner unless you are the owner.',
        security: bearerSecurity,
        params: UserId,
        body: HelpBody,
      },
    },
    async (request, reply) => {
      const result = await issueRecoveryCodeFor(deps, adminHelper(signedInOf(request)), helpInput(request));
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return { code: result.value.code, expires_at: iso(result.value.expiresAt) };
    },
  );

  api.delete(
    '/api/v1/admin/users/:id/two-factor',
    {
      preHandler: requireAdmin,
      schema: {
        tags: ['admin'],
        summary: "Reset someone's two-factor authentication: they enrol again at their next sign-in",
        response: { 200: StatusAnswer('reset'), ...ErrorAnswers },
        description: 'Removes their factors, recovery codes and trusted computers and ends their sessions.',
        security: bearerSecurity,
        params: UserId,
        body: HelpBody,
      },
    },
    async (request, reply) => {
      const result = await resetTwoFactorFor(deps, adminHelper(signedInOf(request)), helpInput(request));
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return { status: 'reset' };
    },
  );

  api.post(
    '/api/v1/admin/users/:id/unlock',
    {
      preHandler: requireAdmin,
      schema: {
        tags: ['admin'],
        summary: "Lift the pause that too many wrong passwords or passcodes put on someone's sign-in",
        response: { 200: StatusAnswer('unlocked'), ...ErrorAnswers },
        description: 'The person is emailed. Not for yourself, nor the owner unless you are the owner.',
        security: bearerSecurity,
        params: UserId,
        body: HelpBody,
      },
    },
    async (request, reply) => {
      const result = await unlockSignInFor(deps, adminHelper(signedInOf(request)), helpInput(request));
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return { status: 'unlocked' };
    },
  );

  api.get(
    '/api/v1/admin/audit-events',
    {
      preHandler: requireAdmin,
      config: { apiTokenScope: 'audit:read' },
      schema: {
        tags: ['admin'],
        summary: "The account's audit log, newest first (filters: user id or email, type, since, until; format json or csv)",
        response: { 200: AuditAnswer, ...ErrorAnswers },
        security: bearerSecurity,
        querystring: Type.Object({
          user: Type.Optional(Type.String({ maxLength: 320 })),
          type: Type.Optional(Type.String({ maxLength: 100 })),
          since: Type.Optional(Type.String({ maxLength: 40 })),
          until: Type.Optional(Type.String({ maxLength: 40 })),
          format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')])),
          cursor: Type.Optional(Type.String({ maxLength: 200 })),
        }),
      },
    },
    async (request, reply) => {
      const admin = adminActorOf(request);
      const { cursor, format, ...filter } = request.query;
      const before = decodeCursor(cursor);
      if (before === 'invalid') return sendApiFailure(reply, { code: 'invalid_request', field: 'cursor', message: 'The cursor is not valid.' });
      // CSV is an export: everything that matches, up to a generous bound.
      const limit = format === 'csv' ? 100_000 : PAGE_SIZE + 1;
      const result = await readAuditLog(deps, admin, filter, { limit, before });
      if (!result.ok) return sendApiFailure(reply, result.failure);
      if (format === 'csv') {
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="${admin.account.slug}-audit-log.csv"`)
          .send(auditCsv(result.value));
      }
      const page = result.value.slice(0, PAGE_SIZE);
      const last = page[page.length - 1];
      return {
        audit_events: page.map(auditEntryBody),
        next_cursor: result.value.length > PAGE_SIZE && last ? encodeCursor({ created_at: last.at, id: last.id }) : null,
      };
    },
  );
}
