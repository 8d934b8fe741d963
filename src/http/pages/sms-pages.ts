// Choosing a method (app or text messages), verifying a phone number, texting a code
// for a confirmation, and the preferred method, in Security settings. The page says
// plainly that text messages are the weaker method and suggests the app.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { countryOptions, isCountryCode, parseCountryList } from '../../domain/phone-numbers.js';
import { setPreferredMethod } from '../../services/preferred-method.js';
import { twoFactorSummary } from '../../services/profile.js';
import type { SignedIn } from '../../services/sessions.js';
import { pendingSmsEnrolment, resendSmsEnrolmentCode, startSmsEnrolment, verifySmsEnrolment, type SmsEnrolmentState } from '../../services/sms-enrolment.js';
import { sendConfirmationCode, smsAvailable } from '../../services/sms-sending.js';
import type { SmsDelivery } from '../../domain/sms-codes.js';
import { messageFor } from '../errors.js';
import { html, type Html } from '../html.js';
import { requestContext } from '../request-context.js';
import { confirmationFields, sendConfirmationTextForm } from './confirmation-fields.js';
import { onlySecurityKeys, securityKeyCard } from './webauthn-pages.js';
import { justProvedPasscode } from '../../services/webauthn.js';
import { addingFactorNeedsConfirmation, confirmationMethods } from '../../services/confirmation.js';
import { csrfField, field, formCode, formString, safeNextPath } from './forms.js';
import type { PageKit } from './kit.js';
import { showEnrolmentDone } from './two-factor-pages.js';

/** What the person is told about a text that has not arrived. */
export function deliveryNotice(delivery: SmsDelivery): Html {
  if (delivery === 'failed') {
    return html`<p class="notice notice-error" role="alert">We could not send a text. Try the app or a recovery code.</p>`;
  }
  if (delivery === 'retrying') {
    return html`<p class="notice notice-info" role="status">We have not managed to send the text yet and keep trying. Meanwhile you can use your authenticator app or a recovery code.</p>`;
  }
  return html``;
}

/** The "Text me a code" / "Send again" button, counting down the cooldown (app.js). */
export function sendButton(input: { sent: boolean; resendAfterSeconds: number }): Html {
  const label = input.sent ? 'Send again' : 'Text me a code';
  return html`<button type="submit" data-cooldown="${String(input.resendAfterSeconds)}" data-label="${label}">${label}</button>`;
}

export interface SetupState {
  totpError?: string | null;
  /** About the confirmation of the text-message form. */
  smsError?: string | null;
  phoneError?: string | null;
  phone?: string;
  country?: string;
  /** About adding a security key (its confirmation or the key's answer). */
  keyError?: string | null;
  keyName?: string;
  notice?: { kind: 'info' | 'success' | 'error'; text: string } | null;
}

function countrySelect(selected: string, allowList: string[] | null): Html {
  return html`<div class="field">
  <label for="field-country">Country</label>
  <select id="field-country" name="country" autocomplete="country">${countryOptions(allowList).map(
    (option) => html`<option value="${option.code}"${option.code === selected ? html` selected` : ''}>${option.name} (+${option.callingCode})</option>`,
  )}</select>
</div>`;
}

/** The method choice: the app (recommended) and text messages (the weaker one). Each
 * choice may ask for a confirmation first (addingFactorNeedsConfirmation). */
export async function setupPage(
  kit: PageKit,
  request: FastifyRequest,
  reply: FastifyReply,
  signedIn: SignedIn,
  state: SetupState = {},
  status = 200,
): Promise<FastifyReply> {
  const forced = signedIn.session.kind === 'setup';
  const csrf = kit.csrfToken(request, reply);
  const summary = await twoFactorSummary(kit.deps.db, signedIn.user, kit.deps.now());
  const on = summary.enabled;
  const hasTotp = summary.methods.includes('totp');
  const hasSms = summary.methods.includes('sms');
  const allowList = parseCountryList(signedIn.account.sms_allowed_countries);
  const defaultCountry = state.country && isCountryCode(state.country) ? state.country : signedIn.account.country;
  const keysOnly = onlySecurityKeys(signedIn);
  const confirmable = await confirmationMethods(kit.deps.db, signedIn.user, signedIn.account);
  const confirmationNeeded = addingFactorNeedsConfirmation(signedIn, signedIn.user, kit.deps.now());
  const confirmation = (prefix: string, error: string | null | undefined) =>
    confirmationNeeded
      ? confirmationFields({
          prefix,
          error: error ?? null,
          hasSms: confirmable.includes('sms'),
          hasTotp: confirmable.includes('totp'),
          hasWebauthn: confirmable.includes('webauthn'),
          password: confirmable.includes('password'),
        })
      : '';
  const keyNeedsConfirmation = confirmationNeeded && !justProvedPasscode(signedIn, kit.deps.now());
  const keyCard = securityKeyCard(kit, {
    csrf,
    confirmation: keyNeedsConfirmation ? confirmation('key', state.keyError) : '',
    error: keyNeedsConfirmation ? null : state.keyError,
    required: keysOnly,
    name: state.keyName,
  });
  const appCard = hasTotp
    ? ''
    : html`<section class="card">
    <h2>Use an authenticator app</h2>
    <p><strong>Recommended.</strong> An app on your phone makes a new passcode every 30 seconds, even without a connection, and nobody can redirect it to another phone.</p>
    <form method="post" action="/profile/two-factor/totp" novalidate>
      ${csrfField(csrf)}
      ${confirmation('totp', state.totpError)}
      ${!confirmationNeeded && state.totpError ? html`<p class="error" role="alert">${state.totpError}</p>` : ''}
      <button type="submit" class="primary">Use an authenticator app</button>
    </form>
  </section>`;
  const smsCard = !smsAvailable(kit.deps)
    ? html`<section class="card"><h2>Text messages</h2><p>${messageFor({ code: 'sms_unavailable' })}</p></section>`
    : html`<section class="card">
    <h2>${hasSms ? 'Change your phone number' : 'Use text messages'}</h2>
    <p class="notice notice-info">Text messages are the weaker method: a text can be intercepted, or your number moved to another SIM card by someone who fools your phone company. Use an authenticator app if you can.</p>
    <form method="post" action="/profile/two-factor/sms" novalidate>
      ${csrfField(csrf)}
      ${countrySelect(defaultCountry, allowList)}
      ${field({ name: 'phone', label: 'Mobile phone number', type: 'tel', autocomplete: 'tel', value: state.phone ?? '', error: state.phoneError ?? (!confirmationNeeded ? (state.smsError ?? null) : null), hint: 'We text a 6-digit code to it now, and whenever you sign in.', maxlength: 40 })}
      ${confirmation('sms', state.smsError)}
      <button type="submit">Text me a code</button>
    </form>
  </section>`;
  return kit.send(
    request,
    reply,
    {
      title: on ? 'Add a two-factor method' : 'Enable two-factor authentication',
      current: 'security',
      notice:
        state.notice ??
        (keysOnly
          ? { kind: 'info', text: `${signedIn.account.name} requires admins to sign in with a security key or passkey. Add one to continue.` }
          : forced
            ? { kind: 'info', text: 'Set up two-factor authentication to continue. It takes a minute.' }
            : null),
      body: html`
${on && hasSms ? sendConfirmationTextForm(csrf, '/profile/two-factor/setup') : ''}
<h1>${on ? 'Add a two-factor method' : 'Enable two-factor authentication'}</h1>
<p>${on ? 'Adding a method, or changing your phone number, needs a current passcode or a recovery code first.' : confirmationNeeded ? 'Choose what you will use after your password, and confirm with your password.' : 'Choose what you will use after your password.'}</p>
<div class="method-choice">
  ${keyCard}
  ${keysOnly ? '' : appCard}
  ${keysOnly ? '' : smsCard}
</div>
${forced ? '' : html`<p class="aside"><a href="/profile/security">Cancel</a></p>`}`,
    },
    status,
  );
}

function statusOf(code: string): number {
  return code === 'rate_limited' || code === 'sms_rate_limited' || code === 'two_factor_locked' ? 429 : code === 'confirmation_required' ? 403 : 400;
}

export function registerSmsPages(app: FastifyInstance, kit: PageKit): void {
  const pendingPage = (
    request: FastifyRequest,
    reply: FastifyReply,
    pending: SmsEnrolmentState,
    state: { error?: string | null; notice?: string | null } = {},
    status = 200,
  ) => {
    const csrf = kit.csrfToken(request, reply);
    return kit.send(
      request,
      reply,
      {
        title: 'Use text messages',
        current: 'security',
        notice: state.notice ? { kind: 'error', text: state.notice } : null,
        body: html`
<h1>Use text messages</h1>
<section class="card">
  <p>We texted a 6-digit code to <strong class="phone">${pending.phoneMasked}</strong>. It works for 10 minutes.</p>
  ${deliveryNotice(pending.delivery)}
  <form method="post" action="/profile/two-factor/sms/verify" novalidate data-webotp>
    ${csrfField(csrf)}
    ${field({ name: 'code', label: '6-digit code from the text', autocomplete: 'one-time-code', inputmode: 'numeric', error: state.error ?? null, autofocus: true, maxlength: 12 })}
    <button type="submit" class="primary">${pending.replacesNumber ? 'Verify and use this number' : 'Verify and turn on'}</button>
  </form>
  <div class="actions"><form method="post" action="/profile/two-factor/sms/resend" class="inline">
    ${csrfField(csrf)}
    ${sendButton({ sent: true, resendAfterSeconds: pending.resendAfterSeconds })}
  </form></div>
  <p class="aside"><a href="/profile/two-factor/setup">Use another number</a></p>
  <p class="hint">This setup expires 15 minutes after it started.</p>
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
      const message = messageFor(result.failure);
      const about =
        result.failure.field === 'phone' || result.failure.field === 'country' ? 'phone' : result.failure.field === 'code' || method ? 'confirmation' : 'page';
      const state: SetupState =
        about === 'phone'
          ? { phoneError: message }
          : about === 'confirmation' && result.failure.code !== 'sms_rate_limited'
            ? { smsError: message }
            : { notice: { kind: 'error', text: message } };
      return setupPage(kit, request, reply, signedIn, { ...state, phone, country }, statusOf(result.failure.code));
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
      return pendingPage(request, reply, pending, { notice: messageFor(result.failure) }, statusOf(result.failure.code));
    }
    return reply.redirect('/profile/two-factor/sms', 303);
  });

  app.post('/profile/two-factor/sms/verify', async (request, reply) => {
    const signedIn = kit.requireAny(request, reply);
    if (!signedIn || !kit.checkCsrf(request, reply)) return reply;
    const result = await verifySmsEnrolment(kit.deps, signedIn, formCode(request.body), requestContext(request));
    if (!result.ok) {
      const pending = await pendingSmsEnrolment(kit.deps, signedIn);
      if (!pending) return setupPage(kit, request, reply, signedIn, { notice: { kind: 'error', text: messageFor(result.failure) } }, 400);
      if (result.failure.retryAfterSeconds !== undefined) reply.header('retry-after', String(result.failure.retryAfterSeconds));
      return pendingPage(
        request,
        reply,
        pending,
        { error: messageFor(result.failure) },
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
          title: 'Text message',
          current: 'security',
          notice: { kind: 'error', text: messageFor(result.failure) },
          body: html`<p><a class="button" href="${back}">Back</a></p>`,
        },
        statusOf(result.failure.code),
      );
    }
    return reply.redirect(`${back}${back.includes('?') ? '&' : '?'}sms=sent`, 303);
  });

  app.post('/profile/two-factor/preferred', async (request, reply) => {
    const signedIn = kit.requireFull(request, reply);
    if (!signedIn || !kit.checkCsrf(request, reply)) return reply;
    const result = await setPreferredMethod(kit.deps, signedIn, formString(request.body, 'method'), requestContext(request));
    if (!result.ok) return reply.redirect('/profile/security', 303);
    return reply.redirect('/profile/security?done=preferred', 303);
  });
}
