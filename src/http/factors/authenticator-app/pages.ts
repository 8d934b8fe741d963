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

function enrolmentBody(csrf: string, enrolment: TotpEnrolment, error: string | null): Html {
  return html` <h1>Use an authenticator app</h1>
    <section class="card">
      <div class="steps">
        <img class="qr" src="${enrolment.qrCodeDataUrl}" alt="QR code for your authenticator app" width="220" height="220" />
        <div>
          <ol>
            <li>
              Open an authenticator app on your phone, such as Google Authenticator, Microsoft Authenticator, Authy or 1Password, and add an entry (it may say
              "Scan a QR code" or "Scan barcode").
            </li>
            <li>Point the camera at the QR code. The entry appears as <strong>${enrolment.issuer}</strong> with your email, ${enrolment.accountName}.</li>
            <li>Enter the 6-digit code the app shows.</li>
          </ol>
          <details>
            <summary>Can't scan it? Enter the key by hand</summary>
            <p>Choose "Enter a setup key" in the app, type this key, and choose a time-based code.</p>
            <p><span class="secret" id="secret-key">${formatSecretForManualEntry(enrolment.secret)}</span></p>
            <p class="hint">Account: ${enrolment.accountName} · Key: time-based, 6 digits, every 30 seconds</p>
          </details>
        </div>
      </div>
      <form method="post" action="/profile/two-factor/totp/verify" novalidate>
        ${csrfField(csrf)}
        ${field({ name: 'code', label: '6-digit code from the app', autocomplete: 'one-time-code', inputmode: 'numeric', error, autofocus: true, maxlength: 12 })}
        <button type="submit" class="primary">Verify and turn on</button>
      </form>
      <p class="hint">This setup expires 15 minutes after it started.</p>
    </section>`;
}

export function registerAuthenticatorAppPages(app: FastifyInstance, kit: PageKit, screens: FactorScreens): void {
  const sendEnrolment = (request: FastifyRequest, reply: FastifyReply, enrolment: TotpEnrolment, error: string | null, status = 200) =>
    kit.send(
      request,
      reply,
      { title: 'Use an authenticator app', current: 'security', body: enrolmentBody(kit.csrfToken(request, reply), enrolment, error) },
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
      return screens.securityPage(request, reply, { notice: { kind: 'error', text: messageFor(result.failure) }, status: 409 });
    if (!result.ok) {
      if (result.failure.retryAfterSeconds !== undefined) reply.header('retry-after', String(result.failure.retryAfterSeconds));
      const status =
        result.failure.code === 'two_factor_locked' || result.failure.code === 'rate_limited'
          ? 429
          : result.failure.code === 'confirmation_required'
            ? 403
            : 400;
      return screens.chooser(request, reply, signedIn, { card: { factor: 'totp', error: messageFor(result.failure) } }, status);
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
            title: 'Setup expired',
            current: 'security',
            notice: { kind: 'error', text: messageFor(result.failure) },
            body: html`<p><a class="button primary" href="/profile/two-factor/setup">Start again</a></p>`,
          },
          400,
        );
      }
      return sendEnrolment(request, reply, enrolment, messageFor(result.failure), 400);
    }
    return showEnrolmentDone(kit, request, reply, signedIn, result.value, '/profile/security');
  });
}
