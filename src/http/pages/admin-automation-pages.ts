// /admin/automation: the account's API tokens and webhooks (DESIGN.md, Automation), and
// /admin/webhooks/:id, one webhook's deliveries. Making a token or a webhook takes the
// admin's own confirmation in the same form; its token or signing secret is shown on the
// page the form leads to, this once (the answer is not cached: security headers).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { API_TOKEN_SCOPES, API_TOKEN_SCOPE_WORDS, WEBHOOK_EVENTS, type WebhookEvent } from '../../domain/automation.js';
import type { Failure } from '../../domain/failures.js';
import type { Translator } from '../../i18n/translator.js';
import { createApiToken, listApiTokens, revokeApiToken, type ApiTokenView } from '../../services/api-tokens.js';
import { confirmationMethods } from '../../services/confirmation.js';
import type { SignedIn } from '../../services/sessions.js';
import {
  createWebhook,
  deleteWebhook,
  getWebhook,
  listDeliveries,
  listWebhooks,
  resendDelivery,
  updateWebhook,
  type WebhookView,
} from '../../services/webhooks.js';
import { messageFor } from '../errors.js';
import { html, type Html } from '../html.js';
import { requestContext } from '../request-context.js';
import { confirmationFields, sendConfirmationCodeForms } from './confirmation-fields.js';
import { csrfField, field, formConfirmation, formString } from './forms.js';
import type { PageKit } from './kit.js';

const PAGE = '/admin/automation';
const EXPIRY_CHOICES = [7, 30, 90, 365] as const;

const EVENT_WORDS: Record<WebhookEvent, string> = {
  'user.invited': 'Someone was invited',
  'user.created': 'Someone was added',
  'user.suspended': 'Someone was suspended',
  'user.role_changed': "Someone's role changed",
  'two_factor.enabled': 'Someone turned on a two-factor method',
  'two_factor.disabled': 'Someone turned off two-factor authentication',
  'two_factor.reset_by_admin': "An admin reset someone's two-factor authentication",
  'recovery_code.issued_by_admin': 'An admin issued a one-time recovery code',
  'sign_in.locked': 'A sign-in was locked after too many wrong passwords',
  'sign_in.new_computer': 'Someone signed in from a new computer',
  'security_policy.changed': 'The account security settings changed',
  'app.created': 'An app was added',
  'app.deleted': 'An app was removed',
};

/** A form's checked boxes named `prefix:value` (one per choice). */
function checkedChoices(body: unknown, prefix: string, choices: readonly string[]): string[] {
  return choices.filter((choice) => formString(body, `${prefix}:${choice}`) === '1');
}

function tokenStatus(t: Translator, token: ApiTokenView, now: number): string {
  if (token.revokedAt !== null) return `Revoked ${t.moment(token.revokedAt)}`;
  if (token.expiresAt <= now) return 'Expired';
  return `Expires ${t.moment(token.expiresAt)}`;
}

interface FormState {
  failure: Failure | null;
  values: Record<string, string>;
  checked: string[];
}

const EMPTY: FormState = { failure: null, values: {}, checked: [] };

export function registerAdminAutomationPages(
  app: FastifyInstance,
  kit: PageKit,
  requireAdmin: (request: FastifyRequest, reply: FastifyReply) => SignedIn | null,
): void {
  const errorOf = (state: FormState, name: string) => (state.failure && state.failure.field === name ? messageFor(state.failure) : null);
  const generalError = (state: FormState) =>
    state.failure && !['name', 'scopes', 'expires_in_days', 'url', 'events'].includes(state.failure.field ?? '') ? messageFor(state.failure) : null;

  const automationPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    admin: SignedIn,
    options: { token?: FormState; webhook?: FormState; notice?: { kind: 'success' | 'error'; text: string } | null; status?: number } = {},
  ) => {
    const csrf = kit.csrfToken(request, reply);
    const now = kit.deps.now();
    const methods = await confirmationMethods(kit.deps.db, admin.user, admin.account);
    const tokens = await listApiTokens(kit.deps, admin);
    const webhooks = await listWebhooks(kit.deps, admin);
    const tokenForm = options.token ?? EMPTY;
    const webhookForm = options.webhook ?? EMPTY;
    const tokenRows = tokens.map(
      (token) => html`<tr>
        <td data-label="Name">${token.name}</td>
        <td data-label="Scopes">${token.scopes.join(', ')}</td>
        <td data-label="Made by">${token.createdBy?.email ?? '—'}</td>
        <td data-label="Last used">${token.lastUsedAt === null ? 'Never' : request.i18n.moment(token.lastUsedAt)}</td>
        <td data-label="Status">${tokenStatus(request.i18n, token, now)}</td>
        <td data-label="Actions">
          ${
            token.revokedAt === null && token.expiresAt > now
              ? html`<form method="post" action="/admin/api-tokens/${token.id}/revoke" class="inline">
                ${csrfField(csrf)}<button type="submit" class="link">Revoke<span class="visually-hidden"> ${token.name}</span></button>
              </form>`
              : ''
          }
        </td>
      </tr>`,
    );
    const webhookRows = webhooks.map(
      (webhook) => html`<tr>
        <td data-label="Address"><a href="/admin/webhooks/${webhook.id}">${webhook.url}</a></td>
        <td data-label="Events">${webhook.events.length === WEBHOOK_EVENTS.length ? 'All events' : webhook.events.join(', ')}</td>
        <td data-label="Status">${webhookStatus(request.i18n, webhook)}</td>
      </tr>`,
    );
    return kit.send(
      request,
      reply,
      {
        title: 'Automation',
        current: 'admin-automation',
        notice: options.notice ?? null,
        body: html`<h1>Automation</h1>
          ${sendConfirmationCodeForms(csrf, PAGE, methods)}
          <section class="card" aria-labelledby="tokens-heading">
            <h2 id="tokens-heading">API tokens</h2>
            <p>Scripts use a token for the admin API (<a href="/openapi.json">/openapi.json</a>): to add and suspend people from your HR system, or to read the audit log into your SIEM. A token acts with your admin rights, within its scopes, for ${admin.account.name} only, and stops working if you stop being an admin. It cannot sign in, make anyone an admin, or confirm what needs a person.</p>
            ${
              tokens.length === 0
                ? html`<p>No API tokens yet.</p>`
                : html`<div class="table-wrap"><table class="stack">
                  <thead><tr><th scope="col">Name</th><th scope="col">Scopes</th><th scope="col">Made by</th><th scope="col">Last used</th><th scope="col">Status</th><th scope="col">Actions</th></tr></thead>
                  <tbody>${tokenRows}</tbody>
                </table></div>`
            }
            <h3>New API token</h3>
            ${generalError(tokenForm) ? html`<p class="error" role="alert">${generalError(tokenForm)}</p>` : ''}
            <form method="post" action="/admin/api-tokens" novalidate>
              ${csrfField(csrf)}
              ${field({ name: 'name', id: 'token-name', label: 'Name', value: tokenForm.values.name ?? '', maxlength: 100, autocomplete: 'off', hint: 'What it is for, e.g. HR sync.', error: errorOf(tokenForm, 'name') })}
              <fieldset${errorOf(tokenForm, 'scopes') ? html` class="has-error" aria-describedby="scopes-error"` : ''}>
                <legend>Scopes</legend>
                ${errorOf(tokenForm, 'scopes') ? html`<p class="error" id="scopes-error">${errorOf(tokenForm, 'scopes')}</p>` : ''}
                ${API_TOKEN_SCOPES.map(
                  (scope) =>
                    html`<label class="checkbox"><input type="checkbox" name="scope:${scope}" value="1"${tokenForm.checked.includes(scope) ? html` checked` : ''}> <code>${scope}</code>: ${API_TOKEN_SCOPE_WORDS[scope]}</label>`,
                )}
              </fieldset>
              <div class="field">
                <label for="token-expiry">Expires after</label>
                <select id="token-expiry" name="expires_in_days">
                  ${EXPIRY_CHOICES.map((days) => html`<option value="${String(days)}"${String(days) === (tokenForm.values.expires_in_days ?? '90') ? html` selected` : ''}>${days} days</option>`)}
                </select>
              </div>
              ${confirmationFields({ prefix: 'token', error: tokenForm.failure?.field === 'code' ? messageFor(tokenForm.failure) : null, methods })}
              <button type="submit" class="primary">Make token</button>
            </form>
          </section>
          <section class="card" aria-labelledby="webhooks-heading">
            <h2 id="webhooks-heading">Webhooks</h2>
            <p>Tessera sends the events you choose to your address as they happen, signed per the Standard Webhooks specification, and tries again for a day if your receiver is down. A webhook that fails for a day is paused and the admins are emailed. Events carry ids and facts, never passwords or codes.</p>
            ${
              webhooks.length === 0
                ? html`<p>No webhooks yet.</p>`
                : html`<div class="table-wrap"><table class="stack">
                  <thead><tr><th scope="col">Address</th><th scope="col">Events</th><th scope="col">Status</th></tr></thead>
                  <tbody>${webhookRows}</tbody>
                </table></div>`
            }
            <h3>New webhook</h3>
            ${generalError(webhookForm) ? html`<p class="error" role="alert">${generalError(webhookForm)}</p>` : ''}
            <form method="post" action="/admin/webhooks" novalidate>
              ${csrfField(csrf)}
              ${field({ name: 'url', id: 'webhook-url', label: 'Address', type: 'url', value: webhookForm.values.url ?? '', autocomplete: 'off', hint: 'An https:// address that receives a POST for each event.', error: errorOf(webhookForm, 'url') })}
              <fieldset${errorOf(webhookForm, 'events') ? html` class="has-error" aria-describedby="events-error"` : ''}>
                <legend>Events</legend>
                ${errorOf(webhookForm, 'events') ? html`<p class="error" id="events-error">${errorOf(webhookForm, 'events')}</p>` : ''}
                ${WEBHOOK_EVENTS.map(
                  (event) =>
                    html`<label class="checkbox"><input type="checkbox" name="event:${event}" value="1"${webhookForm.checked.includes(event) ? html` checked` : ''}> ${EVENT_WORDS[event]} <code>${event}</code></label>`,
                )}
              </fieldset>
              ${confirmationFields({ prefix: 'webhook', error: webhookForm.failure?.field === 'code' ? messageFor(webhookForm.failure) : null, methods })}
              <button type="submit" class="primary">Add webhook</button>
            </form>
          </section>`,
      },
      options.status ?? 200,
    );
  };

  /** The page that shows a new token or secret, this once. */
  const shownOnce = (request: FastifyRequest, reply: FastifyReply, title: string, label: string, value: string, lines: Html) =>
    kit.send(request, reply, {
      title,
      current: 'admin-automation',
      body: html`<h1>${title}</h1>
        <section class="card">
          <p><strong>Copy it now: it is shown this once.</strong> If you lose it, make a new one.</p>
          <div class="field">
            <label for="shown-once">${label}</label>
            <input id="shown-once" type="text" readonly value="${value}" spellcheck="false" autocomplete="off" class="secret" />
          </div>
          ${lines}
          <p><a href="${PAGE}">Back to Automation</a></p>
        </section>`,
    });

  app.get(PAGE, async (request, reply) => {
    const admin = requireAdmin(request, reply);
    if (!admin) return reply;
    const done = (request.query as Record<string, unknown>).done;
    const notices: Record<string, string> = { revoked: 'The token was revoked.', deleted: 'The webhook was removed.' };
    const text = typeof done === 'string' && Object.hasOwn(notices, done) ? notices[done]! : null;
    return automationPage(request, reply, admin, { notice: text ? { kind: 'success', text } : null });
  });

  app.post('/admin/api-tokens', async (request, reply) => {
    const admin = requireAdmin(request, reply);
    if (!admin || !kit.checkCsrf(request, reply)) return reply;
    const values = { name: formString(request.body, 'name', 500), expires_in_days: formString(request.body, 'expires_in_days', 10) };
    const scopes = checkedChoices(request.body, 'scope', API_TOKEN_SCOPES);
    const result = await createApiToken(
      kit.deps,
      admin,
      { name: values.name, scopes, expiresInDays: Number(values.expires_in_days), confirmation: formConfirmation(request.body) },
      requestContext(request),
    );
    if (!result.ok) return automationPage(request, reply, admin, { token: { failure: result.failure, values, checked: scopes }, status: 400 });
    const { token, value } = result.value;
    return shownOnce(
      request,
      reply,
      'Your new API token',
      `API token "${token.name}"`,
      value,
      html`<p>Send it as <code>Authorization: Bearer …</code>. Scopes: ${token.scopes.join(', ')}. It expires ${request.i18n.moment(token.expiresAt)}.</p>`,
    );
  });

  app.post('/admin/api-tokens/:id/revoke', async (request, reply) => {
    const admin = requireAdmin(request, reply);
    if (!admin || !kit.checkCsrf(request, reply)) return reply;
    const result = await revokeApiToken(kit.deps, admin, (request.params as { id: string }).id, requestContext(request));
    if (!result.ok) return automationPage(request, reply, admin, { notice: { kind: 'error', text: messageFor(result.failure) }, status: 404 });
    return reply.redirect(`${PAGE}?done=revoked`, 303);
  });

  app.post('/admin/webhooks', async (request, reply) => {
    const admin = requireAdmin(request, reply);
    if (!admin || !kit.checkCsrf(request, reply)) return reply;
    const values = { url: formString(request.body, 'url', 4000) };
    const events = checkedChoices(request.body, 'event', WEBHOOK_EVENTS);
    const result = await createWebhook(kit.deps, admin, { url: values.url, events, confirmation: formConfirmation(request.body) }, requestContext(request));
    if (!result.ok) return automationPage(request, reply, admin, { webhook: { failure: result.failure, values, checked: events }, status: 400 });
    return shownOnce(
      request,
      reply,
      'Your new webhook',
      'Signing secret',
      result.value.secret,
      html`<p>Your receiver checks each delivery's <code>webhook-signature</code> header with this secret (any Standard Webhooks library does it), and drops a <code>webhook-id</code> it has seen. <a href="/admin/webhooks/${result.value.webhook.id}">See its deliveries</a>.</p>`,
    );
  });

  const webhookPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    admin: SignedIn,
    id: string,
    notice: { kind: 'success' | 'error'; text: string } | null = null,
  ) => {
    const webhook = await getWebhook(kit.deps, admin, id);
    const deliveries = await listDeliveries(kit.deps, admin, id, { limit: 100, before: null });
    if (!webhook.ok || !deliveries.ok) {
      return kit.send(
        request,
        reply,
        {
          title: 'Webhook not found',
          current: 'admin-automation',
          notice: { kind: 'error', text: 'There is no such webhook in this account.' },
          body: html`<p><a href="${PAGE}">Back to Automation</a></p>`,
        },
        404,
      );
    }
    const csrf = kit.csrfToken(request, reply);
    const hook = webhook.value;
    const action = (path: string, label: string, className = 'link') =>
      html`<form method="post" action="/admin/webhooks/${hook.id}/${path}" class="inline">${csrfField(csrf)}<button type="submit" class="${className}">${label}</button></form>`;
    return kit.send(
      request,
      reply,
      {
        title: 'Webhook',
        current: 'admin-automation',
        notice,
        body: html`<h1>Webhook</h1>
          <section class="card">
            <dl>
              <dt>Address</dt><dd>${hook.url}</dd>
              <dt>Events</dt><dd>${hook.events.join(', ')}</dd>
              <dt>Status</dt><dd>${webhookStatus(request.i18n, hook)}</dd>
            </dl>
            <p>${hook.status === 'active' ? action('pause', 'Pause') : action('resume', 'Resume', 'primary')} ${action('delete', 'Remove this webhook')}</p>
          </section>
          <section class="card" aria-labelledby="deliveries-heading">
            <h2 id="deliveries-heading">Deliveries</h2>
            ${
              deliveries.value.length === 0
                ? html`<p>Nothing sent yet.</p>`
                : html`<div class="table-wrap"><table class="stack">
                  <thead><tr><th scope="col">When</th><th scope="col">Event</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Last answer</th><th scope="col">Actions</th></tr></thead>
                  <tbody>${deliveries.value.map(
                    (delivery) => html`<tr>
                      <td data-label="When">${request.i18n.moment(delivery.createdAt)}</td>
                      <td data-label="Event"><code>${delivery.event}</code></td>
                      <td data-label="Status">${delivery.status === 'pending' && delivery.nextAttemptAt !== null ? `Next try ${request.i18n.moment(delivery.nextAttemptAt)}` : delivery.status === 'delivered' ? 'Delivered' : delivery.status === 'paused' ? 'Held until the webhook is resumed' : 'Failed'}</td>
                      <td data-label="Attempts">${String(delivery.attempts)}</td>
                      <td data-label="Last answer">${delivery.lastResponseStatus !== null ? String(delivery.lastResponseStatus) : (delivery.lastError ?? '—')}</td>
                      <td data-label="Actions">${hook.status === 'active' ? action(`deliveries/${delivery.id}/resend`, 'Send again') : ''}</td>
                    </tr>`,
                  )}</tbody>
                </table></div>`
            }
          </section>
          <p><a href="${PAGE}">Back to Automation</a></p>`,
      },
      notice?.kind === 'error' ? 400 : 200,
    );
  };

  app.get('/admin/webhooks/:id', async (request, reply) => {
    const admin = requireAdmin(request, reply);
    if (!admin) return reply;
    const done = (request.query as Record<string, unknown>).done;
    const notices: Record<string, string> = {
      paused: 'The webhook was paused.',
      resumed: 'The webhook was resumed.',
      resent: 'The delivery will be sent again now.',
    };
    const text = typeof done === 'string' && Object.hasOwn(notices, done) ? notices[done]! : null;
    return webhookPage(request, reply, admin, (request.params as { id: string }).id, text ? { kind: 'success', text } : null);
  });

  for (const [path, active] of [
    ['pause', false],
    ['resume', true],
  ] as const) {
    app.post(`/admin/webhooks/:id/${path}`, async (request, reply) => {
      const admin = requireAdmin(request, reply);
      if (!admin || !kit.checkCsrf(request, reply)) return reply;
      const id = (request.params as { id: string }).id;
      const result = await updateWebhook(kit.deps, admin, id, { active }, requestContext(request));
      if (!result.ok) return webhookPage(request, reply, admin, id, { kind: 'error', text: messageFor(result.failure) });
      return reply.redirect(`/admin/webhooks/${id}?done=${active ? 'resumed' : 'paused'}`, 303);
    });
  }

  app.post('/admin/webhooks/:id/delete', async (request, reply) => {
    const admin = requireAdmin(request, reply);
    if (!admin || !kit.checkCsrf(request, reply)) return reply;
    const id = (request.params as { id: string }).id;
    const result = await deleteWebhook(kit.deps, admin, id, requestContext(request));
    if (!result.ok) return webhookPage(request, reply, admin, id, { kind: 'error', text: messageFor(result.failure) });
    return reply.redirect(`${PAGE}?done=deleted`, 303);
  });

  app.post('/admin/webhooks/:id/deliveries/:delivery/resend', async (request, reply) => {
    const admin = requireAdmin(request, reply);
    if (!admin || !kit.checkCsrf(request, reply)) return reply;
    const { id, delivery } = request.params as { id: string; delivery: string };
    const result = await resendDelivery(kit.deps, admin, id, delivery);
    if (!result.ok) return webhookPage(request, reply, admin, id, { kind: 'error', text: messageFor(result.failure) });
    return reply.redirect(`/admin/webhooks/${id}?done=resent`, 303);
  });
}

function webhookStatus(t: Translator, webhook: WebhookView): string {
  if (webhook.status === 'paused') return 'Paused';
  return webhook.failingSince === null ? 'Active' : `Active, failing since ${t.moment(webhook.failingSince)}`;
}
