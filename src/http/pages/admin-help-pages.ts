// /admin/users/:id: one person's sign-in, and the two ways to help them when locked
// out: a one-time recovery code, or a reset of their two-factor authentication.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  ADMIN_CODE_LIFETIME_IN_MILLISECONDS,
  adminHelper,
  issueRecoveryCodeFor,
  resetTwoFactorFor,
  signInLocksOf,
  unlockSignInFor,
} from '../../services/admin-help.js';
import { decryptSecret, encryptSecret, sealedPlace } from '../../crypto/secret-box.js';
import { confirmationMethods } from '../../services/confirmation.js';
import { twoFactorSummary } from '../../services/profile.js';
import type { SignedIn } from '../../services/sessions.js';
import { findPerson } from '../../services/users.js';
import type { Result } from '../../domain/failures.js';
import type { MessageKey } from '../../i18n/messages/en.js';
import { messageFor } from '../errors.js';
import { html } from '../html.js';
import { COOKIE, requestContext } from '../request-context.js';
import { confirmationFields, sendConfirmationCodeForms } from './confirmation-fields.js';
import { when } from './device-sections.js';
import { csrfField, field, formConfirmation, formString } from './forms.js';
import type { PageKit } from './kit.js';
import { methodNames, passkeyLabel } from './method-names.js';

/** How long the sealed code waits for the page that shows it. */
const ISSUED_CODE_COOKIE_MAX_AGE_IN_SECONDS = 120;

/** The issued code, sealed for this admin's session and this person only. */
function issuedCodePlace(admin: SignedIn, userId: string): string {
  return sealedPlace('issued_code_cookie', admin.session.id, userId);
}

function sealIssuedCode(kit: PageKit, reply: FastifyReply, admin: SignedIn, userId: string, issued: { code: string; expiresAt: number }): void {
  const sealed = encryptSecret(
    kit.deps.keys,
    JSON.stringify({ ...issued, showUntil: kit.deps.now() + ISSUED_CODE_COOKIE_MAX_AGE_IN_SECONDS * 1000 }),
    issuedCodePlace(admin, userId),
  );
  kit.cookies.set(reply, COOKIE.issuedCode, sealed, ISSUED_CODE_COOKIE_MAX_AGE_IN_SECONDS);
}

function openIssuedCode(kit: PageKit, request: FastifyRequest, admin: SignedIn, userId: string): { code: string; expiresAt: number } | null {
  const sealed = kit.cookies.read(request, COOKIE.issuedCode);
  if (!sealed) return null;
  try {
    const opened = JSON.parse(decryptSecret(kit.deps.keys, sealed, issuedCodePlace(admin, userId))) as { code: string; expiresAt: number; showUntil: number };
    return opened.showUntil > kit.deps.now() ? { code: opened.code, expiresAt: opened.expiresAt } : null;
  } catch {
    return null;
  }
}

/** A help action's failure, shown beside the reason field or beside the confirmation. */
interface ActionError {
  text: string;
  aboutReason: boolean;
}

export function registerAdminHelpPages(
  app: FastifyInstance,
  kit: PageKit,
  requireAdmin: (request: FastifyRequest, reply: FastifyReply) => SignedIn | null,
): void {
  const personPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    admin: SignedIn,
    userId: string,
    state: {
      issueError?: ActionError | null;
      resetError?: ActionError | null;
      unlockError?: ActionError | null;
      notice?: { kind: 'success' | 'error'; text: string } | null;
      issued?: { code: string; expiresAt: number };
    } = {},
    status = 200,
  ) => {
    const t = request.i18n;
    const user = await findPerson(kit.deps, admin.account.id, userId);
    if (!user)
      return kit.send(
        request,
        reply,
        {
          title: t.t('adminHelp.notFound'),
          current: 'admin-users',
          notice: { kind: 'error', text: messageFor({ code: 'user_not_found' }, t) },
          body: html`<p><a href="/admin/users">${t.t('adminHelp.backToPeople')}</a></p>`,
        },
        404,
      );
    const summary = await twoFactorSummary(kit.deps.db, user, kit.deps.now());
    const passkeys = passkeyLabel(t, summary.passkeys);
    const locks = await signInLocksOf(kit.deps, admin.account, user);
    const locked = locks.passcodeLockedUntil !== null || locks.passwordLockedForSeconds !== null;
    const methods = await confirmationMethods(kit.deps.db, admin.user, admin.account);
    const csrf = kit.csrfToken(request, reply);
    const self = user.id === admin.user.id;
    const owner = user.id === admin.account.owner_user_id;
    const blocked = self ? t.t('adminHelp.blocked.self') : owner ? t.t('adminHelp.blocked.owner') : null;
    const confirmation = (prefix: string, error: ActionError | null | undefined) =>
      confirmationFields({
        prefix,
        error: error && !error.aboutReason ? error.text : null,
        methods: methods,
        t,
      });
    const reasonField = (id: string, error: ActionError | null | undefined) =>
      field({ name: 'reason', id, label: t.t('admin.review.reason'), error: error?.aboutReason ? error.text : null, maxlength: 500 });
    return kit.send(
      request,
      reply,
      {
        title: user.name,
        current: 'admin-users',
        notice: state.notice ?? null,
        body: html` <p><a href="/admin/users">← ${t.t('layout.nav.people')}</a></p>
          ${sendConfirmationCodeForms(csrf, `/admin/users/${user.id}`, methods)}
          <h1>${user.name}</h1>
          <p>
            ${user.email} ·
            ${t.t('admin.role', { role: user.role })}${user.suspended_at !== null ? ` · ${t.t('admin.status', { status: 'suspended' })}` : ''}
          </p>
          ${
            state.issued
              ? html`<section class="card" aria-labelledby="issued-heading">
                  <h2 id="issued-heading">${t.t('adminHelp.issued.heading', { name: user.name })}</h2>
                  <p>${t.t('adminHelp.issued.text', { until: when(t, state.issued.expiresAt) })}</p>
                  <p>
                    <span class="secret" id="issued-code">${state.issued.code}</span>
                    <button type="button" data-copy-target="issued-code">${t.t('adminHelp.copy')}</button>
                  </p>
                </section>`
              : ''
          }
          <section class="card" aria-labelledby="state-heading">
            <h2 id="state-heading">${t.t('adminHelp.twoFactor.heading')}</h2>
            <p>
              ${summary.enabled ? html`<span class="badge badge-on">${t.t('admin.on')}</span> ${methodNames(t, summary.methods)}${passkeys ? html` <span class="badge">${passkeys}</span>` : ''} · ${t.t('adminHelp.twoFactor.state', { count: summary.recoveryCodesLeft, lastPasscode: summary.lastUsedAt ? when(t, summary.lastUsedAt) : t.t('adminHelp.twoFactor.never') })}` : html`<span class="badge badge-off">${t.t('admin.off')}</span>`}
            </p>
          </section>
          ${
            locked
              ? html`<section class="card" aria-labelledby="lock-heading">
                  <h2 id="lock-heading">${t.t('adminHelp.locked.heading')}</h2>
                  <p>
                    ${[
                      locks.passcodeLockedUntil !== null ? t.t('adminHelp.locked.passcodes', { until: when(t, locks.passcodeLockedUntil) }) : null,
                      locks.passwordLockedForSeconds !== null
                        ? t.t('adminHelp.locked.passwords', { minutes: Math.ceil(locks.passwordLockedForSeconds / 60) })
                        : null,
                    ]
                      .filter((sentence) => sentence !== null)
                      .join(' ')}
                  </p>
                  ${
                    blocked
                      ? ''
                      : html`<p>${t.t('adminHelp.unlock.text')}</p>
                          <form method="post" action="/admin/users/${user.id}/unlock" novalidate>
                            ${csrfField(csrf)} ${reasonField('unlock-reason', state.unlockError)} ${confirmation('unlock', state.unlockError)}
                            <button type="submit" class="primary">${t.t('adminHelp.unlock.submit')}</button>
                          </form>`
                  }
                </section>`
              : ''
          }
          ${
            blocked
              ? html`<p class="notice notice-info">${blocked}</p>`
              : html` <section class="card" aria-labelledby="issue-heading">
                    <h2 id="issue-heading">${t.t('adminHelp.issue.heading')}</h2>
                    <p>${t.t('adminHelp.issue.text')}</p>
                    ${
                      summary.enabled
                        ? html`<form method="post" action="/admin/users/${user.id}/recovery-code" novalidate>
                            ${csrfField(csrf)} ${reasonField('issue-reason', state.issueError)} ${confirmation('issue', state.issueError)}
                            <button type="submit" class="primary">
                              ${t.t('adminHelp.issue.submit', { hours: ADMIN_CODE_LIFETIME_IN_MILLISECONDS / 3_600_000 })}
                            </button>
                          </form>`
                        : html`<p class="muted">${t.t('adminHelp.issue.noTwoFactor')}</p>`
                    }
                  </section>
                  <section class="card" aria-labelledby="reset-heading">
                    <h2 id="reset-heading">${t.t('adminHelp.reset.heading')}</h2>
                    <p>${t.t('adminHelp.reset.text')}</p>
                    <form
                      method="post"
                      action="/admin/users/${user.id}/reset-two-factor"
                      data-confirm="${t.t('adminHelp.reset.confirm', { name: user.name })}"
                      novalidate
                    >
                      ${csrfField(csrf)} ${reasonField('reset-reason', state.resetError)} ${confirmation('reset', state.resetError)}
                      <button type="submit" class="danger">${t.t('adminHelp.reset.submit')}</button>
                    </form>
                  </section>`
          }`,
      },
      status,
    );
  };

  const DONE_NOTICES: Record<string, MessageKey> = {
    reset: 'adminHelp.notice.reset',
    unlocked: 'adminHelp.notice.unlocked',
  };

  app.get('/admin/users/:id', async (request, reply) => {
    const admin = requireAdmin(request, reply);
    if (!admin) return reply;
    const userId = (request.params as { id: string }).id;
    const done = (request.query as Record<string, unknown>).done;
    if (done === 'issued') {
      // The code is shown from its sealed cookie once; a reload shows it no more.
      const issued = openIssuedCode(kit, request, admin, userId);
      kit.cookies.clear(reply, COOKIE.issuedCode);
      return personPage(
        request,
        reply,
        admin,
        userId,
        issued
          ? { issued, notice: { kind: 'success', text: request.i18n.t('adminHelp.notice.issued') } }
          : { notice: { kind: 'error', text: request.i18n.t('adminHelp.notice.codeGone') } },
      );
    }
    const key = typeof done === 'string' ? DONE_NOTICES[done] : undefined;
    return personPage(request, reply, admin, userId, key ? { notice: { kind: 'success', text: request.i18n.t(key) } } : {});
  });

  /** A help action's POST: the reason and the admin's confirmation from the form; a
   * failure shows beside that action's form, a success goes on (POST → 303 → GET). */
  const helpAction = <T>(
    path: string,
    errorKey: 'issueError' | 'unlockError' | 'resetError',
    act: (
      admin: SignedIn,
      input: { userId: string; reason: string; confirmation: { method: string; code: string }; context: ReturnType<typeof requestContext> },
    ) => Promise<Result<T>>,
    done: (reply: FastifyReply, admin: SignedIn, userId: string, value: T) => FastifyReply,
  ) => {
    app.post(`/admin/users/:id/${path}`, async (request, reply) => {
      const admin = requireAdmin(request, reply);
      if (!admin || !kit.checkCsrf(request, reply)) return reply;
      const userId = (request.params as { id: string }).id;
      const result = await act(admin, {
        userId,
        reason: formString(request.body, 'reason'),
        confirmation: formConfirmation(request.body),
        context: requestContext(request),
      });
      if (!result.ok)
        return personPage(
          request,
          reply,
          admin,
          userId,
          { [errorKey]: { text: messageFor(result.failure, request.i18n), aboutReason: result.failure.field === 'reason' } },
          result.failure.code === 'user_not_found' ? 404 : 400,
        );
      return done(reply, admin, userId, result.value);
    });
  };
  const showDone = (done: string) => (reply: FastifyReply, _admin: SignedIn, userId: string) =>
    reply.redirect(`/admin/users/${encodeURIComponent(userId)}?done=${done}`, 303);

  helpAction(
    'recovery-code',
    'issueError',
    (admin, input) => issueRecoveryCodeFor(kit.deps, adminHelper(admin), input),
    (reply, admin, userId, issued) => {
      // The code is shown by the GET that follows, once: reloading the page must not
      // make a second code (and kill the first).
      sealIssuedCode(kit, reply, admin, userId, issued);
      return showDone('issued')(reply, admin, userId);
    },
  );
  helpAction('unlock', 'unlockError', (admin, input) => unlockSignInFor(kit.deps, adminHelper(admin), input), showDone('unlocked'));
  helpAction('reset-two-factor', 'resetError', (admin, input) => resetTwoFactorFor(kit.deps, adminHelper(admin), input), showDone('reset'));
}
