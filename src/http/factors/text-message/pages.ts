// Verifying a phone number and texting a code for a confirmation, in Security
// settings (the chooser's card is in index.ts).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { pendingSmsEnrolment, resendSmsEnrolmentCode, startSmsEnrolment, verifySmsEnrolment, type SmsEnrolmentState } from '../../../services/sms-enrolment.js';
import { sendConfirmationCode } from '../../../services/sms-sending.js';
import { messageFor } from '../../errors.js';
import { html } from '../../html.js';
import { requestContext } from '../../request-context.js';
import { sendButton } from '../../pages/code-sending.js';
import { deliveryNotice } from './delivery-notice.js';
import { showEnrolmentDone } from '../../pages/enrolment-done.js';
import { csrfField, field, formCode, formString, safeNextPath } from '../../pages/forms.js';
import type { PageKit } from '../../pages/kit.js';
import type { ChooserState, FactorScreens } from '../http-factor.js';
import { boldSentence } from '../../pages/passcode-form.js';

function statusOf(code: string): number {
  return code === 'rate_limited' || code === 'sms_rate_limited' || code === 'two_factor_locked' ? 429 : code === 'confirmation_required' ? 403 : 400;
}

export function registerTextMessagePages(app: FastifyInstance, kit: PageKit, screens: FactorScreens): void {
  const pendingPage = (
    request: FastifyRequest,
    reply: FastifyReply,
    pending: SmsEnrolmentState,
    state: { error?: string | null; notice?: string | null } = {},
    status = 200,
  ) => {
    const csrf = kit.csrfToken(request, reply);
    const t = request.i18n;
    return kit.send(
      request,
      reply,
      {
        title: t.t('smsEnrol.title'),
        current: 'security',
        notice: state.notice ? { kind: 'error', text: state.notice } : null,
        body: html` <h1>${t.t('smsEnrol.title')}</h1>
          <section class="card">
            <p>${boldSentence(t, 'smsEnrol.sent', { number: pending.phoneMasked })}</p>
            ${deliveryNotice(pending.delivery, t)}
            <form method="post" action="/profile/two-factor/sms/verify" novalidate data-webotp>
              ${csrfField(csrf)}
              ${field({ name: 'code', label: t.t('smsEnrol.label'), autocomplete: 'one-time-code', inputmode: 'numeric', error: state.error ?? null, autofocus: true, maxlength: 12 })}
              <button type="submit" class="primary">${t.t(pending.replacesNumber ? 'smsEnrol.useNumber' : 'enrol.verifyAndTurnOn')}</button>
            </form>
            <div class="actions">
              <form method="post" action="/profile/two-factor/sms/resend" class="inline">
                ${csrfField(csrf)}
                ${sendButton({ sent: true, resendAfterSeconds: pending.resendAfterSeconds, label: t.t('passcode.sms.send'), sentLabel: t.t('passcode.sendAgain') })}
              </form>
            </div>
            <p class="aside"><a href="/profile/two-factor/setup">${t.t('smsEnrol.another')}</a></p>
            <p class="hint">${t.t('enrol.expiresHint')}</p>
          </section>`,
      },
      status,
    );
  };

  app.post('/profile/two-factor/sms', async (request, reply) => {
    const signedIn = kit.requireAny(request, reply);
    if (!signedIn || !kit.checkCsrf(request, reply)) return reply;
    const phone = formString(request.body, 'phone');
    const country = formString(request.body, 'country');
    const method = formString(request.body, 'method');
    const result = await startSmsEnrolment(
      kit.deps,
      signedIn,
      { phone, country, confirmation: method ? { method, code: formCode(request.body) } : undefined },
      requestContext(request),
    );
    if (!result.ok && result.failure.code === 'email_confirmation_required') return reply.redirect('/profile/two-factor/setup', 303);
    if (!result.ok) {
      if (result.failure.retryAfterSeconds !== undefined) reply.header('retry-after', String(result.failure.retryAfterSeconds));
      const message = messageFor(result.failure, request.i18n);
      const about =
        result.failure.field === 'phone' || result.failure.field === 'country' ? 'phone' : result.failure.field === 'code' || method ? 'confirmation' : 'page';
      const card = { factor: 'sms', values: { phone, country } } as const;
      const state: ChooserState =
        about === 'phone'
          ? { card: { ...card, fieldError: message } }
          : about === 'confirmation' && result.failure.code !== 'sms_rate_limited'
            ? { card: { ...card, error: message } }
            : { card, notice: { kind: 'error', text: message } };
      return screens.chooser(request, reply, signedIn, state, statusOf(result.failure.code));
    }
    return reply.redirect('/profile/two-factor/sms', 303);
  });

  // The number being verified is shown again on reload, until it expires.
  app.get('/profile/two-factor/sms', async (request, reply) => {
    const signedIn = kit.requireAny(request, reply);
    if (!signedIn) return reply;
    const pending = await pendingSmsEnrolment(kit.deps, signedIn);
    if (!pending) return reply.redirect('/profile/two-factor/setup', 303);
    return pendingPage(request, reply, pending);
  });

  app.post('/profile/two-factor/sms/resend', async (request, reply) => {
    const signedIn = kit.requireAny(request, reply);
    if (!signedIn || !kit.checkCsrf(request, reply)) return reply;
    const result = await resendSmsEnrolmentCode(kit.deps, signedIn, requestContext(request));
    const pending = await pendingSmsEnrolment(kit.deps, signedIn);
    if (!pending) return reply.redirect('/profile/two-factor/setup', 303);
    if (!result.ok) {
      if (result.failure.retryAfterSeconds !== undefined) reply.header('retry-after', String(result.failure.retryAfterSeconds));
      return pendingPage(request, reply, pending, { notice: messageFor(result.failure, request.i18n) }, statusOf(result.failure.code));
    }
    return reply.redirect('/profile/two-factor/sms', 303);
  });

  app.post('/profile/two-factor/sms/verify', async (request, reply) => {
    const signedIn = kit.requireAny(request, reply);
    if (!signedIn || !kit.checkCsrf(request, reply)) return reply;
    const result = await verifySmsEnrolment(kit.deps, signedIn, formCode(request.body), requestContext(request));
    if (!result.ok) {
      const pending = await pendingSmsEnrolment(kit.deps, signedIn);
      if (!pending) return screens.chooser(request, reply, signedIn, { notice: { kind: 'error', text: messageFor(result.failure, request.i18n) } }, 400);
      if (result.failure.retryAfterSeconds !== undefined) reply.header('retry-after', String(result.failure.retryAfterSeconds));
      return pendingPage(
        request,
        reply,
        pending,
        { error: messageFor(result.failure, request.i18n) },
        result.failure.code === 'sms_not_delivered' ? 409 : statusOf(result.failure.code),
      );
    }
    return showEnrolmentDone(kit, request, reply, signedIn, result.value, '/profile/security?done=sms-on');
  });

  // "Text me a code" beside a confirmation: texts the enrolled number, then back to the page.
  app.post('/profile/two-factor/sms/send', async (request, reply) => {
    const signedIn = kit.requireFull(request, reply);
    if (!signedIn || !kit.checkCsrf(request, reply)) return reply;
    const back = safeNextPath(formString(request.body, 'back')) ?? '/profile/security';
    const result = await sendConfirmationCode(kit.deps, signedIn, requestContext(request));
    if (!result.ok) {
      if (result.failure.retryAfterSeconds !== undefined) reply.header('retry-after', String(result.failure.retryAfterSeconds));
      return kit.send(
        request,
        reply,
        {
          title: request.i18n.t('security.method.sms'),
          current: 'security',
          notice: { kind: 'error', text: messageFor(result.failure, request.i18n) },
          body: html`<p><a class="button" href="${back}">${request.i18n.t('common.back')}</a></p>`,
        },
        statusOf(result.failure.code),
      );
    }
    return reply.redirect(`${back}${back.includes('?') ? '&' : '?'}sms=sent`, 303);
  });
}
