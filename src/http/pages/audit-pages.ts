// /admin/audit: every security event of the account, filterable and exportable.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { auditCsv, readAuditLog, type AuditFilter } from '../../services/audit-log.js';
import type { SignedIn } from '../../services/sessions.js';
import { describeBrowser } from '../../domain/browser-name.js';
import { auditEntryBody } from '../api/admin-help-routes.js';
import { messageFor } from '../errors.js';
import { html } from '../html.js';
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

export function registerAuditPages(app: FastifyInstance, kit: PageKit, requireAdmin: (request: FastifyRequest, reply: FastifyReply) => SignedIn | null): void {
  app.get('/admin/audit', async (request, reply) => {
    const admin = requireAdmin(request, reply);
    if (!admin) return reply;
    const filter = filterFrom(request.query);
    const result = await readAuditLog(kit.deps, admin, filter, { limit: 200, before: null });
    const entries = result.ok ? result.value : [];
    return kit.send(request, reply, {
      title: 'Audit log',
      current: 'admin-audit',
      notice: result.ok ? null : { kind: 'error', text: messageFor(result.failure) },
      body: html`
<h1>Audit log</h1>
<section class="card">
  <form method="get" action="/admin/audit" class="row">
    ${field({ name: 'user', label: 'Person (email)', value: filter.user ?? '', required: false, autocomplete: 'off' })}
    ${field({ name: 'type', label: 'Event type', value: filter.type ?? '', required: false, autocomplete: 'off', hint: 'e.g. sign_in_failed' })}
    ${field({ name: 'since', label: 'From (YYYY-MM-DD)', value: filter.since ?? '', required: false, autocomplete: 'off' })}
    ${field({ name: 'until', label: 'To (YYYY-MM-DD)', value: filter.until ?? '', required: false, autocomplete: 'off' })}
    <button type="submit">Filter</button>
  </form>
  <p>Export what matches: <a href="/admin/audit.csv${queryString(filter)}">CSV</a> · <a href="/admin/audit.json${queryString(filter)}">JSON</a></p>
</section>
<section class="card">
  <p class="muted">Newest first; the latest 200 are shown here, the exports hold everything that matches.</p>
  <div class="table-wrap"><table>
    <thead><tr><th scope="col">When</th><th scope="col">Event</th><th scope="col">Who</th><th scope="col">Whom</th><th scope="col">IP · browser</th><th scope="col">Reason</th></tr></thead>
    <tbody>${entries.map(
      (e) => html`<tr><td>${when(e.at)}</td><td><code>${e.type}</code></td><td>${e.actor?.email ?? '—'}</td><td>${e.subject?.email ?? '—'}</td><td>${e.ip ?? '—'}<br><span class="muted">${e.userAgent ? describeBrowser(e.userAgent) : ''}</span></td><td>${e.reason ?? ''}</td></tr>`,
    )}</tbody>
  </table></div>
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
