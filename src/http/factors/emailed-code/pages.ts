// Emailed codes as a second factor in Security settings: turning them on (a code
// emailed to the person's address, typed back), "Send again", and emailing a code for
// a confirmation. The chooser's card is in index.ts.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  pendingEmailEnrolment,
  resendEmailEnrolmentCode,
  sendEmailedConfirmationCode,
  startEmailEnrolment,
  verifyEmailEnrolment,
} from '../../../services/email-factor.js';
import { ERROR_TABLE, messageFor } from '../../errors.js';
import { html } from '../../html.js';
import { requestContext } from '../../request-context.js';
import { sendButton } from '../../pages/code-sending.js';
import { showEnrolmentDone } from '../../pages/enrolment-done.js';
import { csrfField, field, formCode, formString, safeNextPath } from '../../pages/forms.js';
import type { PageKit } from '../../pages/kit.js';
import type { FactorScreens } from '../http-factor.js';
import { boldSentence } from '../../pages/passcode-form.js';

export function registerEmailedCodePages(app: FastifyInstance, kit: PageKit, screens: FactorScreens): void {
  const pendingPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    state: { error?: string | null; notice?: string | null } = {},
    status = 200,
  ): Promise<FastifyReply> => {
    const signedIn = request.signedIn!;
    const pending = await pendingEmailEnrolment(kit.deps, signedIn);
    if (!pending) return reply.redirect('/profile/two-factor/setup', 303);
    const csrf = kit.csrfToken(request, reply);
    const t = request.i18n;
    return kit.send(
      request,
      reply,
      {
        title: t.t('emailCode.title'),
        current: 'security',
        notice: state.notice ? { kind: 'error', text: state.notice } : null,
        body: html` <h1>${t.t('emailCode.title')}</h1>
          <section class="card">
            <p>${boldSentence(t, 'emailCode.sent', { email: signedIn.user.email })}</p>
            <form method="post" action="/profile/two-factor/email/verify" novalidate>
              ${csrfField(csrf)}
              ${field({ name: 'code', label: t.t('emailCode.label'), autocomplete: 'one-time-code', inputmode: 'numeric', error: state.error ?? null, autofocus: true, maxlength: 12 })}
              <button type="submit" class="primary">${t.t('enrol.verifyAndTurnOn')}</button>
            </form>
            <div class="actions">
              <form method="post" action="/profile/two-factor/email/resend" class="inline">
                ${csrfField(csrf)}
                ${sendButton({ sent: true, resendAfterSeconds: pending.resendAfterSeconds, label: t.t('passcode.email.send'), sentLabel: t.t('passcode.sendAgain') })}
              </form>
            </div>
            <p class="hint">${t.t('enrol.expiresHint')}</p>
          </section>`,
      },
      status,
    );
  };

  app.post('/profile/two-factor/email', async (request, reply) => {
    const signedIn = kit.requireAny(request, reply);
    if (!signedIn || !kit.checkCsrf(request, reply)) return reply;
    const method = formString(request.body, 'method');
    const confirmation = method ? { method, code: formCode(request.body) } : undefined;
    const result = await startEmailEnrolment(kit.deps, signedIn, confirmation, requestContext(request));
    if (!result.ok && result.failure.code === 'email_confirmation_required') return reply.redirect('/profile/two-factor/setup', 303);
    if (!result.ok) {
      if (result.failure.retryAfterSeconds !== undefined) reply.header('retry-after', String(result.failure.retryAfterSeconds));
      return screens.chooser(
        request,
        reply,
        signedIn,
        { card: { factor: 'email', error: messageFor(result.failure, request.i18n) } },
        ERROR_TABLE[result.failure.code].status,
      );
    }
    return reply.redirect('/profile/two-factor/email', 303);
  });

  // The code being waited for is shown again on reload, until the setup expires.
  app.get('/profile/two-factor/email', async (request, reply) => {
    if (!kit.requireAny(request, reply)) return reply;
    return pendingPage(request, reply);
  });

  app.post('/profile/two-factor/email/resend', async (request, reply) => {
    const signedIn = kit.requireAny(request, reply);
    if (!signedIn || !kit.checkCsrf(request, reply)) return reply;
    const result = await resendEmailEnrolmentCode(kit.deps, signedIn, requestContext(request));
    if (!result.ok) {
      if (result.failure.retryAfterSeconds !== undefined) reply.header('retry-after', String(result.failure.retryAfterSeconds));
      return pendingPage(request, reply, { notice: messageFor(result.failure, request.i18n) }, ERROR_TABLE[result.failure.code].status);
    }
    return reply.redirect('/profile/two-factor/email', 303);
  });

  app.post('/profile/two-factor/email/verify', async (request, reply) => {
    const signedIn = kit.requireAny(request, reply);
    if (!signedIn || !kit.checkCsrf(request, reply)) return reply;
    const result = await verifyEmailEnrolment(kit.deps, signedIn, formCode(request.body), requestContext(request));
    if (!result.ok) {
      if (result.failure.retryAfterSeconds !== undefined) reply.header('retry-after', String(result.failure.retryAfterSeconds));
      if (!(await pendingEmailEnrolment(kit.deps, signedIn))) {
        return screens.chooser(request, reply, signedIn, { notice: { kind: 'error', text: messageFor(result.failure, request.i18n) } }, 400);
      }
      return pendingPage(request, reply, { error: messageFor(result.failure, request.i18n) }, ERROR_TABLE[result.failure.code].status);
    }
    return showEnrolmentDone(kit, request, reply, signedIn, result.value, '/profile/security?done=email-on');
  });

  // "Email me a code" beside a confirmation: emails the person, then back to the page.
  app.post('/profile/two-factor/email/send', async (request, reply) => {
    const signedIn = kit.requireFull(request, reply);
    if (!signedIn || !kit.checkCsrf(request, reply)) return reply;
    const back = safeNextPath(formString(request.body, 'back')) ?? '/profile/security';
    const result = await sendEmailedConfirmationCode(kit.deps, signedIn, requestContext(request));
    if (!result.ok) {
      if (result.failure.retryAfterSeconds !== undefined) reply.header('retry-after', String(result.failure.retryAfterSeconds));
      return kit.send(
        request,
        reply,
        {
          title: request.i18n.t('security.method.email'),
          current: 'security',
          notice: { kind: 'error', text: messageFor(result.failure, request.i18n) },
          body: html`<p><a class="button" href="${back}">${request.i18n.t('common.back')}</a></p>`,
        },
        ERROR_TABLE[result.failure.code].status,
      );
    }
    return reply.redirect(`${back}${back.includes('?') ? '&' : '?'}email=sent`, 303);
  });
}
