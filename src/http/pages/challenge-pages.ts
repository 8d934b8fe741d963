// The passcode page: the second step of sign-in. It is opened by the challenge cookie
// alone, which grants nothing else.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { completeSecondFactor, openChallenge, type OpenChallenge } from '../../services/challenge.js';
import { messageFor } from '../errors.js';
import { html, type Html } from '../html.js';
import { COOKIE, requestContext } from '../request-context.js';
import { csrfField, field, formString, safeNextPath } from './forms.js';
import { DEVICE_COOKIE_MAX_AGE_IN_SECONDS, type PageKit } from './kit.js';

type PasscodeMethod = 'totp' | 'sms' | 'recovery_code';

function passcodeForm(
  csrf: string,
  open: OpenChallenge,
  input: { method: PasscodeMethod; error: string | null; remember: boolean; next: string | null },
): Html {
  const action = `/sign-in/two-factor${input.next ? `?next=${encodeURIComponent(input.next)}` : ''}`;
  const days = open.account.trusted_device_days;
  const isRecovery = input.method === 'recovery_code';
  const otherLinks: Html[] = [];
  if (isRecovery) {
    const back = open.methods.includes('totp') ? 'totp' : 'sms';
    otherLinks.push(html`<a href="/sign-in/two-factor?method=${back}">Use a passcode instead</a>`);
  } else {
    otherLinks.push(html`<a href="/sign-in/two-factor?method=recovery_code">Use a recovery code</a>`);
  }
  return html`
<h1>Two-factor authentication</h1>
<p>${isRecovery ? 'Enter one of your recovery codes. Each code works once.' : 'Open your authenticator app and enter the 6-digit passcode for'} ${isRecovery ? '' : html`<strong>${open.account.name}</strong>.`}</p>
<form method="post" action="${action}" novalidate>
  ${csrfField(csrf)}
  <input type="hidden" name="method" value="${input.method}">
  ${isRecovery
    ? field({ name: 'code', label: 'Recovery code', autocomplete: 'off', error: input.error, autofocus: true, maxlength: 40, hint: 'Like xxxx-xxxx-xxxx-xxxx; case and dashes do not matter.' })
    : field({ name: 'code', label: 'Passcode', autocomplete: 'one-time-code', inputmode: 'numeric', error: input.error, autofocus: true, maxlength: 12 })}
  ${days > 0
    ? html`<label class="checkbox"><input type="checkbox" name="remember" value="1"${input.remember ? html` checked` : ''}> Don't ask again on this computer for ${String(days)} day${days === 1 ? '' : 's'}</label>`
    : ''}
  <button type="submit" class="primary">Verify</button>
</form>
<p class="aside">${otherLinks}</p>
<p class="aside"><a href="/sign-in">Cancel and sign in again</a></p>`;
}

function chosenMethod(raw: unknown, open: OpenChallenge): PasscodeMethod {
  if (raw === 'recovery_code') return 'recovery_code';
  if (raw === 'sms' && open.methods.includes('sms')) return 'sms';
  if (raw === 'totp' && open.methods.includes('totp')) return 'totp';
  return open.methods.includes('totp') ? 'totp' : open.methods.includes('sms') ? 'sms' : 'recovery_code';
}

export function registerChallengePages(app: FastifyInstance, kit: PageKit): void {
  const expired = (request: FastifyRequest, reply: FastifyReply) => {
    kit.cookies.clear(reply, COOKIE.challenge);
    return kit.send(
      request,
      reply,
      { title: 'Sign in again', narrow: true, notice: { kind: 'error', text: messageFor({ code: 'invalid_challenge' }) }, body: html`<p><a class="button primary" href="/sign-in">Sign in</a></p>` },
      401,
    );
  };

  app.get('/sign-in/two-factor', async (request, reply) => {
    const open = await openChallenge(kit.deps.db, kit.deps, kit.cookies.read(request, COOKIE.challenge));
    if (!open.ok) return expired(request, reply);
    const query = request.query as Record<string, unknown>;
    return kit.send(request, reply, {
      title: 'Two-factor authentication',
      narrow: true,
      body: passcodeForm(kit.csrfToken(request, reply), open.value, { method: chosenMethod(query.method, open.value), error: null, remember: true, next: safeNextPath(query.next) }),
    });
  });

  app.post('/sign-in/two-factor', async (request, reply) => {
    if (!kit.checkCsrf(request, reply)) return reply;
    const challengeToken = kit.cookies.read(request, COOKIE.challenge);
    const next = safeNextPath((request.query as Record<string, unknown>).next);
    const method = formString(request.body, 'method');
    const remember = formString(request.body, 'remember') === '1';
    const result = await completeSecondFactor(
      kit.deps,
      { challengeToken, method, code: formString(request.body, 'code'), rememberDevice: remember },
      requestContext(request),
    );
    if (!result.ok) {
      if (result.failure.code === 'invalid_challenge') return expired(request, reply);
      const open = await openChallenge(kit.deps.db, kit.deps, challengeToken);
      if (!open.ok) return expired(request, reply);
      if (result.failure.retryAfterSeconds !== undefined) reply.header('retry-after', String(result.failure.retryAfterSeconds));
      return kit.send(
        request,
        reply,
        {
          title: 'Two-factor authentication',
          narrow: true,
          body: passcodeForm(kit.csrfToken(request, reply), open.value, { method: chosenMethod(method, open.value), error: messageFor(result.failure), remember, next }),
        },
        result.failure.code === 'two_factor_locked' || result.failure.code === 'rate_limited' ? 429 : 400,
      );
    }
    if (result.value.status === 'signed_in' && result.value.trustedDeviceToken) {
      kit.cookies.set(reply, COOKIE.trustedDevice, result.value.trustedDeviceToken, DEVICE_COOKIE_MAX_AGE_IN_SECONDS);
    }
    return kit.followOutcome(reply, result.value, next);
  });
}
