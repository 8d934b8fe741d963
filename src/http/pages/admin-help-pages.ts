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
      issueError?: string | null;
      resetError?: string | null;
      unlockError?: string | null;
      notice?: { kind: 'success' | 'error'; text: string } | null;
      issued?: { code: string; expiresAt: number };
    } = {},
    status = 200,
  ) => {
    const user = await findPerson(kit.deps, admin.account.id, userId);
    if (!user)
      return kit.send(
        request,
        reply,
        {
          title: 'Not found',
          current: 'admin-users',
          notice: { kind: 'error', text: messageFor({ code: 'user_not_found' }) },
          body: html`<p><a href="/admin/users">Back to people</a></p>`,
        },
        404,
      );
    const summary = await twoFactorSummary(kit.deps.db, user, kit.deps.now());
    const passkeys = passkeyLabel(request.i18n, summary.passkeys);
    const locks = await signInLocksOf(kit.deps, admin.account, user);
    const locked = locks.passcodeLockedUntil !== null || locks.passwordLockedForSeconds !== null;
    const methods = await confirmationMethods(kit.deps.db, admin.user, admin.account);
    const csrf = kit.csrfToken(request, reply);
    const self = user.id === admin.user.id;
    const owner = user.id === admin.account.owner_user_id;
    const blocked = self ? 'You cannot do this for yourself. Ask another admin.' : owner ? 'Only the owner can do this for the owner.' : null;
    const confirmation = (prefix: string, error: string | null | undefined) =>
      confirmationFields({
        prefix,
        error: error ?? null,
        methods: methods,
      });
    return kit.send(
      request,
      reply,
      {
        title: user.name,
        current: 'admin-users',
        notice: state.notice ?? null,
        body: html` <p><a href="/admin/users">← People</a></p>
          ${sendConfirmationCodeForms(csrf, `/admin/users/${user.id}`, methods)}
          <h1>${user.name}</h1>
          <p>
            ${user.email} ·
            ${user.role === 'end_user' ? 'End user' : user.role === 'admin' ? 'Admin' : 'Agent'}${user.suspended_at !== null ? ' · Suspended' : ''}
          </p>
          ${
            state.issued
              ? html`<section class="card" aria-labelledby="issued-heading">
                  <h2 id="issued-heading">One-time recovery code for ${user.name}</h2>
                  <p>
                    Give it to them by a channel you trust (in person or by phone). It works once, until ${when(request.i18n, state.issued.expiresAt)}, and is shown only now.
                    They will set up two-factor authentication again after signing in with it.
                  </p>
                  <p><span class="secret" id="issued-code">${state.issued.code}</span> <button type="button" data-copy-target="issued-code">Copy</button></p>
                </section>`
              : ''
          }
          <section class="card" aria-labelledby="state-heading">
            <h2 id="state-heading">Two-factor authentication</h2>
            <p>
              ${summary.enabled ? html`<span class="badge badge-on">On</span> ${methodNames(request.i18n, summary.methods)}${passkeys ? html` <span class="badge">${passkeys}</span>` : ''} · ${String(summary.recoveryCodesLeft)} recovery codes left · last passcode ${summary.lastUsedAt ? when(request.i18n, summary.lastUsedAt) : 'never'}` : html`<span class="badge badge-off">Off</span>`}
            </p>
          </section>
          ${
            locked
              ? html`<section class="card" aria-labelledby="lock-heading">
                  <h2 id="lock-heading">Sign-in paused</h2>
                  <p>
                    ${locks.passcodeLockedUntil !== null ? `Too many wrong passcodes: their sign-in is paused until ${when(request.i18n, locks.passcodeLockedUntil)}.` : ''}${locks.passcodeLockedUntil !== null && locks.passwordLockedForSeconds !== null ? ' ' : ''}${locks.passwordLockedForSeconds !== null ? `Too many wrong passwords: their sign-in is paused for about ${String(Math.ceil(locks.passwordLockedForSeconds / 60))} more minute${locks.passwordLockedForSeconds <= 60 ? '' : 's'}.` : ''}
                  </p>
                  ${
                    blocked
                      ? ''
                      : html`<p>
                            If you know it was them (a mistyped password, an app on the wrong time), unlock it. They will be emailed. If someone else may have
                            their password, help them change it instead.
                          </p>
                          <form method="post" action="/admin/users/${user.id}/unlock" novalidate>
                            ${csrfField(csrf)}
                            ${field({ name: 'reason', id: 'unlock-reason', label: 'Reason (kept in the audit log)', error: state.unlockError && /reason/i.test(state.unlockError) ? state.unlockError : null, maxlength: 500 })}
                            ${confirmation('unlock', state.unlockError && !/reason/i.test(state.unlockError) ? state.unlockError : null)}
                            <button type="submit" class="primary">Unlock sign-in</button>
                          </form>`
                  }
                </section>`
              : ''
          }
          ${
            blocked
              ? html`<p class="notice notice-info">${blocked}</p>`
              : html` <section class="card" aria-labelledby="issue-heading">
                    <h2 id="issue-heading">Get a recovery code for this person</h2>
                    <p>
                      For someone who lost their phone and their recovery codes. They will be emailed that you did this. Signing in with the code removes their
                      old two-factor methods and makes them set it up again.
                    </p>
                    ${
                      summary.enabled
                        ? html`<form method="post" action="/admin/users/${user.id}/recovery-code" novalidate>
                            ${csrfField(csrf)}
                            ${field({ name: 'reason', id: 'issue-reason', label: 'Reason (kept in the audit log)', error: state.issueError && /reason/i.test(state.issueError) ? state.issueError : null, maxlength: 500 })}
                            ${confirmation('issue', state.issueError && !/reason/i.test(state.issueError) ? state.issueError : null)}
                            <button type="submit" class="primary">
                              Get a recovery code (valid ${String(ADMIN_CODE_LIFETIME_IN_MILLISECONDS / 3_600_000)} hour)
                            </button>
                          </form>`
                        : html`<p class="muted">They have no two-factor authentication, so they need no code.</p>`
                    }
                  </section>
                  <section class="card" aria-labelledby="reset-heading">
                    <h2 id="reset-heading">Reset two-factor authentication</h2>
                    <p>
                      Removes their two-factor methods, recovery codes and trusted computers, and signs them out. At their next sign-in they set it up again,
                      starting with a code sent to their email.
                    </p>
                    <form
                      method="post"
                      action="/admin/users/${user.id}/reset-two-factor"
                      data-confirm="Reset ${user.name}'s two-factor authentication?"
                      novalidate
                    >
                      ${csrfField(csrf)}
                      ${field({ name: 'reason', id: 'reset-reason', label: 'Reason (kept in the audit log)', error: state.resetError && /reason/i.test(state.resetError) ? state.resetError : null, maxlength: 500 })}
                      ${confirmation('reset', state.resetError && !/reason/i.test(state.resetError) ? state.resetError : null)}
                      <button type="submit" class="danger">Reset two-factor authentication</button>
                    </form>
                  </section>`
          }`,
      },
      status,
    );
  };

  const DONE_NOTICES: Record<string, string> = {
    reset: 'Their two-factor authentication was reset. They were emailed.',
    unlocked: 'Their sign-in is unlocked. They were emailed.',
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
          ? { issued, notice: { kind: 'success', text: 'Recovery code made. They were emailed that you did this.' } }
          : { notice: { kind: 'error', text: 'The code was shown once and is not kept. If it was lost, make a new one: the old one stops working.' } },
      );
    }
    const text = typeof done === 'string' ? DONE_NOTICES[done] : undefined;
    return personPage(request, reply, admin, userId, text ? { notice: { kind: 'success', text } } : {});
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
        return personPage(request, reply, admin, userId, { [errorKey]: messageFor(result.failure) }, result.failure.code === 'user_not_found' ? 404 : 400);
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
