// Two-factor authentication in Security settings, apart from each factor's own pages
// (http/factors/): the method chooser (after an emailed confirmation when enrolment is
// forced), new recovery codes and turning 2FA off (both behind a confirmation), and
// the preferred method.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SignedIn } from '../../services/sessions.js';
import { setPreferredMethod } from '../../services/preferred-method.js';
import { disableTwoFactor, regenerateRecoveryCodes } from '../../services/two-factor.js';
import { HTTP_FACTORS_IN_ORDER } from '../factors/registry.js';
import { messageFor } from '../errors.js';
import { needsEmailConfirmation, sendEmailConfirmationCode, verifyEmailConfirmationCode } from '../../services/email-confirmation.js';
import { html } from '../html.js';
import { requestContext } from '../request-context.js';
import { csrfField, field, formCode, formConfirmation, formString } from './forms.js';
import type { PageKit } from './kit.js';
import { boldSentence } from './passcode-form.js';
import { recoveryCodesBody } from './enrolment-done.js';
import { setupPage } from './enrolment-chooser.js';
import type { SecurityPage } from './security-page.js';

export function registerTwoFactorPages(app: FastifyInstance, kit: PageKit, securityPage: SecurityPage): void {
  const emailStep = (
    request: FastifyRequest,
    reply: FastifyReply,
    signedIn: SignedIn,
    state: { sent: boolean; error: string | null; notice?: string | null },
    status = 200,
  ) => {
    const csrf = kit.csrfToken(request, reply);
    const t = request.i18n;
    return kit.send(
      request,
      reply,
      {
        title: t.t('emailStep.title'),
        current: 'security',
        notice: state.notice ? { kind: 'info', text: state.notice } : null,
        body: html` <h1>${t.t('emailStep.heading')}</h1>
          <section class="card">
            <h2>${t.t('emailStep.subheading')}</h2>
            <p>${boldSentence(t, 'emailStep.intro', { account: signedIn.account.name, email: signedIn.user.email })}</p>
            <form method="post" action="/profile/email-confirmation/send">
              ${csrfField(csrf)}<button type="submit" ${state.sent ? '' : html` class="primary"`}>${t.t(state.sent ? 'emailStep.sendNew' : 'passcode.email.send')}</button>
            </form>
            ${
              state.sent || state.error
                ? html`<form method="post" action="/profile/email-confirmation/verify" novalidate>
                    ${csrfField(csrf)}
                    ${field({ name: 'code', label: t.t('passcode.email.label'), autocomplete: 'one-time-code', inputmode: 'numeric', error: state.error, autofocus: true, maxlength: 12 })}
                    <button type="submit" class="primary">${t.t('common.continue')}</button>
                  </form>`
                : ''
            }
          </section>`,
      },
      status,
    );
  };

  app.post('/profile/email-confirmation/send', async (request, reply) => {
    const signedIn = kit.requireAny(request, reply);
    if (!signedIn || !kit.checkCsrf(request, reply)) return reply;
    const result = await sendEmailConfirmationCode(kit.deps, signedIn, requestContext(request));
    if (!result.ok && result.failure.code !== 'rate_limited') return reply.redirect('/profile/two-factor/setup', 303);
    return emailStep(request, reply, signedIn, {
      sent: true,
      error: null,
      notice: result.ok ? request.i18n.t('emailStep.sent', { email: signedIn.user.email }) : messageFor(result.failure, request.i18n),
    });
  });

  app.post('/profile/email-confirmation/verify', async (request, reply) => {
    const signedIn = kit.requireAny(request, reply);
    if (!signedIn || !kit.checkCsrf(request, reply)) return reply;
    const result = await verifyEmailConfirmationCode(kit.deps, signedIn, formCode(request.body), requestContext(request));
    if (!result.ok) return emailStep(request, reply, signedIn, { sent: true, error: messageFor(result.failure, request.i18n) }, 400);
    return reply.redirect('/profile/two-factor/setup', 303);
  });

  app.get('/profile/two-factor/setup', async (request, reply) => {
    const signedIn = kit.requireAny(request, reply);
    if (!signedIn) return reply;
    if (needsEmailConfirmation(signedIn)) return emailStep(request, reply, signedIn, { sent: false, error: null });
    const query = request.query as Record<string, unknown>;
    // A code sent for the confirmation (`?sms=sent`, in the factor list's order).
    const sent = HTTP_FACTORS_IN_ORDER.find((factor) => factor.codeSentNotice && query[factor.type] === 'sent')?.codeSentNotice;
    return setupPage(kit, request, reply, signedIn, sent ? { notice: { kind: 'success', text: request.i18n.t(sent) } } : {});
  });

  app.post('/profile/two-factor/recovery-codes', async (request, reply) => {
    const signedIn = kit.requireFull(request, reply);
    if (!signedIn || !kit.checkCsrf(request, reply)) return reply;
    const result = await regenerateRecoveryCodes(kit.deps, signedIn, formConfirmation(request.body), requestContext(request));
    if (!result.ok) {
      return securityPage(request, reply, {
        twoFactorErrors: { regenerate: messageFor(result.failure, request.i18n) },
        status: result.failure.code === 'two_factor_locked' ? 429 : 400,
      });
    }
    return kit.send(request, reply, {
      title: request.i18n.t('codes.newTitle'),
      current: 'security',
      body: recoveryCodesBody(request.i18n, kit, signedIn, result.value, request.i18n.t('codes.newTitle')),
    });
  });

  app.post('/profile/two-factor/disable', async (request, reply) => {
    const signedIn = kit.requireFull(request, reply);
    if (!signedIn || !kit.checkCsrf(request, reply)) return reply;
    const result = await disableTwoFactor(kit.deps, signedIn, formConfirmation(request.body), requestContext(request));
    if (!result.ok) {
      return securityPage(request, reply, {
        twoFactorErrors: { disable: messageFor(result.failure, request.i18n) },
        status: result.failure.code === 'two_factor_locked' ? 429 : 400,
      });
    }
    return reply.redirect('/profile/security?done=two-factor-off', 303);
  });

  app.post('/profile/two-factor/preferred', async (request, reply) => {
    const signedIn = kit.requireFull(request, reply);
    if (!signedIn || !kit.checkCsrf(request, reply)) return reply;
    const result = await setPreferredMethod(kit.deps, signedIn, formString(request.body, 'method'), requestContext(request));
    if (!result.ok) return reply.redirect('/profile/security', 303);
    return reply.redirect('/profile/security?done=preferred', 303);
  });
}
