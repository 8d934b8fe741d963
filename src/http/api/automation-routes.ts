// Automation (DESIGN.md, Automation): the account's API tokens and webhooks, for its
// admins, in person only: no API token reaches these routes (none declares a scope),
// so a token can neither make another nor send the account's events elsewhere.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { API_TOKEN_SCOPES, MAX_API_TOKEN_DAYS, WEBHOOK_EVENTS } from '../../domain/automation.js';
import { createApiToken, listApiTokens, revokeApiToken, type ApiTokenView } from '../../services/api-tokens.js';
import type { ServiceDeps } from '../../services/deps.js';
import {
  createWebhook,
  deleteWebhook,
  getWebhook,
  listDeliveries,
  listWebhooks,
  resendDelivery,
  updateWebhook,
  type WebhookDeliveryView,
  type WebhookView,
} from '../../services/webhooks.js';
import { sendApiFailure } from '../errors.js';
import { requestContext } from '../request-context.js';
import { requireAdmin, signedInOf } from './authenticated.js';
import { PAGE_SIZE, decodeCursor, encodeCursor } from './cursor.js';
import { iso } from './outcomes.js';
import { ErrorAnswers, OptionalConfirmationFields, bearerSecurity } from './schemas.js';

const Id = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const Timestamp = Type.String({ format: 'date-time' });
const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);
const Scope = Type.Enum([...API_TOKEN_SCOPES]);
const WebhookEventName = Type.Enum([...WEBHOOK_EVENTS]);

const ApiTokenBody = Type.Object({
  id: Type.String(),
  name: Type.String(),
  scopes: Type.Array(Scope),
  created_by: Type.Union([Type.Object({ id: Type.String(), email: Type.String() }), Type.Null()]),
  created_at: Timestamp,
  last_used_at: NullableTimestamp,
  expires_at: Timestamp,
  revoked_at: NullableTimestamp,
});

function apiTokenBody(token: ApiTokenView) {
  return {
    id: token.id,
    name: token.name,
    scopes: token.scopes,
    created_by: token.createdBy,
    created_at: iso(token.createdAt)!,
    last_used_at: iso(token.lastUsedAt),
    expires_at: iso(token.expiresAt)!,
    revoked_at: iso(token.revokedAt),
  };
}

const WebhookBody = Type.Object({
  id: Type.String(),
  url: Type.String(),
  events: Type.Array(WebhookEventName),
  status: Type.Union([Type.Literal('active'), Type.Literal('paused')]),
  failing_since: NullableTimestamp,
  created_at: Timestamp,
  updated_at: Timestamp,
});

function webhookBody(webhook: WebhookView) {
  return {
    id: webhook.id,
    url: webhook.url,
    events: webhook.events,
    status: webhook.status,
    failing_since: iso(webhook.failingSince),
    created_at: iso(webhook.createdAt)!,
    updated_at: iso(webhook.updatedAt)!,
  };
}

const DeliveryBody = Type.Object({
  id: Type.String(),
  webhook_id: Type.String({ description: 'The `webhook-id` header of every attempt: the same for every retry and resend of this event.' }),
  event: Type.String({ description: 'The event type, such as user.suspended.' }),
  status: Type.Union([Type.Literal('pending'), Type.Literal('paused'), Type.Literal('delivered'), Type.Literal('failed')], {
    description: '`paused`: held while the webhook is paused, sent when it is resumed.',
  }),
  attempts: Type.Integer(),
  last_response_status: Type.Union([Type.Integer(), Type.Null()]),
  last_error: Type.Union([Type.String(), Type.Null()]),
  next_attempt_at: NullableTimestamp,
  delivered_at: NullableTimestamp,
  created_at: Timestamp,
});

function deliveryBody(delivery: WebhookDeliveryView) {
  return {
    id: delivery.id,
    webhook_id: delivery.eventId,
    event: delivery.event,
    status: delivery.status,
    attempts: delivery.attempts,
    last_response_status: delivery.lastResponseStatus,
    last_error: delivery.lastError,
    next_attempt_at: iso(delivery.nextAttemptAt),
    delivered_at: iso(delivery.deliveredAt),
    created_at: iso(delivery.createdAt)!,
  };
}

export function registerAutomationRoutes(scope: FastifyInstance, deps: ServiceDeps): void {
  const api = scope.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['automation'];

  api.get(
    '/api/v1/admin/api-tokens',
    {
      preHandler: requireAdmin,
      schema: {
        tags,
        summary: "The account's API tokens, newest first (revoked ones included, with when)",
        security: bearerSecurity,
        response: { 200: Type.Object({ api_tokens: Type.Array(ApiTokenBody) }), ...ErrorAnswers },
      },
    },
    async (request) => ({ api_tokens: (await listApiTokens(deps, signedInOf(request))).map(apiTokenBody) }),
  );

  api.post(
    '/api/v1/admin/api-tokens',
    {
      preHandler: requireAdmin,
      schema: {
        tags,
        summary: 'Make an API token for the admin API; its value is in this answer only',
        description:
          'Needs your confirmation (`method`, `code`). The token (`tsr_…`) acts with your admin rights within its scopes, for this account only, while you are an admin; never on sign-in, `/me`, or anything that needs a person to confirm it.',
        security: bearerSecurity,
        body: Type.Object({
          name: Type.String({ maxLength: 200 }),
          scopes: Type.Array(Scope, { minItems: 1, maxItems: API_TOKEN_SCOPES.length * 2 }),
          expires_in_days: Type.Integer({ minimum: 1, maximum: MAX_API_TOKEN_DAYS }),
          ...OptionalConfirmationFields,
        }),
        response: { 200: Type.Object({ ...ApiTokenBody.properties, token: Type.String({ description: 'Shown once: store it now.' }) }), ...ErrorAnswers },
      },
    },
    async (request, reply) => {
      const { name, scopes, expires_in_days: expiresInDays, method, code } = request.body;
      const result = await createApiToken(deps, signedInOf(request), { name, scopes, expiresInDays, confirmation: { method, code } }, requestContext(request));
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return { ...apiTokenBody(result.value.token), token: result.value.value };
    },
  );

  api.delete(
    '/api/v1/admin/api-tokens/:id',
    {
      preHandler: requireAdmin,
      schema: {
        tags,
        summary: 'Revoke an API token: it is refused from the next request on',
        security: bearerSecurity,
        params: Id,
        response: { 204: Type.Null({ description: 'Done.' }), ...ErrorAnswers },
      },
    },
    async (request, reply) => {
      const result = await revokeApiToken(deps, signedInOf(request), request.params.id, requestContext(request));
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return reply.code(204).send(null);
    },
  );

  api.get(
    '/api/v1/admin/webhooks',
    {
      preHandler: requireAdmin,
      schema: {
        tags,
        summary: "The account's webhooks",
        security: bearerSecurity,
        response: { 200: Type.Object({ webhooks: Type.Array(WebhookBody) }), ...ErrorAnswers },
      },
    },
    async (request) => ({ webhooks: (await listWebhooks(deps, signedInOf(request))).map(webhookBody) }),
  );

  api.post(
    '/api/v1/admin/webhooks',
    {
      preHandler: requireAdmin,
      schema: {
        tags,
        summary: 'Add a webhook; its signing secret (`whsec_…`) is in this answer only',
        description:
          'Needs your confirmation (`method`, `code`). Deliveries are signed per the Standard Webhooks specification (`webhook-id`, `webhook-timestamp`, `webhook-signature`), retried with backoff for 24 hours; a webhook failing for a day is paused and the admins are emailed. The URL must be https (http only for 127.0.0.1, localhost or [::1]); private and loopback addresses are refused unless the operator allowed them (TESSERA_OUTBOUND_ALLOW).',
        security: bearerSecurity,
        body: Type.Object({
          url: Type.String({ maxLength: 4000 }),
          events: Type.Array(WebhookEventName, { minItems: 1, maxItems: 100 }),
          ...OptionalConfirmationFields,
        }),
        response: { 200: Type.Object({ ...WebhookBody.properties, secret: Type.String({ description: 'Shown once: store it now.' }) }), ...ErrorAnswers },
      },
    },
    async (request, reply) => {
      const { url, events, method, code } = request.body;
      const result = await createWebhook(deps, signedInOf(request), { url, events, confirmation: { method, code } }, requestContext(request));
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return { ...webhookBody(result.value.webhook), secret: result.value.secret };
    },
  );

  api.get(
    '/api/v1/admin/webhooks/:id',
    {
      preHandler: requireAdmin,
      schema: { tags, summary: 'One webhook', security: bearerSecurity, params: Id, response: { 200: WebhookBody, ...ErrorAnswers } },
    },
    async (request, reply) => {
      const result = await getWebhook(deps, signedInOf(request), request.params.id);
      return result.ok ? webhookBody(result.value) : sendApiFailure(reply, result.failure);
    },
  );

  api.patch(
    '/api/v1/admin/webhooks/:id',
    {
      preHandler: requireAdmin,
      schema: {
        tags,
        summary: 'Change a webhook: its address, its events, pause or resume it, or rotate its secret',
        description:
          'A new `url` or `rotate_secret: true` needs your confirmation (`method`, `code`); the new secret is in this answer only. `active: true` resumes a paused webhook (resend what it missed from its deliveries).',
        security: bearerSecurity,
        params: Id,
        body: Type.Object({
          url: Type.Optional(Type.String({ maxLength: 4000 })),
          events: Type.Optional(Type.Array(WebhookEventName, { minItems: 1, maxItems: 100 })),
          active: Type.Optional(Type.Boolean()),
          rotate_secret: Type.Optional(Type.Boolean()),
          ...OptionalConfirmationFields,
        }),
        response: {
          200: Type.Object({
            ...WebhookBody.properties,
            secret: Type.Union([Type.String(), Type.Null()], { description: 'The new secret when `rotate_secret` was true (shown once), else null.' }),
          }),
          ...ErrorAnswers,
        },
      },
    },
    async (request, reply) => {
      const { url, events, active, rotate_secret: rotateSecret, method, code } = request.body;
      const result = await updateWebhook(
        deps,
        signedInOf(request),
        request.params.id,
        { url, events, active, rotateSecret, confirmation: { method, code } },
        requestContext(request),
      );
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return { ...webhookBody(result.value.webhook), secret: result.value.secret };
    },
  );

  api.delete(
    '/api/v1/admin/webhooks/:id',
    {
      preHandler: requireAdmin,
      schema: {
        tags,
        summary: 'Remove a webhook and its deliveries',
        security: bearerSecurity,
        params: Id,
        response: { 204: Type.Null({ description: 'Done.' }), ...ErrorAnswers },
      },
    },
    async (request, reply) => {
      const result = await deleteWebhook(deps, signedInOf(request), request.params.id, requestContext(request));
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return reply.code(204).send(null);
    },
  );

  api.get(
    '/api/v1/admin/webhooks/:id/deliveries',
    {
      preHandler: requireAdmin,
      schema: {
        tags,
        summary: "A webhook's deliveries, newest first: event, status, attempts, last answer",
        security: bearerSecurity,
        params: Id,
        querystring: Type.Object({ cursor: Type.Optional(Type.String({ maxLength: 200 })) }),
        response: { 200: Type.Object({ deliveries: Type.Array(DeliveryBody), next_cursor: Type.Union([Type.String(), Type.Null()]) }), ...ErrorAnswers },
      },
    },
    async (request, reply) => {
      const before = decodeCursor(request.query.cursor);
      if (before === 'invalid') return sendApiFailure(reply, { code: 'invalid_request', field: 'cursor', message: 'The cursor is not valid.' });
      const result = await listDeliveries(deps, signedInOf(request), request.params.id, { limit: PAGE_SIZE + 1, before });
      if (!result.ok) return sendApiFailure(reply, result.failure);
      const page = result.value.slice(0, PAGE_SIZE);
      const last = page[page.length - 1];
      return {
        deliveries: page.map(deliveryBody),
        next_cursor: result.value.length > PAGE_SIZE && last ? encodeCursor({ created_at: last.createdAt, id: last.id }) : null,
      };
    },
  );

  api.post(
    '/api/v1/admin/webhooks/:id/deliveries/:delivery_id/resend',
    {
      preHandler: requireAdmin,
      schema: {
        tags,
        summary: 'Send a delivery again, now (a new delivery of the same event: same `webhook-id` and body)',
        security: bearerSecurity,
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }), delivery_id: Type.String({ minLength: 1, maxLength: 64 }) }),
        response: { 200: DeliveryBody, ...ErrorAnswers },
      },
    },
    async (request, reply) => {
      const result = await resendDelivery(deps, signedInOf(request), request.params.id, request.params.delivery_id);
      return result.ok ? deliveryBody(result.value) : sendApiFailure(reply, result.failure);
    },
  );
}
