import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { MessageKey } from '../../i18n/messages/en.js';
import type { Translator } from '../../i18n/translator.js';
import { twoFactorSummary } from '../../services/profile.js';
import type { SignedIn } from '../../services/sessions.js';
import { changeRole, findPerson, inviteUser, listPeople, resendInvitation, setSuspended, type ConfirmedChange } from '../../services/users.js';
import type { Failure } from '../../domain/failures.js';
import { messageFor } from '../errors.js';
import { html } from '../html.js';
import { requestContext } from '../request-context.js';
import { csrfField, field, formConfirmation, formString } from './forms.js';
import { carriesConfirmation, reviewAdminAction, type AdminActionReview } from './admin-confirm-pages.js';
import type { Role } from '../../domain/types.js';
import type { User } from '../../store/schema.js';
import type { PageKit } from './kit.js';
import { methodNames, passkeyLabel } from './method-names.js';
import { peopleCsv } from '../../services/audit-log.js';
import { registerAdminSecurityPages } from './admin-security-pages.js';
import { registerAdminHelpPages } from './admin-help-pages.js';
import { registerAuditPages } from './audit-pages.js';
import { registerAdminAppPages } from './admin-app-pages.js';
import { registerAdminAutomationPages } from './admin-automation-pages.js';

function roleLabel(t: Translator, role: Role): string {
  return t.t('admin.role', { role });
}

function when(t: Translator, time: number | null): string {
  return time === null ? t.t('admin.never') : t.moment(time);
}

export function registerAdminPages(app: FastifyInstance, kit: PageKit): void {
  const requireAdmin = (request: FastifyRequest, reply: FastifyReply): SignedIn | null => {
    const signedIn = kit.requireFull(request, reply);
    if (!signedIn) return null;
    if (signedIn.user.role !== 'admin') {
      const t = request.i18n;
      kit.send(request, reply, { title: t.t('admin.notAllowed.title'), notice: { kind: 'error', text: t.t('admin.notAllowed.text') }, body: html`` }, 403);
      return null;
    }
    return signedIn;
  };

  const usersPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    signedIn: SignedIn,
    options: {
      failure?: Failure | null;
      notice?: { kind: 'success' | 'error' | 'info'; text: string } | null;
      values?: Record<string, string>;
      status?: number;
    } = {},
  ) => {
    const t = request.i18n;
    const csrf = kit.csrfToken(request, reply);
    const filter = (request.query as Record<string, unknown>).filter === 'staff_without_2fa';
    const users = await listPeople(kit.deps, signedIn.account.id, { limit: 500, before: null, staffWithoutTwoFactor: filter });
    const rows = await Promise.all(
      users.map(async (user) => {
        const summary = await twoFactorSummary(kit.deps.db, user, kit.deps.now());
        const passkeys = passkeyLabel(t, summary.passkeys);
        const self = user.id === signedIn.user.id;
        const owner = user.id === signedIn.account.owner_user_id;
        const status = t.t('admin.status', { status: user.suspended_at !== null ? 'suspended' : user.password_hash === null ? 'invited' : 'active' });
        const canAct = !self && !owner;
        return html`<tr>
          <th scope="row">
            <a href="/admin/users/${user.id}">${user.name}</a><br /><span class="muted">${user.email}</span
            >${owner ? html` <span class="badge">${t.t('admin.owner')}</span>` : ''}
          </th>
          <td data-label="${t.t('admin.column.role')}">
            ${
              canAct
                ? html`<form method="get" action="/admin/users/${user.id}/role" class="inline">
                    <label class="visually-hidden" for="role-${user.id}">${t.t('admin.roleOf', { name: user.name })}</label>
                    <select id="role-${user.id}" name="role">
                      ${(['admin', 'agent', 'end_user'] as const).map(
                        (role) => html`<option value="${role}"${user.role === role ? html` selected` : ''}>${roleLabel(t, role)}</option>`,
                      )}
                    </select>
                    <button type="submit" class="small">${t.t('admin.save')}</button>
                  </form>`
                : roleLabel(t, user.role)
            }
          </td>
          <td data-label="${t.t('admin.column.status')}">${status}</td>
          <td data-label="${t.t('admin.column.twoFactor')}">
            ${summary.enabled ? html`<span class="badge badge-on">${t.t('admin.on')}</span> ${methodNames(t, summary.methods)}` : html`<span class="badge badge-off">${t.t('admin.off')}</span>`}
            ${passkeys ? html`<span class="badge">${passkeys}</span>` : ''}
          </td>
          <td data-label="${t.t('admin.column.recoveryCodesLeft')}">${summary.enabled ? t.number(summary.recoveryCodesLeft) : '—'}</td>
          <td data-label="${t.t('admin.column.lastPasscode')}">${when(t, summary.lastUsedAt)}</td>
          <td>
            ${
              canAct
                ? html`<form method="get" action="/admin/users/${user.id}/${user.suspended_at !== null ? 'reactivate' : 'suspend'}" class="inline">
                      <button type="submit" class="small${user.suspended_at !== null ? '' : ' danger'}">
                        ${t.t(user.suspended_at !== null ? 'admin.reactivate' : 'admin.suspend')}
                      </button>
                    </form>
                    ${
                      user.password_hash === null
                        ? html`<form method="post" action="/admin/users/${user.id}/resend-invitation" class="inline">
                            ${csrfField(csrf)}<button type="submit" class="small">${t.t('admin.resendInvitation')}</button>
                          </form>`
                        : ''
                    }`
                : self
                  ? html`<span class="muted">${t.t('admin.you')}</span>`
                  : ''
            }
          </td>
        </tr>`;
      }),
    );
    const values = options.values ?? {};
    const failure = options.failure ?? null;
    return kit.send(
      request,
      reply,
      {
        title: t.t('admin.people.title'),
        current: 'admin-users',
        notice: options.notice ?? (failure && failure.field !== 'email' && failure.field !== 'name' ? { kind: 'error', text: messageFor(failure, t) } : null),
        body: html` <h1>${t.t('admin.people.heading', { account: signedIn.account.name })}</h1>
          <section class="card" aria-labelledby="invite-heading">
            <h2 id="invite-heading">${t.t('admin.invite.heading')}</h2>
            <p>${t.t('admin.invite.intro')}</p>
            <form method="post" action="/admin/users/invite" class="row" novalidate>
              ${csrfField(csrf)}
              ${field({ name: 'email', label: t.t('admin.invite.email'), type: 'email', value: values.email ?? '', autocomplete: 'off', maxlength: 320, error: failure?.field === 'email' ? messageFor(failure, t) : null })}
              ${field({ name: 'name', label: t.t('admin.invite.name'), value: values.name ?? '', autocomplete: 'off', required: false, maxlength: 100, error: failure?.field === 'name' ? messageFor(failure, t) : null })}
              <div class="field">
                <label for="field-role">${t.t('admin.invite.role')}</label>
                <select id="field-role" name="role">
                  ${(['agent', 'admin', 'end_user'] as const).map(
                    (role) => html`<option value="${role}"${values.role === role ? html` selected` : ''}>${roleLabel(t, role)}</option>`,
                  )}
                </select>
              </div>
              <button type="submit" class="primary">${t.t('admin.invite.submit')}</button>
            </form>
          </section>
          <section class="card" aria-labelledby="people-heading">
            <h2 id="people-heading">${t.t('admin.people.everyone')}</h2>
            <p class="filters">
              ${filter ? html`<a href="/admin/users">${t.t('admin.people.showEveryone')}</a>` : html`<a href="/admin/users?filter=staff_without_2fa">${t.t('admin.people.showStaffWithout')}</a>`}
              · <a href="/admin/users.csv${filter ? '?filter=staff_without_2fa' : ''}">${t.t('admin.people.exportCsv')}</a>
            </p>
            <div class="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">${t.t('admin.column.person')}</th>
                    <th scope="col">${t.t('admin.column.role')}</th>
                    <th scope="col">${t.t('admin.column.status')}</th>
                    <th scope="col">${t.t('admin.column.twoFactor')}</th>
                    <th scope="col">${t.t('admin.column.recoveryCodesLeft')}</th>
                    <th scope="col">${t.t('admin.column.lastPasscode')}</th>
                    <th scope="col">${t.t('admin.column.actions')}</th>
                  </tr>
                </thead>
                <tbody>
                  ${rows}
                </tbody>
              </table>
            </div>
          </section>`,
      },
      options.status ?? 200,
    );
  };

  registerAdminSecurityPages(app, kit, requireAdmin);
  registerAdminHelpPages(app, kit, requireAdmin);
  registerAuditPages(app, kit, requireAdmin);
  registerAdminAppPages(app, kit, requireAdmin);
  registerAdminAutomationPages(app, kit, requireAdmin);

  app.get('/admin/users.csv', async (request, reply) => {
    const signedIn = requireAdmin(request, reply);
    if (!signedIn) return reply;
    const filter = (request.query as Record<string, unknown>).filter === 'staff_without_2fa';
    const users = await listPeople(kit.deps, signedIn.account.id, { limit: 100_000, before: null, staffWithoutTwoFactor: filter });
    const rows = await Promise.all(
      users.map(async (user) => {
        const summary = await twoFactorSummary(kit.deps.db, user, kit.deps.now());
        return { email: user.email, name: user.name, role: user.role, suspended: user.suspended_at !== null, ...summary };
      }),
    );
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="${signedIn.account.slug}-people.csv"`)
      .send(peopleCsv(rows));
  });

  app.get('/admin/users', async (request, reply) => {
    const signedIn = requireAdmin(request, reply);
    if (!signedIn) return reply;
    const done = (request.query as Record<string, unknown>).done;
    const notices: Record<string, MessageKey> = {
      invited: 'admin.notice.invited',
      role: 'admin.notice.role',
      suspended: 'admin.notice.suspended',
      reactivated: 'admin.notice.reactivated',
      resent: 'admin.notice.resent',
    };
    const key = typeof done === 'string' ? notices[done] : undefined;
    const text = key ? request.i18n.t(key) : undefined;
    return usersPage(request, reply, signedIn, { notice: text ? { kind: 'success', text } : null });
  });

  app.post('/admin/users/invite', async (request, reply) => {
    const signedIn = requireAdmin(request, reply);
    if (!signedIn || !kit.checkCsrf(request, reply)) return reply;
    const values = { email: formString(request.body, 'email'), name: formString(request.body, 'name'), role: formString(request.body, 'role') };
    const t = request.i18n;
    const review: AdminActionReview = {
      heading: t.t('admin.inviteAdmin.heading', { email: values.email }),
      explanation: t.t('admin.inviteAdmin.explanation'),
      action: '/admin/users/invite',
      hidden: values,
      submitLabel: t.t('admin.invite.submit'),
      back: '/admin/users',
    };
    // An admin's invitation gives power: it is reviewed and confirmed first.
    if (values.role === 'admin' && !carriesConfirmation(request.body)) return reviewAdminAction(kit, request, reply, signedIn, review);
    const result = await inviteUser(
      kit.deps,
      signedIn,
      { ...values, reason: formString(request.body, 'reason'), confirmation: formConfirmation(request.body) },
      requestContext(request),
    );
    if (!result.ok && values.role === 'admin' && result.failure.field !== 'email' && result.failure.field !== 'name')
      return reviewAdminAction(kit, request, reply, signedIn, review, result.failure);
    if (!result.ok) return usersPage(request, reply, signedIn, { failure: result.failure, values, status: 400 });
    return reply.redirect('/admin/users?done=invited', 303);
  });

  const userAction = (path: string, done: string, act: (signedIn: SignedIn, userId: string, request: FastifyRequest) => ReturnType<typeof setSuspended>) => {
    app.post(`/admin/users/:id/${path}`, async (request, reply) => {
      const signedIn = requireAdmin(request, reply);
      if (!signedIn || !kit.checkCsrf(request, reply)) return reply;
      const result = await act(signedIn, (request.params as { id: string }).id, request);
      if (!result.ok) return usersPage(request, reply, signedIn, { failure: result.failure, status: result.failure.code === 'user_not_found' ? 404 : 400 });
      return reply.redirect(`/admin/users?done=${done}`, 303);
    });
  };

  /** A change that gives or takes power: GET reviews it, POST (with the admin's
   * confirmation and a reason) makes it. */
  const confirmedUserAction = (
    path: string,
    done: string,
    describe: (user: User, request: FastifyRequest) => Omit<AdminActionReview, 'action' | 'back'> | null,
    act: (signedIn: SignedIn, userId: string, change: ConfirmedChange, request: FastifyRequest) => ReturnType<typeof setSuspended>,
  ) => {
    const review = async (request: FastifyRequest, reply: FastifyReply, signedIn: SignedIn, failure: Failure | null) => {
      const userId = (request.params as { id: string }).id;
      const user = await findPerson(kit.deps, signedIn.account.id, userId);
      const described = user ? describe(user, request) : null;
      if (!user || !described)
        return usersPage(request, reply, signedIn, { failure: failure ?? { code: user ? 'invalid_request' : 'user_not_found' }, status: user ? 400 : 404 });
      const query = new URLSearchParams(described.hidden).toString();
      const action = `/admin/users/${encodeURIComponent(user.id)}/${path}`;
      return reviewAdminAction(kit, request, reply, signedIn, { ...described, action, back: query ? `${action}?${query}` : action }, failure);
    };
    app.get(`/admin/users/:id/${path}`, async (request, reply) => {
      const signedIn = requireAdmin(request, reply);
      if (!signedIn) return reply;
      return review(request, reply, signedIn, null);
    });
    app.post(`/admin/users/:id/${path}`, async (request, reply) => {
      const signedIn = requireAdmin(request, reply);
      if (!signedIn || !kit.checkCsrf(request, reply)) return reply;
      const change = { reason: formString(request.body, 'reason'), confirmation: formConfirmation(request.body) };
      const result = await act(signedIn, (request.params as { id: string }).id, change, request);
      if (!result.ok)
        return result.failure.code === 'user_not_found'
          ? usersPage(request, reply, signedIn, { failure: result.failure, status: 404 })
          : review(request, reply, signedIn, result.failure);
      return reply.redirect(`/admin/users?done=${done}`, 303);
    });
  };
  const chosenRole = (request: FastifyRequest) => {
    const role = formString(request.method === 'GET' ? request.query : request.body, 'role');
    return role === 'admin' || role === 'agent' || role === 'end_user' ? role : null;
  };
  confirmedUserAction(
    'role',
    'role',
    (user, request) => {
      const role = chosenRole(request);
      if (!role) return null;
      const t = request.i18n;
      return {
        heading: t.t('admin.changeRole.heading', { name: user.name, role }),
        explanation:
          role === 'admin'
            ? t.t('admin.changeRole.toAdmin', { name: user.name })
            : t.t('admin.changeRole.toOther', { name: user.name, role, wasAdmin: user.role === 'admin' ? 'yes' : 'no' }),
        hidden: { role },
        submitLabel: t.t('admin.changeRole.submit'),
      };
    },
    (signedIn, id, change, request) => changeRole(kit.deps, signedIn, id, chosenRole(request), change, requestContext(request)),
  );
  confirmedUserAction(
    'suspend',
    'suspended',
    (user, request) => ({
      heading: request.i18n.t('admin.suspendPerson.heading', { name: user.name }),
      explanation: request.i18n.t('admin.suspendPerson.explanation', { name: user.name }),
      hidden: {},
      submitLabel: request.i18n.t('admin.suspend'),
      danger: true,
    }),
    (signedIn, id, change, request) => setSuspended(kit.deps, signedIn, id, true, change, requestContext(request)),
  );
  confirmedUserAction(
    'reactivate',
    'reactivated',
    (user, request) => ({
      heading: request.i18n.t('admin.reactivatePerson.heading', { name: user.name }),
      explanation: request.i18n.t('admin.reactivatePerson.explanation', { name: user.name }),
      hidden: {},
      submitLabel: request.i18n.t('admin.reactivate'),
    }),
    (signedIn, id, change, request) => setSuspended(kit.deps, signedIn, id, false, change, requestContext(request)),
  );
  userAction('resend-invitation', 'resent', (signedIn, id, request) => resendInvitation(kit.deps, signedIn, id, requestContext(request)));
}
