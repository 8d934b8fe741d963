// /admin/automation: the account's API tokens and webhooks (DESIGN.md, Automation), and
// /admin/webhooks/:id, one webhook's deliveries. Making a token or a webhook takes the
// admin's own confirmation in the same form; its token or signing secret is shown on the
// page the form leads to, this once (the answer is not cached: security headers).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { API_TOKEN_SCOPES, WEBHOOK_EVENTS } from '../../domain/automation.js';
import type { Failure } from '../../domain/failures.js';
import type { MessageKey } from '../../i18n/messages/en.js';
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

/** A form's checked boxes named `prefix:value` (one per choice). */
function checkedChoices(body: unknown, prefix: string, choices: readonly string[]): string[] {
  return choices.filter((choice) => formString(body, `${prefix}:${choice}`) === '1');
}

function tokenStatus(t: Translator, token: ApiTokenView, now: number): string {
  if (token.revokedAt !== null) return t.t('automation.token.revokedAt', { when: t.moment(token.revokedAt) });
  if (token.expiresAt <= now) return t.t('automation.token.expired');
  return t.t('automation.token.expiresAt', { when: t.moment(token.expiresAt) });
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
  const errorOf = (t: Translator, state: FormState, name: string) => (state.failure && state.failure.field === name ? messageFor(state.failure, t) : null);
  const generalError = (t: Translator, state: FormState) =>
    state.failure && !['name', 'scopes', 'expires_in_days', 'url', 'events'].includes(state.failure.field ?? '') ? messageFor(state.failure, t) : null;

  const automationPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    admin: SignedIn,
    options: { token?: FormState; webhook?: FormState; notice?: { kind: 'success' | 'error'; text: string } | null; status?: number } = {},
  ) => {
    const t = request.i18n;
    const csrf = kit.csrfToken(request, reply);
    const now = kit.deps.now();
    const methods = await confirmationMethods(kit.deps.db, admin.user, admin.account);
    const tokens = await listApiTokens(kit.deps, admin);
    const webhooks = await listWebhooks(kit.deps, admin);
    const tokenForm = options.token ?? EMPTY;
    const webhookForm = options.webhook ?? EMPTY;
    const tokenRows = tokens.map(
      (token) => html`<tr>
        <td data-label="${t.t('automation.column.name')}">${token.name}</td>
        <td data-label="${t.t('automation.column.scopes')}">${token.scopes.join(', ')}</td>
        <td data-label="${t.t('automation.column.madeBy')}">${token.createdBy?.email ?? '—'}</td>
        <td data-label="${t.t('automation.column.lastUsed')}">${token.lastUsedAt === null ? t.t('admin.never') : t.moment(token.lastUsedAt)}</td>
        <td data-label="${t.t('automation.column.status')}">${tokenStatus(t, token, now)}</td>
        <td data-label="${t.t('automation.column.actions')}">
          ${
            token.revokedAt === null && token.expiresAt > now
              ? html`<form method="post" action="/admin/api-tokens/${token.id}/revoke" class="inline">
                ${csrfField(csrf)}<button type="submit" class="link">${t.t('automation.token.revoke')}<span class="visually-hidden"> ${token.name}</span></button>
              </form>`
              : ''
          }
        </td>
      </tr>`,
    );
    const webhookRows = webhooks.map(
      (webhook) => html`<tr>
        <td data-label="${t.t('automation.column.address')}"><a href="/admin/webhooks/${webhook.id}">${webhook.url}</a></td>
        <td data-label="${t.t('automation.column.events')}">${webhook.events.length === WEBHOOK_EVENTS.length ? t.t('automation.webhook.allEvents') : webhook.events.join(', ')}</td>
        <td data-label="${t.t('automation.column.status')}">${webhookStatus(t, webhook)}</td>
      </tr>`,
    );
    return kit.send(
      request,
      reply,
      {
        title: t.t('layout.nav.automation'),
        current: 'admin-automation',
        notice: options.notice ?? null,
        body: html`<h1>${t.t('layout.nav.automation')}</h1>
          ${sendConfirmationCodeForms(csrf, PAGE, methods)}
          <section class="card" aria-labelledby="tokens-heading">
            <h2 id="tokens-heading">${t.t('automation.tokens.heading')}</h2>
            <p>${t.parts<Html>('automation.tokens.intro', { account: admin.account.name }, { openapi: (chunks) => html`<a href="/openapi.json">${chunks}</a>` })}</p>
            ${
              tokens.length === 0
                ? html`<p>${t.t('automation.tokens.none')}</p>`
                : html`<div class="table-wrap"><table class="stack">
                  <thead><tr><th scope="col">${t.t('automation.column.name')}</th><th scope="col">${t.t('automation.column.scopes')}</th><th scope="col">${t.t('automation.column.madeBy')}</th><th scope="col">${t.t('automation.column.lastUsed')}</th><th scope="col">${t.t('automation.column.status')}</th><th scope="col">${t.t('automation.column.actions')}</th></tr></thead>
                  <tbody>${tokenRows}</tbody>
                </table></div>`
            }
            <h3>${t.t('automation.tokens.new')}</h3>
            ${generalError(t, tokenForm) ? html`<p class="error" role="alert">${generalError(t, tokenForm)}</p>` : ''}
            <form method="post" action="/admin/api-tokens" novalidate>
              ${csrfField(csrf)}
              ${field({ name: 'name', id: 'token-name', label: t.t('automation.column.name'), value: tokenForm.values.name ?? '', maxlength: 100, autocomplete: 'off', hint: t.t('automation.tokens.nameHint'), error: errorOf(t, tokenForm, 'name') })}
              <fieldset${errorOf(t, tokenForm, 'scopes') ? html` class="has-error" aria-describedby="scopes-error"` : ''}>
                <legend>${t.t('automation.column.scopes')}</legend>
                ${errorOf(t, tokenForm, 'scopes') ? html`<p class="error" id="scopes-error">${errorOf(t, tokenForm, 'scopes')}</p>` : ''}
                ${API_TOKEN_SCOPES.map(
                  (scope) =>
                    html`<label class="checkbox"><input type="checkbox" name="scope:${scope}" value="1"${tokenForm.checked.includes(scope) ? html` checked` : ''}> <code>${scope}</code>: ${t.t(`automation.scope.${scope}`)}</label>`,
                )}
              </fieldset>
              <div class="field">
                <label for="token-expiry">${t.t('automation.tokens.expiresAfter')}</label>
                <select id="token-expiry" name="expires_in_days">
                  ${EXPIRY_CHOICES.map((days) => html`<option value="${String(days)}"${String(days) === (tokenForm.values.expires_in_days ?? '90') ? html` selected` : ''}>${t.t('automation.tokens.days', { days })}</option>`)}
                </select>
              </div>
              ${confirmationFields({ prefix: 'token', error: tokenForm.failure?.field === 'code' ? messageFor(tokenForm.failure, t) : null, methods, t })}
              <button type="submit" class="primary">${t.t('automation.tokens.submit')}</button>
            </form>
          </section>
          <section class="card" aria-labelledby="webhooks-heading">
            <h2 id="webhooks-heading">${t.t('automation.webhooks.heading')}</h2>
            <p>${t.t('automation.webhooks.intro')}</p>
            ${
              webhooks.length === 0
                ? html`<p>${t.t('automation.webhooks.none')}</p>`
                : html`<div class="table-wrap"><table class="stack">
                  <thead><tr><th scope="col">${t.t('automation.column.address')}</th><th scope="col">${t.t('automation.column.events')}</th><th scope="col">${t.t('automation.column.status')}</th></tr></thead>
                  <tbody>${webhookRows}</tbody>
                </table></div>`
            }
            <h3>${t.t('automation.webhooks.new')}</h3>
            ${generalError(t, webhookForm) ? html`<p class="error" role="alert">${generalError(t, webhookForm)}</p>` : ''}
            <form method="post" action="/admin/webhooks" novalidate>
              ${csrfField(csrf)}
              ${field({ name: 'url', id: 'webhook-url', label: t.t('automation.column.address'), type: 'url', value: webhookForm.values.url ?? '', autocomplete: 'off', hint: t.t('automation.webhooks.addressHint'), error: errorOf(t, webhookForm, 'url') })}
              <fieldset${errorOf(t, webhookForm, 'events') ? html` class="has-error" aria-describedby="events-error"` : ''}>
                <legend>${t.t('automation.column.events')}</legend>
                ${errorOf(t, webhookForm, 'events') ? html`<p class="error" id="events-error">${errorOf(t, webhookForm, 'events')}</p>` : ''}
                ${WEBHOOK_EVENTS.map(
                  (event) =>
                    html`<label class="checkbox"><input type="checkbox" name="event:${event}" value="1"${webhookForm.checked.includes(event) ? html` checked` : ''}> ${t.t(`automation.event.${event}`)} <code>${event}</code></label>`,
                )}
              </fieldset>
              ${confirmationFields({ prefix: 'webhook', error: webhookForm.failure?.field === 'code' ? messageFor(webhookForm.failure, t) : null, methods, t })}
              <button type="submit" class="primary">${t.t('automation.webhooks.submit')}</button>
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
          <p>${request.i18n.parts<Html>('automation.shownOnce.copyNow', {}, { strong: (chunks) => html`<strong>${chunks}</strong>` })}</p>
          <div class="field">
            <label for="shown-once">${label}</label>
            <input id="shown-once" type="text" readonly value="${value}" spellcheck="false" autocomplete="off" class="secret" />
          </div>
          ${lines}
          <p><a href="${PAGE}">${request.i18n.t('automation.back')}</a></p>
        </section>`,
    });

  app.get(PAGE, async (request, reply) => {
    const admin = requireAdmin(request, reply);
    if (!admin) return reply;
    const done = (request.query as Record<string, unknown>).done;
    const notices: Record<string, MessageKey> = { revoked: 'automation.notice.revoked', deleted: 'automation.notice.deleted' };
    const text = typeof done === 'string' && Object.hasOwn(notices, done) ? request.i18n.t(notices[done]!) : null;
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
      request.i18n.t('automation.tokenShown.title'),
      request.i18n.t('automation.tokenShown.label', { name: token.name }),
      value,
      html`<p>
        ${request.i18n.parts<Html>(
          'automation.tokenShown.text',
          { scopes: token.scopes.join(', '), expires: request.i18n.moment(token.expiresAt) },
          { header: (chunks) => html`<code>${chunks}</code>` },
        )}
      </p>`,
    );
  });

  app.post('/admin/api-tokens/:id/revoke', async (request, reply) => {
    const admin = requireAdmin(request, reply);
    if (!admin || !kit.checkCsrf(request, reply)) return reply;
    const result = await revokeApiToken(kit.deps, admin, (request.params as { id: string }).id, requestContext(request));
    if (!result.ok) return automationPage(request, reply, admin, { notice: { kind: 'error', text: messageFor(result.failure, request.i18n) }, status: 404 });
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
      request.i18n.t('automation.webhookShown.title'),
      request.i18n.t('automation.webhookShown.label'),
      result.value.secret,
      html`<p>
        ${request.i18n.parts<Html>(
          'automation.webhookShown.text',
          {},
          {
            code: (chunks) => html`<code>${chunks}</code>`,
            link: (chunks) => html`<a href="/admin/webhooks/${result.value.webhook.id}">${chunks}</a>`,
          },
        )}
      </p>`,
    );
  });

  const webhookPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    admin: SignedIn,
    id: string,
    notice: { kind: 'success' | 'error'; text: string } | null = null,
  ) => {
    const t = request.i18n;
    const webhook = await getWebhook(kit.deps, admin, id);
    const deliveries = await listDeliveries(kit.deps, admin, id, { limit: 100, before: null });
    if (!webhook.ok || !deliveries.ok) {
      return kit.send(
        request,
        reply,
        {
          title: t.t('automation.webhook.notFoundTitle'),
          current: 'admin-automation',
          notice: { kind: 'error', text: t.t('automation.webhook.notFound') },
          body: html`<p><a href="${PAGE}">${t.t('automation.back')}</a></p>`,
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
        title: t.t('automation.webhook.title'),
        current: 'admin-automation',
        notice,
        body: html`<h1>${t.t('automation.webhook.title')}</h1>
          <section class="card">
            <dl>
              <dt>${t.t('automation.column.address')}</dt><dd>${hook.url}</dd>
              <dt>${t.t('automation.column.events')}</dt><dd>${hook.events.join(', ')}</dd>
              <dt>${t.t('automation.column.status')}</dt><dd>${webhookStatus(t, hook)}</dd>
            </dl>
            <p>${hook.status === 'active' ? action('pause', t.t('automation.webhook.pause')) : action('resume', t.t('automation.webhook.resume'), 'primary')} ${action('delete', t.t('automation.webhook.remove'))}</p>
          </section>
          <section class="card" aria-labelledby="deliveries-heading">
            <h2 id="deliveries-heading">${t.t('automation.deliveries.heading')}</h2>
            ${
              deliveries.value.length === 0
                ? html`<p>${t.t('automation.deliveries.none')}</p>`
                : html`<div class="table-wrap"><table class="stack">
                  <thead><tr><th scope="col">${t.t('automation.column.when')}</th><th scope="col">${t.t('automation.column.event')}</th><th scope="col">${t.t('automation.column.status')}</th><th scope="col">${t.t('automation.column.attempts')}</th><th scope="col">${t.t('automation.column.lastAnswer')}</th><th scope="col">${t.t('automation.column.actions')}</th></tr></thead>
                  <tbody>${deliveries.value.map(
                    (delivery) => html`<tr>
                      <td data-label="${t.t('automation.column.when')}">${t.moment(delivery.createdAt)}</td>
                      <td data-label="${t.t('automation.column.event')}"><code>${delivery.event}</code></td>
                      <td data-label="${t.t('automation.column.status')}">${delivery.status === 'pending' && delivery.nextAttemptAt !== null ? t.t('automation.delivery.nextTry', { when: t.moment(delivery.nextAttemptAt) }) : t.t('automation.delivery.status', { status: delivery.status === 'delivered' || delivery.status === 'paused' ? delivery.status : 'failed' })}</td>
                      <td data-label="${t.t('automation.column.attempts')}">${t.number(delivery.attempts)}</td>
                      <td data-label="${t.t('automation.column.lastAnswer')}">${delivery.lastResponseStatus !== null ? String(delivery.lastResponseStatus) : (delivery.lastError ?? '—')}</td>
                      <td data-label="${t.t('automation.column.actions')}">${hook.status === 'active' ? action(`deliveries/${delivery.id}/resend`, t.t('automation.delivery.sendAgain')) : ''}</td>
                    </tr>`,
                  )}</tbody>
                </table></div>`
            }
          </section>
          <p><a href="${PAGE}">${request.i18n.t('automation.back')}</a></p>`,
      },
      notice?.kind === 'error' ? 400 : 200,
    );
  };

  app.get('/admin/webhooks/:id', async (request, reply) => {
    const admin = requireAdmin(request, reply);
    if (!admin) return reply;
    const done = (request.query as Record<string, unknown>).done;
    const notices: Record<string, MessageKey> = {
      paused: 'automation.notice.paused',
      resumed: 'automation.notice.resumed',
      resent: 'automation.notice.resent',
    };
    const text = typeof done === 'string' && Object.hasOwn(notices, done) ? request.i18n.t(notices[done]!) : null;
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
      if (!result.ok) return webhookPage(request, reply, admin, id, { kind: 'error', text: messageFor(result.failure, request.i18n) });
      return reply.redirect(`/admin/webhooks/${id}?done=${active ? 'resumed' : 'paused'}`, 303);
    });
  }

  app.post('/admin/webhooks/:id/delete', async (request, reply) => {
    const admin = requireAdmin(request, reply);
    if (!admin || !kit.checkCsrf(request, reply)) return reply;
    const id = (request.params as { id: string }).id;
    const result = await deleteWebhook(kit.deps, admin, id, requestContext(request));
    if (!result.ok) return webhookPage(request, reply, admin, id, { kind: 'error', text: messageFor(result.failure, request.i18n) });
    return reply.redirect(`${PAGE}?done=deleted`, 303);
  });

  app.post('/admin/webhooks/:id/deliveries/:delivery/resend', async (request, reply) => {
    const admin = requireAdmin(request, reply);
    if (!admin || !kit.checkCsrf(request, reply)) return reply;
    const { id, delivery } = request.params as { id: string; delivery: string };
    const result = await resendDelivery(kit.deps, admin, id, delivery);
    if (!result.ok) return webhookPage(request, reply, admin, id, { kind: 'error', text: messageFor(result.failure, request.i18n) });
    return reply.redirect(`/admin/webhooks/${id}?done=resent`, 303);
  });
}

function webhookStatus(t: Translator, webhook: WebhookView): string {
  if (webhook.status === 'paused') return t.t('automation.webhook.paused');
  return webhook.failingSince === null ? t.t('automation.webhook.active') : t.t('automation.webhook.failing', { since: t.moment(webhook.failingSince) });
}
