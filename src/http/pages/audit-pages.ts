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
function eventTypeSelect(chosen: string | undefined): Html {
  const types = Object.keys(AUDIT_EVENT_SENTENCES);
  if (chosen && !types.includes(chosen)) types.push(chosen);
  const options = types.map((type) => ({ type, sentence: auditEventSentence(type) })).sort((a, b) => a.sentence.localeCompare(b.sentence));
  return html`<div class="field">
    <label for="field-type">Event</label>
    <select id="field-type" name="type">
      <option value="">Any event</option>
      ${options.map((option) => html`<option value="${option.type}"${option.type === chosen ? html` selected` : ''}>${option.sentence}</option>`)}
    </select>
  </div>`;
}

/** The service explains a bad date to API callers; the page says it in its own words. */
function dateError(failure: { field?: string } | null, name: 'since' | 'until'): string | null {
  return failure?.field === name ? 'Enter a date like 2026-11-28.' : null;
}

export function registerAuditPages(app: FastifyInstance, kit: PageKit, requireAdmin: (request: FastifyRequest, reply: FastifyReply) => SignedIn | null): void {
  app.get('/admin/audit', async (request, reply) => {
    const admin = requireAdmin(request, reply);
    if (!admin) return reply;
    const filter = filterFrom(request.query);
    const result = await readAuditLog(kit.deps, admin, filter, { limit: 200, before: null });
    const entries = result.ok ? result.value : [];
    const failure = result.ok ? null : result.failure;
    return kit.send(request, reply, {
      title: 'Audit log',
      current: 'admin-audit',
      notice: failure && failure.field !== 'since' && failure.field !== 'until' ? { kind: 'error', text: messageFor(failure) } : null,
      body: html` <h1>Audit log</h1>
        <section class="card">
          <form method="get" action="/admin/audit" class="row">
            ${field({ name: 'user', label: 'Person (email)', value: filter.user ?? '', required: false, autocomplete: 'off' })} ${eventTypeSelect(filter.type)}
            ${field({ name: 'since', label: 'From (YYYY-MM-DD)', value: filter.since ?? '', required: false, autocomplete: 'off', error: dateError(failure, 'since') })}
            ${field({ name: 'until', label: 'To (YYYY-MM-DD)', value: filter.until ?? '', required: false, autocomplete: 'off', error: dateError(failure, 'until') })}
            <button type="submit">Filter</button>
          </form>
          <p>Export what matches: <a href="/admin/audit.csv${queryString(filter)}">CSV</a> · <a href="/admin/audit.json${queryString(filter)}">JSON</a></p>
        </section>
        <section class="card">
          <p class="muted">Newest first; the latest 200 are shown here, the exports hold everything that matches.</p>
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Event</th>
                  <th scope="col">Who</th>
                  <th scope="col">Whom</th>
                  <th scope="col">IP · browser</th>
                  <th scope="col">Reason</th>
                </tr>
              </thead>
              <tbody>
                ${entries.map(
                  (e) =>
                    html`<tr>
                      <td data-label="When">${when(request.i18n, e.at)}</td>
                      <td data-label="Event">${auditEventSentence(e.type)}</td>
                      <td data-label="Who">${e.actor?.email ?? '—'}${e.apiToken ? ` (API token "${e.apiToken.name}")` : ''}</td>
                      <td data-label="Whom">${e.subject?.email ?? '—'}</td>
                      <td data-label="IP · browser">${e.ip ?? '—'}<br /><span class="muted">${e.userAgent ? describeBrowser(e.userAgent) : ''}</span></td>
                      <td data-label="Reason">${e.reason ?? ''}</td>
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
      if (!result.ok) return reply.code(400).type('text/plain; charset=utf-8').send(messageFor(result.failure));
      reply.header('content-disposition', `attachment; filename="${admin.account.slug}-audit-log.${format}"`);
      if (format === 'csv') return reply.type('text/csv; charset=utf-8').send(auditCsv(result.value));
      return reply.type('application/json; charset=utf-8').send(JSON.stringify({ audit_events: result.value.map(auditEntryBody) }, null, 2));
    });
  }
}
