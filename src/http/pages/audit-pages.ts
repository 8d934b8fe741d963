// /admin/audit: every security event of the account, filterable and exportable.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { auditCsv, readAuditLog, type AuditFilter } from '../../services/audit-log.js';
import type { SignedIn } from '../../services/sessions.js';
import { describeBrowser } from '../../domain/browser-name.js';
import { auditEntryBody } from '../api/admin-help-routes.js';
import { messageFor } from '../errors.js';
import { html, type Html } from '../html.js';
import { AUDIT_EVENT_SENTENCES, auditEventSentence } from './audit-event-names.js';
import { when } from './device-sections.js';
import { field } from './forms.js';
import type { PageKit } from './kit.js';
import { browserLabel } from '../../i18n/browser-label.js';
import type { Translator } from '../../i18n/translator.js';

const EXPORT_LIMIT = 100_000;

function filterFrom(query: unknown): AuditFilter {
  const q = (query ?? {}) as Record<string, unknown>;
  const text = (name: string) => (typeof q[name] === 'string' ? (q[name] as string).trim().slice(0, 320) : undefined) || undefined;
  return { user: text('user'), type: text('type'), since: text('since'), until: text('until') };
}

function queryString(filter: AuditFilter): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(filter)) if (value) params.set(key, value);
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** The events by their sentences; a type asked for in the address is kept as a choice. */
function eventTypeSelect(t: Translator, chosen: string | undefined): Html {
  const types = Object.keys(AUDIT_EVENT_SENTENCES);
  if (chosen && !types.includes(chosen)) types.push(chosen);
  const collator = new Intl.Collator(t.language === 'en' ? undefined : t.language);
  const options = types.map((type) => ({ type, sentence: auditEventSentence(type, t) })).sort((a, b) => collator.compare(a.sentence, b.sentence));
  return html`<div class="field">
    <label for="field-type">${t.t('audit.column.event')}</label>
    <select id="field-type" name="type">
      <option value="">${t.t('audit.anyEvent')}</option>
      ${options.map((option) => html`<option value="${option.type}"${option.type === chosen ? html` selected` : ''}>${option.sentence}</option>`)}
    </select>
  </div>`;
}

/** The service explains a bad date to API callers; the page says it in its own words. */
function dateError(t: Translator, failure: { field?: string } | null, name: 'since' | 'until'): string | null {
  return failure?.field === name ? t.t('audit.dateError') : null;
}

export function registerAuditPages(app: FastifyInstance, kit: PageKit, requireAdmin: (request: FastifyRequest, reply: FastifyReply) => SignedIn | null): void {
  app.get('/admin/audit', async (request, reply) => {
    const admin = requireAdmin(request, reply);
    if (!admin) return reply;
    const filter = filterFrom(request.query);
    const result = await readAuditLog(kit.deps, admin, filter, { limit: 200, before: null });
    const entries = result.ok ? result.value : [];
    const failure = result.ok ? null : result.failure;
    const t = request.i18n;
    return kit.send(request, reply, {
      title: t.t('layout.nav.audit'),
      current: 'admin-audit',
      notice: failure && failure.field !== 'since' && failure.field !== 'until' ? { kind: 'error', text: messageFor(failure, t) } : null,
      body: html` <h1>${t.t('layout.nav.audit')}</h1>
        <section class="card">
          <form method="get" action="/admin/audit" class="row">
            ${field({ name: 'user', label: t.t('audit.filter.person'), value: filter.user ?? '', required: false, autocomplete: 'off' })} ${eventTypeSelect(t, filter.type)}
            ${field({ name: 'since', label: t.t('audit.filter.since'), value: filter.since ?? '', required: false, autocomplete: 'off', error: dateError(t, failure, 'since') })}
            ${field({ name: 'until', label: t.t('audit.filter.until'), value: filter.until ?? '', required: false, autocomplete: 'off', error: dateError(t, failure, 'until') })}
            <button type="submit">${t.t('audit.filter.submit')}</button>
          </form>
          <p>${t.t('audit.export')} <a href="/admin/audit.csv${queryString(filter)}">CSV</a> · <a href="/admin/audit.json${queryString(filter)}">JSON</a></p>
        </section>
        <section class="card">
          <p class="muted">${t.t('audit.newestFirst')}</p>
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">${t.t('audit.column.when')}</th>
                  <th scope="col">${t.t('audit.column.event')}</th>
                  <th scope="col">${t.t('audit.column.who')}</th>
                  <th scope="col">${t.t('audit.column.whom')}</th>
                  <th scope="col">${t.t('audit.column.ipBrowser')}</th>
                  <th scope="col">${t.t('audit.column.reason')}</th>
                </tr>
              </thead>
              <tbody>
                ${entries.map(
                  (e) =>
                    html`<tr>
                      <td data-label="${t.t('audit.column.when')}">${when(t, e.at)}</td>
                      <td data-label="${t.t('audit.column.event')}">${auditEventSentence(e.type, t)}</td>
                      <td data-label="${t.t('audit.column.who')}">${e.actor?.email ?? '—'}${e.apiToken ? ` ${t.t('audit.byApiToken', { name: e.apiToken.name })}` : ''}</td>
                      <td data-label="${t.t('audit.column.whom')}">${e.subject?.email ?? '—'}</td>
                      <td data-label="${t.t('audit.column.ipBrowser')}">${e.ip ?? '—'}<br /><span class="muted">${e.userAgent ? browserLabel(t, describeBrowser(e.userAgent)) : ''}</span></td>
                      <td data-label="${t.t('audit.column.reason')}">${e.reason ?? ''}</td>
                    </tr>`,
                )}
              </tbody>
            </table>
          </div>
        </section>`,
    });
  });

  for (const format of ['csv', 'json'] as const) {
    app.get(`/admin/audit.${format}`, async (request, reply) => {
      const admin = requireAdmin(request, reply);
      if (!admin) return reply;
      const result = await readAuditLog(kit.deps, admin, filterFrom(request.query), { limit: EXPORT_LIMIT, before: null });
      if (!result.ok) return reply.code(400).type('text/plain; charset=utf-8').send(messageFor(result.failure, request.i18n));
      reply.header('content-disposition', `attachment; filename="${admin.account.slug}-audit-log.${format}"`);
      if (format === 'csv') return reply.type('text/csv; charset=utf-8').send(auditCsv(result.value));
      return reply.type('application/json; charset=utf-8').send(JSON.stringify({ audit_events: result.value.map(auditEntryBody) }, null, 2));
    });
  }
}
