// The passcode page: the second step of sign-in. It is opened by the challenge cookie
// alone, which grants nothing else.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FactorType, SecondFactorMethod } from '../../domain/factors.js';
import type { Translator } from '../../i18n/translator.js';
import { firstOfferedMethod } from '../../services/preferred-method.js';
import { completeSecondFactor, openChallenge, type OpenChallenge } from '../../services/challenge.js';
import type { HttpFactor, SentCode } from '../factors/http-factor.js';
import { HTTP_FACTORS_IN_ORDER, httpFactor } from '../factors/registry.js';
import { messageFor } from '../errors.js';
import { html, type Html } from '../html.js';
import { COOKIE, requestContext } from '../request-context.js';
import { field, formCode, formString } from './forms.js';
import { DEVICE_COOKIE_MAX_AGE_IN_SECONDS, type PageKit } from './kit.js';
import { typedCodeForm } from './passcode-form.js';

type PasscodeMethod = SecondFactorMethod;
type SentCodeSending = NonNullable<HttpFactor['passcode']['sentCode']>;

/** The code sent for this sign-in by the chosen factor (text or email), for the page. */
async function sentCodeFor(kit: PageKit, open: OpenChallenge, method: PasscodeMethod): Promise<SentCode | null> {
  if (method === 'recovery_code') return null;
  return (await httpFactor(method).passcode.sentCode?.state(kit, open)) ?? null;
}

function passcodeForm(
  t: Translator,
  csrf: string,
  open: OpenChallenge,
  input: { method: PasscodeMethod; error: string | null; remember: boolean; sent: SentCode | null },
): Html {
  const days = open.account.trusted_device_days;
  const switchTo = (method: PasscodeMethod) => `/sign-in/two-factor?method=${method}`;
  // The challenge's methods come in the factor list's order, recovery codes last.
  const otherLinks = html`${open.methods
    .filter((method) => method !== input.method)
    .map((method, i) => {
      const link = html`<a href="${switchTo(method)}">${t.t(`passcode.offer.${method}`)}</a>`;
      return i === 0 ? link : html` · ${link}`;
    })}`;
  const remember =
    days > 0
      ? html`<label class="checkbox"
          ><input type="checkbox" name="remember" value="1"${input.remember ? html` checked` : ''}> ${t.t('passcode.remember', { days })}</label
        >`
      : '';
  if (input.method !== 'recovery_code') {
    return httpFactor(input.method).passcode.form({ t, csrf, open, error: input.error, remember, otherLinks, sent: input.sent });
  }
  // Recovery codes are no enrolled factor: they come with the first one, and are asked for here.
  return typedCodeForm({
    t,
    csrf,
    method: 'recovery_code',
    intro: html`${t.t('passcode.recovery.intro')}`,
    field: field({
      name: 'code',
      label: t.t('passcode.recovery.label'),
      autocomplete: 'off',
      error: input.error,
      autofocus: true,
      maxlength: 40,
      hint: t.t('passcode.recovery.hint'),
    }),
    remember,
    otherLinks,
  });
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
        title: request.i18n.t('passcode.expiredTitle'),
        narrow: true,
        notice: { kind: 'error', text: messageFor({ code: 'invalid_challenge' }, request.i18n) },
        body: html`<p><a class="button primary" href="/sign-in">${request.i18n.t('signIn.submit')}</a></p>`,
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
    request.i18n = kit.translatorOfPerson(request, open.value);
    const method = chosenMethod(query.method, open.value);
    const sent = await sentCodeFor(kit, open.value, method);
    const again = method === 'recovery_code' ? undefined : httpFactor(method).passcode.sentCode?.sentAgain;
    return kit.send(request, reply, {
      title: request.i18n.t('passcode.title'),
      narrow: true,
      notice: query.sent === 'again' && again ? { kind: 'info', text: request.i18n.t(again) } : null,
      body: passcodeForm(request.i18n, kit.csrfToken(request, reply), open.value, { method, error: null, remember: true, sent }),
    });
  });

  // "Text me a code" / "Email me a code" / "Send again" of a factor whose code Tessera
  // sends: a POST, never a GET (no state change on GET).
  const sendCode = async (request: FastifyRequest, reply: FastifyReply, method: FactorType, sentCode: SentCodeSending) => {
    if (!kit.checkCsrf(request, reply)) return reply;
    const challengeToken = kit.cookies.read(request, COOKIE.challenge);
    const before = await openChallenge(kit.deps.db, kit.deps, challengeToken);
    const resent = before.ok && ((await sentCodeFor(kit, before.value, method))?.sentAt ?? null) !== null;
    const result = await sentCode.send(kit.deps, challengeToken, requestContext(request));
    if (result.ok) return reply.redirect(`/sign-in/two-factor?method=${method}${resent ? '&sent=again' : ''}`, 303);
    if (result.failure.code === 'invalid_challenge') return expired(request, reply);
    const open = await openChallenge(kit.deps.db, kit.deps, challengeToken);
    if (!open.ok) return expired(request, reply);
    request.i18n = kit.translatorOfPerson(request, open.value);
    if (result.failure.retryAfterSeconds !== undefined) reply.header('retry-after', String(result.failure.retryAfterSeconds));
    const shown = chosenMethod(method, open.value);
    const sent = await sentCodeFor(kit, open.value, shown);
    return kit.send(
      request,
      reply,
      {
        title: request.i18n.t('passcode.title'),
        narrow: true,
        notice: { kind: 'error', text: messageFor(result.failure, request.i18n) },
        body: passcodeForm(request.i18n, kit.csrfToken(request, reply), open.value, { method: shown, error: null, remember: true, sent }),
      },
      result.failure.code === 'sms_rate_limited' || result.failure.code === 'rate_limited' ? 429 : 400,
    );
  };
  for (const factor of HTTP_FACTORS_IN_ORDER) {
    const sentCode = factor.passcode.sentCode;
    if (sentCode) app.post(`/sign-in/two-factor/${factor.type}`, (request, reply) => sendCode(request, reply, factor.type, sentCode));
  }

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
      request.i18n = kit.translatorOfPerson(request, open.value);
      if (result.failure.retryAfterSeconds !== undefined) reply.header('retry-after', String(result.failure.retryAfterSeconds));
      const shown = chosenMethod(method, open.value);
      const sent = await sentCodeFor(kit, open.value, shown);
      return kit.send(
        request,
        reply,
        {
          title: request.i18n.t('passcode.title'),
          narrow: true,
          body: passcodeForm(request.i18n, kit.csrfToken(request, reply), open.value, {
            method: shown,
            error: messageFor(result.failure, request.i18n),
            remember,
            sent,
          }),
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
