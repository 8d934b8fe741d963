// The passcode page: the second step of sign-in. It is opened by the challenge cookie
// alone, which grants nothing else.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { factorDescriptor, type SecondFactorMethod } from '../../domain/factors.js';
import { firstOfferedMethod } from '../../services/preferred-method.js';
import { completeSecondFactor, openChallenge, securityKeySignInOptions, type OpenChallenge } from '../../services/challenge.js';
import { sendEmailSignInCode, signInEmailCodeState } from '../../services/email-factor.js';
import { sendSignInCode, signInCodeState, type SmsCodeState } from '../../services/sms-sending.js';
import { messageFor, sendApiFailure } from '../errors.js';
import { html, type Html } from '../html.js';
import { COOKIE, requestContext } from '../request-context.js';
import { csrfField, field, formCode, formString } from './forms.js';
import { DEVICE_COOKIE_MAX_AGE_IN_SECONDS, type PageKit } from './kit.js';
import { deliveryNotice, sendButton } from './code-sending.js';

type PasscodeMethod = SecondFactorMethod;

/** The code sent for this sign-in by the chosen factor (text or email), for the page. */
interface SentCode {
  destination: string;
  sentAt: number | null;
  resendAfterSeconds: number;
  delivery: SmsCodeState['delivery'];
}

async function sentCodeFor(kit: PageKit, open: OpenChallenge, method: PasscodeMethod): Promise<SentCode | null> {
  if (method === 'sms') {
    const sms = await signInCodeState(kit.deps.db, kit.deps, open);
    return sms && { destination: sms.phoneMasked, sentAt: sms.sentAt, resendAfterSeconds: sms.resendAfterSeconds, delivery: sms.delivery };
  }
  if (method === 'email') return signInEmailCodeState(kit.deps.db, kit.deps, open);
  return null;
}

function passcodeForm(
  csrf: string,
  open: OpenChallenge,
  input: { method: PasscodeMethod; error: string | null; remember: boolean; sms: SentCode | null },
): Html {
  const action = `/sign-in/two-factor`;
  const days = open.account.trusted_device_days;
  const isRecovery = input.method === 'recovery_code';
  const isSms = input.method === 'sms';
  const isEmail = input.method === 'email';
  const sms = input.sms;
  const switchTo = (method: PasscodeMethod) => `/sign-in/two-factor?method=${method}`;
  // The challenge's methods come in the factor list's order, recovery codes last.
  const otherLinks: Html[] = open.methods
    .filter((method) => method !== input.method)
    .map((method) => html`<a href="${switchTo(method)}">${factorDescriptor(method).signInOffer}</a>`);
  const intro = isRecovery
    ? html`Enter one of your recovery codes. Each code works once.`
    : isSms
      ? sms && sms.sentAt !== null
        ? html`We texted a 6-digit code to <strong class="phone">${sms.destination}</strong> for <strong>${open.account.name}</strong>. It works for 10 minutes.`
        : html`We can text a 6-digit code to <strong class="phone">${sms?.destination ?? ''}</strong> for <strong>${open.account.name}</strong>.`
      : isEmail
        ? sms && sms.sentAt !== null
          ? html`We emailed a 6-digit code to <strong>${sms.destination}</strong> for <strong>${open.account.name}</strong>. It works for 10 minutes.`
          : html`We can email a 6-digit code to <strong>${sms?.destination ?? ''}</strong> for <strong>${open.account.name}</strong>.`
        : html`Open your authenticator app and enter the 6-digit passcode for <strong>${open.account.name}</strong>.`;
  const remember =
    days > 0
      ? html`<label class="checkbox"
          ><input type="checkbox" name="remember" value="1"${input.remember ? html` checked` : ''}> Don't ask again on this computer for ${String(days)}
          day${days === 1 ? '' : 's'}</label
        >`
      : '';
  if (input.method === 'webauthn') {
    return html` <h1>Two-factor authentication</h1>
      <p>Use your security key or passkey for <strong>${open.account.name}</strong>: press the button, then touch your key or confirm on your device.</p>
      <form method="post" action="${action}" data-webauthn-sign-in="/sign-in/two-factor/webauthn/options" novalidate>
        ${csrfField(csrf)}
        <input type="hidden" name="method" value="webauthn" />
        <input type="hidden" name="code" value="" />
        ${input.error ? html`<p class="error" role="alert">${input.error}</p>` : ''}
        <p class="error" data-webauthn-error role="alert" hidden></p>
        <noscript><p class="error">Security keys need JavaScript in this browser. Use another method below.</p></noscript>
        ${remember}
        <button type="submit" class="primary" autofocus>Use your security key</button>
      </form>
      <p class="aside">${otherLinks.map((link, i) => (i === 0 ? link : html` · ${link}`))}</p>
      <p class="aside"><a href="/sign-in">Cancel and sign in again</a></p>`;
  }
  return html` <h1>Two-factor authentication</h1>
    <p>${intro}</p>
    ${isSms && sms ? deliveryNotice(sms.delivery) : ''}
    <form method="post" action="${action}" novalidate${isSms ? html` data-webotp` : ''}>
      ${csrfField(csrf)}
      <input type="hidden" name="method" value="${input.method}" />
      ${
        isRecovery
          ? field({
              name: 'code',
              label: 'Recovery code',
              autocomplete: 'off',
              error: input.error,
              autofocus: true,
              maxlength: 40,
              hint: 'Like xxxx-xxxx-xxxx-xxxx; case and dashes do not matter.',
            })
          : field({
              name: 'code',
              label: isSms ? 'Code from the text' : isEmail ? 'Code from the email' : 'Passcode',
              autocomplete: 'one-time-code',
              inputmode: 'numeric',
              error: input.error,
              autofocus: true,
              maxlength: 12,
            })
      }
      ${remember}
      <button type="submit" class="primary">Verify</button>
    </form>
    ${
      (isSms || isEmail) && sms
        ? html`<div class="actions">
            <form method="post" action="/sign-in/two-factor/${input.method}" class="inline">
              ${csrfField(csrf)} ${sendButton({ sent: sms.sentAt !== null, resendAfterSeconds: sms.resendAfterSeconds, channel: isEmail ? 'email' : 'sms' })}
            </form>
          </div>`
        : ''
    }
    <p class="aside">${otherLinks.map((link, i) => (i === 0 ? link : html` · ${link}`))}</p>
    <p class="aside"><a href="/sign-in">Cancel and sign in again</a></p>`;
}

function chosenMethod(raw: unknown, open: OpenChallenge): PasscodeMethod {
  if (raw === 'recovery_code') return 'recovery_code';
  const asked = open.methods.find((method) => method === raw);
  if (asked) return asked;
  return firstOfferedMethod(open.user.preferred_method, open.methods) ?? 'recovery_code';
}

export function registerChallengePages(app: FastifyInstance, kit: PageKit): void {
  const expired = (request: FastifyRequest, reply: FastifyReply) => {
    kit.cookies.clear(reply, COOKIE.challenge);
    return kit.send(
      request,
      reply,
      {
        title: 'Sign in again',
        narrow: true,
        notice: { kind: 'error', text: messageFor({ code: 'invalid_challenge' }) },
        body: html`<p><a class="button primary" href="/sign-in">Sign in</a></p>`,
      },
      401,
    );
  };

  app.get('/sign-in/two-factor', async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const open = await openChallenge(kit.deps.db, kit.deps, kit.cookies.read(request, COOKIE.challenge));
    // Back to this page after signing in (the browser's back button): go where the
    // person is, not to "expired".
    if (!open.ok && request.signedIn?.session.kind === 'full') return reply.redirect('/profile/security', 303);
    if (!open.ok) return expired(request, reply);
    const method = chosenMethod(query.method, open.value);
    const sms = await sentCodeFor(kit, open.value, method);
    const again =
      method === 'email'
        ? 'We emailed a new code. The code we emailed before no longer works.'
        : 'We texted a new code. The code we texted before no longer works.';
    return kit.send(request, reply, {
      title: 'Two-factor authentication',
      narrow: true,
      notice: query.sent === 'again' ? { kind: 'info', text: again } : null,
      body: passcodeForm(kit.csrfToken(request, reply), open.value, { method, error: null, remember: true, sms }),
    });
  });

  // JSON for app.js: options to sign this sign-in with a key (a POST: they are stored).
  app.post('/sign-in/two-factor/webauthn/options', async (request, reply) => {
    if (!kit.csrfValid(request)) return sendApiFailure(reply, { code: 'csrf_failed' });
    const result = await securityKeySignInOptions(kit.deps, kit.cookies.read(request, COOKIE.challenge));
    if (!result.ok) return sendApiFailure(reply, result.failure);
    return reply.send({ options: result.value });
  });

  // "Text me a code" / "Email me a code" / "Send again": a POST, never a GET (no state change on GET).
  const sendCode = async (request: FastifyRequest, reply: FastifyReply, method: 'sms' | 'email') => {
    if (!kit.checkCsrf(request, reply)) return reply;
    const challengeToken = kit.cookies.read(request, COOKIE.challenge);
    const before = await openChallenge(kit.deps.db, kit.deps, challengeToken);
    const resent = before.ok && ((await sentCodeFor(kit, before.value, method))?.sentAt ?? null) !== null;
    const result =
      method === 'sms'
        ? await sendSignInCode(kit.deps, challengeToken, requestContext(request))
        : await sendEmailSignInCode(kit.deps, challengeToken, requestContext(request));
    if (result.ok) return reply.redirect(`/sign-in/two-factor?method=${method}${resent ? '&sent=again' : ''}`, 303);
    if (result.failure.code === 'invalid_challenge') return expired(request, reply);
    const open = await openChallenge(kit.deps.db, kit.deps, challengeToken);
    if (!open.ok) return expired(request, reply);
    if (result.failure.retryAfterSeconds !== undefined) reply.header('retry-after', String(result.failure.retryAfterSeconds));
    const shown = chosenMethod(method, open.value);
    const sms = await sentCodeFor(kit, open.value, shown);
    return kit.send(
      request,
      reply,
      {
        title: 'Two-factor authentication',
        narrow: true,
        notice: { kind: 'error', text: messageFor(result.failure) },
        body: passcodeForm(kit.csrfToken(request, reply), open.value, { method: shown, error: null, remember: true, sms }),
      },
      result.failure.code === 'sms_rate_limited' || result.failure.code === 'rate_limited' ? 429 : 400,
    );
  };
  app.post('/sign-in/two-factor/sms', (request, reply) => sendCode(request, reply, 'sms'));
  app.post('/sign-in/two-factor/email', (request, reply) => sendCode(request, reply, 'email'));

  app.post('/sign-in/two-factor', async (request, reply) => {
    if (!kit.checkCsrf(request, reply)) return reply;
    const challengeToken = kit.cookies.read(request, COOKIE.challenge);
    const method = formString(request.body, 'method');
    const remember = formString(request.body, 'remember') === '1';
    const result = await completeSecondFactor(
      kit.deps,
      { challengeToken, method, code: formCode(request.body), rememberDevice: remember },
      requestContext(request),
    );
    if (!result.ok) {
      if (result.failure.code === 'invalid_challenge') return expired(request, reply);
      const open = await openChallenge(kit.deps.db, kit.deps, challengeToken);
      if (!open.ok) return expired(request, reply);
      if (result.failure.retryAfterSeconds !== undefined) reply.header('retry-after', String(result.failure.retryAfterSeconds));
      const shown = chosenMethod(method, open.value);
      const sms = await sentCodeFor(kit, open.value, shown);
      return kit.send(
        request,
        reply,
        {
          title: 'Two-factor authentication',
          narrow: true,
          body: passcodeForm(kit.csrfToken(request, reply), open.value, { method: shown, error: messageFor(result.failure), remember, sms }),
        },
        result.failure.code === 'two_factor_locked' || result.failure.code === 'rate_limited' ? 429 : result.failure.code === 'sms_not_delivered' ? 409 : 400,
      );
    }
    if (result.value.status === 'signed_in' && result.value.trustedDeviceToken) {
      kit.cookies.set(reply, COOKIE.trustedDevice, result.value.trustedDeviceToken, DEVICE_COOKIE_MAX_AGE_IN_SECONDS);
    }
    // Where the person goes next is the flow's to say (its return address).
    return kit.followOutcome(reply, result.value, null);
  });
}
