// Turning on an authenticator app from Security settings: scan the QR code (or type
// the key), enter a code, save the recovery codes.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { formatSecretForManualEntry } from '../../../domain/totp.js';
import { pendingTotpEnrolment, startTotpEnrolment, verifyTotpEnrolment, type TotpEnrolment } from '../../../services/two-factor.js';
import { messageFor } from '../../errors.js';
import { html, type Html } from '../../html.js';
import { requestContext } from '../../request-context.js';
import { showEnrolmentDone } from '../../pages/enrolment-done.js';
import { csrfField, field, formCode, formString } from '../../pages/forms.js';
import type { PageKit } from '../../pages/kit.js';
import type { FactorScreens } from '../http-factor.js';
import type { Translator } from '../../../i18n/translator.js';
import { boldSentence } from '../../pages/passcode-form.js';

function enrolmentBody(t: Translator, csrf: string, enrolment: TotpEnrolment, error: string | null): Html {
  return html` <h1>${t.t('totp.title')}</h1>
    <section class="card">
      <div class="steps">
        <img class="qr" src="${enrolment.qrCodeDataUrl}" alt="${t.t('totp.qrAlt')}" width="220" height="220" />
        <div>
          <ol>
            <li>${t.t('totp.step1')}</li>
            <li>${boldSentence(t, 'totp.step2', { issuer: enrolment.issuer, email: enrolment.accountName })}</li>
            <li>${t.t('totp.step3')}</li>
          </ol>
          <details>
            <summary>${t.t('totp.manualSummary')}</summary>
            <p>${t.t('totp.manualIntro')}</p>
            <p><span class="secret" id="secret-key">${formatSecretForManualEntry(enrolment.secret)}</span></p>
            <p class="hint">${t.t('totp.manualHint', { email: enrolment.accountName })}</p>
          </details>
        </div>
      </div>
      <form method="post" action="/profile/two-factor/totp/verify" novalidate>
        ${csrfField(csrf)}
        ${field({ name: 'code', label: t.t('totp.codeLabel'), autocomplete: 'one-time-code', inputmode: 'numeric', error, autofocus: true, maxlength: 12 })}
        <button type="submit" class="primary">${t.t('enrol.verifyAndTurnOn')}</button>
      </form>
      <p class="hint">${t.t('enrol.expiresHint')}</p>
    </section>`;
}

export function registerAuthenticatorAppPages(app: FastifyInstance, kit: PageKit, screens: FactorScreens): void {
  const sendEnrolment = (request: FastifyRequest, reply: FastifyReply, enrolment: TotpEnrolment, error: string | null, status = 200) =>
    kit.send(
      request,
      reply,
      { title: request.i18n.t('totp.title'), current: 'security', body: enrolmentBody(request.i18n, kit.csrfToken(request, reply), enrolment, error) },
      status,
    );

  app.post('/profile/two-factor/totp', async (request, reply) => {
    const signedIn = kit.requireAny(request, reply);
    if (!signedIn || !kit.checkCsrf(request, reply)) return reply;
    const method = formString(request.body, 'method');
    const confirmation = method ? { method, code: formCode(request.body) } : undefined;
    const result = await startTotpEnrolment(kit.deps, signedIn, requestContext(request), confirmation);
    if (!result.ok && result.failure.code === 'email_confirmation_required') return reply.redirect('/profile/two-factor/setup', 303);
    if (!result.ok && result.failure.code === 'two_factor_already_enabled')
      return screens.securityPage(request, reply, { notice: { kind: 'error', text: messageFor(result.failure, request.i18n) }, status: 409 });
    if (!result.ok) {
      if (result.failure.retryAfterSeconds !== undefined) reply.header('retry-after', String(result.failure.retryAfterSeconds));
      const status =
        result.failure.code === 'two_factor_locked' || result.failure.code === 'rate_limited'
          ? 429
          : result.failure.code === 'confirmation_required'
            ? 403
            : 400;
      return screens.chooser(request, reply, signedIn, { card: { factor: 'totp', error: messageFor(result.failure, request.i18n) } }, status);
    }
    return reply.redirect('/profile/two-factor/totp', 303);
  });

  // The pending enrolment is shown again on reload, until it expires.
  app.get('/profile/two-factor/totp', async (request, reply) => {
    const signedIn = kit.requireAny(request, reply);
    if (!signedIn) return reply;
    const enrolment = await pendingTotpEnrolment(kit.deps, signedIn);
    if (!enrolment) return reply.redirect('/profile/two-factor/setup', 303);
    return sendEnrolment(request, reply, enrolment, null);
  });

  app.post('/profile/two-factor/totp/verify', async (request, reply) => {
    const signedIn = kit.requireAny(request, reply);
    if (!signedIn || !kit.checkCsrf(request, reply)) return reply;
    const result = await verifyTotpEnrolment(kit.deps, signedIn, formCode(request.body), requestContext(request));
    if (!result.ok) {
      const enrolment = await pendingTotpEnrolment(kit.deps, signedIn);
      if (!enrolment) {
        return kit.send(
          request,
          reply,
          {
            title: request.i18n.t('enrol.expiredTitle'),
            current: 'security',
            notice: { kind: 'error', text: messageFor(result.failure, request.i18n) },
            body: html`<p><a class="button primary" href="/profile/two-factor/setup">${request.i18n.t('enrol.startAgain')}</a></p>`,
          },
          400,
        );
      }
      return sendEnrolment(request, reply, enrolment, messageFor(result.failure, request.i18n), 400);
    }
    return showEnrolmentDone(kit, request, reply, signedIn, result.value, '/profile/security');
  });
}
