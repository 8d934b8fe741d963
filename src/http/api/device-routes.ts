import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { ServiceDeps } from '../../services/deps.js';
import { forgetTrustedDevices, listSessions, listTrusted, revokeSessions } from '../../services/devices.js';
import { sendApiFailure } from '../errors.js';
import { requestContext } from '../request-context.js';
import { signedInOf } from './authenticated.js';
import { iso } from './outcomes.js';
import { ErrorAnswers, NoContent, Timestamp, bearerSecurity } from './schemas.js';

const Id = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

const SessionsAnswer = Type.Object({
  sessions: Type.Array(
    Type.Object({
      id: Type.String(),
      browser: Type.String({ description: 'Browser and system, as read from the User-Agent ("Firefox on Linux").' }),
      ip: Type.Union([Type.String(), Type.Null()]),
      created_at: Timestamp,
      last_seen_at: Timestamp,
      expires_at: Timestamp,
      current: Type.Boolean({ description: 'The session of this request.' }),
    }),
  ),
});
const TrustedDevicesAnswer = Type.Object({
  trusted_devices: Type.Array(
    Type.Object({
      id: Type.String(),
      browser: Type.String(),
      created_at: Timestamp,
      last_used_at: Timestamp,
      expires_at: Timestamp,
      current: Type.Boolean({ description: 'The computer this session signed in on.' }),
    }),
  ),
});

export function registerDeviceRoutes(scope: FastifyInstance, deps: ServiceDeps): void {
  const api = scope.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    '/api/v1/me/sessions',
    { schema: { tags: ['me'], summary: 'Your active sessions, newest first', security: bearerSecurity, response: { 200: SessionsAnswer, ...ErrorAnswers } } },
    async (request) => ({
      sessions: (await listSessions(deps, signedInOf(request))).map((s) => ({
        id: s.id,
        browser: s.browser,
        ip: s.ip,
        created_at: iso(s.createdAt),
        last_seen_at: iso(s.lastSeenAt),
        expires_at: iso(s.expiresAt),
        current: s.current,
      })),
    }),
  );

  api.delete(
    '/api/v1/me/sessions',
    {
      schema: {
        tags: ['me'],
        summary: 'Sign out everywhere else (every session but this one)',
        security: bearerSecurity,
        response: { 204: NoContent, ...ErrorAnswers },
      },
    },
    async (request, reply) => {
      const result = await revokeSessions(deps, signedInOf(request), undefined, requestContext(request));
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return reply.code(204).send(null);
    },
  );

  api.delete(
    '/api/v1/me/sessions/:id',
    { schema: { tags: ['me'], summary: 'End one session', security: bearerSecurity, params: Id, response: { 204: NoContent, ...ErrorAnswers } } },
    async (request, reply) => {
      const result = await revokeSessions(deps, signedInOf(request), request.params.id, requestContext(request));
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return reply.code(204).send(null);
    },
  );

  api.get(
    '/api/v1/me/trusted-devices',
    {
      schema: {
        tags: ['me'],
        summary: 'Your trusted computers, newest first',
        security: bearerSecurity,
        response: { 200: TrustedDevicesAnswer, ...ErrorAnswers },
      },
    },
    async (request) => ({
      trusted_devices: (await listTrusted(deps, signedInOf(request))).map((d) => ({
        id: d.id,
        browser: d.browser,
        created_at: iso(d.createdAt),
        last_used_at: iso(d.lastUsedAt),
        expires_at: iso(d.expiresAt),
        current: d.current,
      })),
    }),
  );

  api.delete(
    '/api/v1/me/trusted-devices',
    { schema: { tags: ['me'], summary: 'Forget all trusted computers', security: bearerSecurity, response: { 204: NoContent, ...ErrorAnswers } } },
    async (request, reply) => {
      const result = await forgetTrustedDevices(deps, signedInOf(request), undefined, requestContext(request));
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return reply.code(204).send(null);
    },
  );

  api.delete(
    '/api/v1/me/trusted-devices/:id',
    { schema: { tags: ['me'], summary: 'Forget one trusted computer', security: bearerSecurity, params: Id, response: { 204: NoContent, ...ErrorAnswers } } },
    async (request, reply) => {
      const result = await forgetTrustedDevices(deps, signedInOf(request), request.params.id, requestContext(request));
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return reply.code(204).send(null);
    },
  );
}
