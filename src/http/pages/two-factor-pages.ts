// Enabling two-factor authentication from Security settings: choose a method, scan
// the QR code, enter a code, save the recovery codes. Also new recovery codes and
// turning 2FA off, both behind a confirmation.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { formatSecretForManualEntry } from '../../domain/totp.js';
import type { SignedIn } from '../../services/sessions.js';
import {
  disableTwoFactor,
  pendingTotpEnrolment,
  regenerateRecoveryCodes,
  startTotpEnrolment,
  verifyTotpEnrolment,
  type TotpEnrolment,
} from '../../services/two-factor.js';
import { messageFor } from '../errors.js';
import { needsEmailConfirmation, sendEmailConfirmationCode, verifyEmailConfirmationCode } from '../../services/email-confirmation.js';
import { html, type Html } from '../html.js';
import { requestContext } from '../request-context.js';
import { csrfField, field, formCode, formConfirmation, formString } from './forms.js';
import type { PageKit } from './kit.js';
import { recoveryCodesBody, showEnrolmentDone } from './enrolment-done.js';
import { registerEmailFactorPages } from './email-factor-pages.js';
import { setupPage } from './enrolment-chooser.js';
import type { SecurityPage } from './security-page.js';
import { registerSmsPages } from './sms-pages.js';
import { registerSecurityKeyPages } from './webauthn-pages.js';

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

export function registerTwoFactorPages(app: FastifyInstance, kit: PageKit, securityPage: SecurityPage): void {
  const sendEnrolment = (request: FastifyRequest, reply: FastifyReply, enrolment: TotpEnrolment, error: string | null, status = 200) =>
    kit.send(
      request,
      reply,
      { title: 'Use an authenticator app', current: 'security', body: enrolmentBody(kit.csrfToken(request, reply), enrolment, error) },
      status,
    );

  const emailStep = (
    request: FastifyRequest,
    reply: FastifyReply,
    signedIn: SignedIn,
    state: { sent: boolean; error: string | null; notice?: string | null },
    status = 200,
  ) => {
    const csrf = kit.csrfToken(request, reply);
    return kit.send(
      request,
      reply,
      {
        title: 'Confirm your email',
        current: 'security',
        notice: state.notice ? { kind: 'info', text: state.notice } : null,
        body: html` <h1>Set up two-factor authentication</h1>
          <section class="card">
            <h2>First, confirm it is you</h2>
            <p>
              ${signedIn.account.name} requires two-factor authentication. To make sure nobody else sets it up with your password, we email a 6-digit code to
              <strong>${signedIn.user.email}</strong>.
            </p>
            <form method="post" action="/profile/email-confirmation/send">
              ${csrfField(csrf)}<button type="submit" ${state.sent ? '' : html` class="primary"`}>${state.sent ? 'Send a new code' : 'Email me a code'}</button>
            </form>
            ${
              state.sent || state.error
                ? html`<form method="post" action="/profile/email-confirmation/verify" novalidate>
                    ${csrfField(csrf)}
                    ${field({ name: 'code', label: 'Code from the email', autocomplete: 'one-time-code', inputmode: 'numeric', error: state.error, autofocus: true, maxlength: 12 })}
                    <button type="submit" class="primary">Continue</button>
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
      notice: result.ok ? `We sent a code to ${signedIn.user.email}. It works for 10 minutes.` : messageFor(result.failure),
    });
  });

  app.post('/profile/email-confirmation/verify', async (request, reply) => {
    const signedIn = kit.requireAny(request, reply);
    if (!signedIn || !kit.checkCsrf(request, reply)) return reply;
    const result = await verifyEmailConfirmationCode(kit.deps, signedIn, formCode(request.body), requestContext(request));
    if (!result.ok) return emailStep(request, reply, signedIn, { sent: true, error: messageFor(result.failure) }, 400);
    return reply.redirect('/profile/two-factor/setup', 303);
  });

  app.get('/profile/two-factor/setup', async (request, reply) => {
    const signedIn = kit.requireAny(request, reply);
    if (!signedIn) return reply;
    if (needsEmailConfirmation(signedIn)) return emailStep(request, reply, signedIn, { sent: false, error: null });
    const query = request.query as Record<string, unknown>;
    const sent = query.sms === 'sent' ? 'We texted you a code.' : query.email === 'sent' ? 'We emailed you a code.' : null;
    return setupPage(kit, request, reply, signedIn, sent ? { notice: { kind: 'success', text: `${sent} It works for 10 minutes.` } } : {});
  });

  app.post('/profile/two-factor/totp', async (request, reply) => {
    const signedIn = kit.requireAny(request, reply);
    if (!signedIn || !kit.checkCsrf(request, reply)) return reply;
    const method = formString(request.body, 'method');
    const confirmation = method ? { method, code: formCode(request.body) } : undefined;
    const result = await startTotpEnrolment(kit.deps, signedIn, requestContext(request), confirmation);
    if (!result.ok && result.failure.code === 'email_confirmation_required') return reply.redirect('/profile/two-factor/setup', 303);
    if (!result.ok && result.failure.code === 'two_factor_already_enabled')
      return securityPage(request, reply, { notice: { kind: 'error', text: messageFor(result.failure) }, status: 409 });
    if (!result.ok) {
      if (result.failure.retryAfterSeconds !== undefined) reply.header('retry-after', String(result.failure.retryAfterSeconds));
      const status =
        result.failure.code === 'two_factor_locked' || result.failure.code === 'rate_limited'
          ? 429
          : result.failure.code === 'confirmation_required'
            ? 403
            : 400;
      return setupPage(kit, request, reply, signedIn, { totpError: messageFor(result.failure) }, status);
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

  registerSmsPages(app, kit);
  registerEmailFactorPages(app, kit);
  registerSecurityKeyPages(app, kit, securityPage);

  app.post('/profile/two-factor/recovery-codes', async (request, reply) => {
    const signedIn = kit.requireFull(request, reply);
    if (!signedIn || !kit.checkCsrf(request, reply)) return reply;
    const result = await regenerateRecoveryCodes(kit.deps, signedIn, formConfirmation(request.body), requestContext(request));
    if (!result.ok) {
      return securityPage(request, reply, {
        twoFactorErrors: { regenerate: messageFor(result.failure) },
        status: result.failure.code === 'two_factor_locked' ? 429 : 400,
      });
    }
    return kit.send(request, reply, {
      title: 'New recovery codes',
      current: 'security',
      body: recoveryCodesBody(kit, signedIn, result.value, 'New recovery codes'),
    });
  });

  app.post('/profile/two-factor/disable', async (request, reply) => {
    const signedIn = kit.requireFull(request, reply);
    if (!signedIn || !kit.checkCsrf(request, reply)) return reply;
    const result = await disableTwoFactor(kit.deps, signedIn, formConfirmation(request.body), requestContext(request));
    if (!result.ok) {
      return securityPage(request, reply, {
        twoFactorErrors: { disable: messageFor(result.failure) },
        status: result.failure.code === 'two_factor_locked' ? 429 : 400,
      });
    }
    return reply.redirect('/profile/security?done=two-factor-off', 303);
  });
}
