import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { SignInOutcome } from '../../services/sign-in-flow.js';
import { checkSetupToken, completeSetup } from '../../services/accounts.js';
import { checkEmailedToken, requestPasswordReset, setPasswordFromLink } from '../../services/passwords.js';
import { endSession } from '../../services/sessions.js';
import { findSignInAccount, signInWithPassword } from '../../services/sign-in.js';
import { finishPasskeySignIn, startPasskeySignIn } from '../../services/passkeys.js';
import { securityKeysAvailable } from '../../services/webauthn.js';
import type { Failure } from '../../domain/failures.js';
import { HTTP_FACTORS } from '../factors/registry.js';
import { guardedReturnAddress, type GuardedApp } from '../../services/forward-auth.js';
import { NO_REQUIREMENTS, storedAcr } from '../../domain/sign-in-decision.js';
import { continuePath, sendSignedInTo } from '../forward-auth/pages.js';
import { messageFor, sendApiFailure } from '../errors.js';
import { html, type Html } from '../html.js';
import type { Translator } from '../../i18n/translator.js';
import { COOKIE, requestContext } from '../request-context.js';
import { csrfField, field, formString, safeNextPath } from './forms.js';
import { DEVICE_COOKIE_MAX_AGE_IN_SECONDS, type PageKit } from './kit.js';

function fieldError(t: Translator, failure: Failure | null, name: string): string | null {
  return failure && failure.field === name ? messageFor(failure, t) : null;
}

function generalError(t: Translator, failure: Failure | null, fields: string[]): { kind: 'error'; text: string } | null {
  return failure && (!failure.field || !fields.includes(failure.field)) ? { kind: 'error', text: messageFor(failure, t) } : null;
}

/** "Sign in with a passkey": app.js fetches the options, lets the browser ask, and posts
 * the signed answer to `action` (/sign-in/passkey, or the page of the app being signed
 * in to, which shows a refusal itself). The same ceremony also runs quietly behind the
 * email field, where the browser offers saved passkeys (conditional mediation). */
export function passkeyForm(csrf: string, input: { next: string | null; account: string | null; action?: string }, t: Translator): Html {
  return html`<form method="post" action="${input.action ?? '/sign-in/passkey'}" data-passkey-sign-in="/sign-in/passkey/options" class="passkey" novalidate>
  ${csrfField(csrf)}
  <input type="hidden" name="flow_token" value="">
  <input type="hidden" name="credential" value="">
  ${input.next ? html`<input type="hidden" name="next" value="${input.next}">` : ''}
  ${input.account ? html`<input type="hidden" name="account" value="${input.account}">` : ''}
  <p class="error" data-webauthn-error role="alert" hidden></p>
  <button type="submit">${t.t('signIn.passkey')}</button>
</form>`;
}

function newPasswordHint(t: Translator): string {
  return t.t('newPassword.hint');
}

export function registerSignInPages(app: FastifyInstance, kit: PageKit): void {
  /** The sign-in form; for a host guarded by forward-auth (`rd`), its account is fixed. */
  const signInForm = (
    t: Translator,
    csrf: string,
    values: { account: string; email: string; next: string | null },
    failure: Failure | null,
    guarded: (GuardedApp & { url: URL }) | null = null,
  ): Html => {
    const action = guarded
      ? `/sign-in?rd=${encodeURIComponent(guarded.url.toString())}`
      : `/sign-in${values.next ? `?next=${encodeURIComponent(values.next)}` : ''}`;
    return html`
<h1>${guarded ? t.t('signIn.titleFor', { host: guarded.url.host }) : t.t('signIn.title')}</h1>
${guarded ? html`<p class="aside">${guarded.account.name}</p>` : ''}
<form method="post" action="${action}" novalidate>
  ${csrfField(csrf)}
  ${
    guarded
      ? html`<input type="hidden" name="account" value="${guarded.account.slug}">`
      : field({
          name: 'account',
          label: t.t('signIn.account'),
          value: values.account,
          autocomplete: 'organization',
          hint: t.t('signIn.accountHint'),
          autofocus: values.account === '',
        })
  }
  ${field({ name: 'email', label: t.t('signIn.email'), type: 'email', value: values.email, autocomplete: passkeys ? 'username webauthn' : 'username', autofocus: guarded !== null || values.account !== '' })}
  ${field({ name: 'password', label: t.t('signIn.password'), type: 'password', autocomplete: 'current-password' })}
  <button type="submit" class="primary">${t.t('signIn.submit')}</button>
</form>
${
  passkeys
    ? passkeyForm(
        csrf,
        {
          next: guarded ? continuePath(guarded.url) : values.next,
          account: guarded ? guarded.account.slug : null,
          action: guarded ? `/sign-in/passkey?rd=${encodeURIComponent(guarded.url.toString())}` : undefined,
        },
        t,
      )
    : ''
}
<p class="aside"><a href="/password/forgot">${t.t('signIn.forgot')}</a></p>`;
  };
  const passkeys = securityKeysAvailable(kit.deps);

  app.get('/sign-in', async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    // Sent by a proxy's forward-auth check: back to the guarded address once signed in.
    const guarded = query.rd === undefined ? null : await guardedReturnAddress(kit.deps, query.rd);
    if (guarded) {
      if (request.signedIn?.session.kind === 'full') return sendSignedInTo(kit, request, reply, request.signedIn, guarded);
      return kit.send(request, reply, {
        title: request.i18n.t('signIn.titleFor', { host: guarded.url.host }),
        narrow: true,
        body: signInForm(request.i18n, kit.csrfToken(request, reply), { account: guarded.account.slug, email: '', next: null }, null, guarded),
      });
    }
    if (request.signedIn?.session.kind === 'full') return reply.redirect(safeNextPath(query.next) ?? '/profile/security', 303);
    const account = typeof query.account === 'string' ? query.account.slice(0, 100) : (kit.cookies.read(request, COOKIE.lastAccount) ?? '');
    return kit.send(request, reply, {
      title: request.i18n.t('signIn.title'),
      narrow: true,
      body: signInForm(request.i18n, kit.csrfToken(request, reply), { account, email: '', next: safeNextPath(query.next) }, null),
    });
  });

  app.post('/sign-in', async (request, reply) => {
    if (!kit.checkCsrf(request, reply)) return reply;
    const query = request.query as Record<string, unknown>;
    const guarded = query.rd === undefined ? null : await guardedReturnAddress(kit.deps, query.rd);
    const next = guarded ? continuePath(guarded.url) : safeNextPath(query.next);
    const account = guarded ? guarded.account.slug : formString(request.body, 'account');
    const email = formString(request.body, 'email');
    const password = formString(request.body, 'password');
    const result = await signInWithPassword(
      kit.deps,
      {
        account,
        email,
        password,
        trustedDeviceToken: kit.cookies.read(request, COOKIE.trustedDevice),
        returnTo: next,
        ...(guarded ? { requirements: { ...NO_REQUIREMENTS, acr: storedAcr(guarded.app.required_acr) } } : {}),
      },
      requestContext(request),
    );
    if (!result.ok) {
      const status = result.failure.code === 'rate_limited' ? 429 : 401;
      if (result.failure.retryAfterSeconds !== undefined) reply.header('retry-after', String(result.failure.retryAfterSeconds));
      return kit.send(
        request,
        reply,
        {
          title: request.i18n.t('signIn.title'),
          narrow: true,
          notice: { kind: 'error', text: messageFor(result.failure, request.i18n) },
          body: signInForm(request.i18n, kit.csrfToken(request, reply), { account, email, next: guarded ? null : next }, null, guarded),
        },
        status,
      );
    }
    if (result.value.status === 'signed_in' && result.value.trustedDeviceToken) {
      kit.cookies.set(reply, COOKIE.trustedDevice, result.value.trustedDeviceToken, DEVICE_COOKIE_MAX_AGE_IN_SECONDS);
    }
    // The account is filled in next time on this computer (it is no secret: the sign-in
    // page says which account a link is for anyway).
    kit.cookies.set(reply, COOKIE.lastAccount, account.trim().slice(0, 100), DEVICE_COOKIE_MAX_AGE_IN_SECONDS);
    await sendCodeIfPreferred(kit, result.value, request);
    return kit.followOutcome(reply, result.value, next);
  });

  // Passkey sign-in (row 18): JSON options for app.js, then the signed assertion posted
  // as a form, which sets the session cookie like the password form.
  app.post('/sign-in/passkey/options', async (request, reply) => {
    if (!kit.csrfValid(request)) return sendApiFailure(reply, { code: 'csrf_failed' });
    const next = safeNextPath(formString(request.body, 'next'));
    const accountSlug = formString(request.body, 'account');
    const account = accountSlug ? await findSignInAccount(kit.deps.db, accountSlug) : undefined;
    const result = await startPasskeySignIn(kit.deps, { accountId: account?.id ?? null, returnTo: next }, requestContext(request));
    if (!result.ok) return sendApiFailure(reply, result.failure);
    return reply.header('cache-control', 'no-store').send({ flow_token: result.value.flowToken, options: result.value.options });
  });

  app.post('/sign-in/passkey', async (request, reply) => {
    if (!kit.checkCsrf(request, reply)) return reply;
    const result = await finishPasskeySignIn(
      kit.deps,
      { flowToken: formString(request.body, 'flow_token'), credential: formString(request.body, 'credential', 16_384) },
      requestContext(request),
    );
    if (!result.ok) {
      if (result.failure.retryAfterSeconds !== undefined) reply.header('retry-after', String(result.failure.retryAfterSeconds));
      // Refused for a host guarded by forward-auth (`rd`): its page again, its account fixed.
      const query = request.query as Record<string, unknown>;
      const guarded = query.rd === undefined ? null : await guardedReturnAddress(kit.deps, query.rd);
      const next = guarded ? null : safeNextPath(formString(request.body, 'next'));
      const account = guarded ? guarded.account.slug : (kit.cookies.read(request, COOKIE.lastAccount) ?? '');
      return kit.send(
        request,
        reply,
        {
          title: guarded ? request.i18n.t('signIn.titleFor', { host: guarded.url.host }) : request.i18n.t('signIn.title'),
          narrow: true,
          notice: { kind: 'error', text: messageFor(result.failure, request.i18n) },
          body: signInForm(request.i18n, kit.csrfToken(request, reply), { account, email: '', next }, null, guarded),
        },
        result.failure.code === 'rate_limited' || result.failure.code === 'two_factor_locked' ? 429 : 401,
      );
    }
    return kit.followOutcome(reply, result.value, null);
  });

  app.post('/sign-out', async (request, reply) => {
    if (!kit.checkCsrf(request, reply)) return reply;
    if (request.signedIn) await endSession(kit.deps, request.signedIn, requestContext(request));
    kit.clearSession(reply);
    kit.cookies.clear(reply, COOKIE.challenge);
    return reply.redirect('/sign-in?signed_out=1', 303);
  });

  // First run: the link printed at start creates the first account and its owner.
  const setupForm = (t: Translator, csrf: string, token: string, values: Record<string, string>, failure: Failure | null): Html => html`
<h1>${t.t('setup.welcome', { product: kit.productName })}</h1>
<p>${t.t('setup.intro')}</p>
<form method="post" action="/setup" novalidate>
  ${csrfField(csrf)}
  <input type="hidden" name="token" value="${token}">
  <fieldset><legend>${t.t('setup.team')}</legend>
  ${field({ name: 'account_name', label: t.t('setup.teamName'), value: values.account_name ?? '', autocomplete: 'organization', autofocus: true, error: fieldError(t, failure, 'account_name') })}
  ${field({ name: 'account_slug', label: t.t('setup.shortName'), value: values.account_slug ?? '', autocomplete: 'off', hint: t.t('setup.shortNameHint'), error: fieldError(t, failure, 'account_slug') })}
  </fieldset>
  <fieldset><legend>${t.t('setup.you')}</legend>
  ${field({ name: 'name', label: t.t('setup.yourName'), value: values.name ?? '', autocomplete: 'name', error: fieldError(t, failure, 'owner_name') })}
  ${field({ name: 'email', label: t.t('signIn.email'), type: 'email', value: values.email ?? '', autocomplete: 'username', error: fieldError(t, failure, 'email') })}
  ${field({ name: 'password', label: t.t('signIn.password'), type: 'password', autocomplete: 'new-password', hint: newPasswordHint(t), error: fieldError(t, failure, 'password') })}
  </fieldset>
  <button type="submit" class="primary">${t.t('setup.submit')}</button>
</form>`;

  app.get('/setup', async (request, reply) => {
    const token = String((request.query as Record<string, unknown>).token ?? '');
    const check = await checkSetupToken(kit.deps, token);
    if (!check.ok) {
      return kit.send(
        request,
        reply,
        {
          title: request.i18n.t('setup.linkTitle'),
          narrow: true,
          notice: { kind: 'error', text: messageFor(check.failure, request.i18n) },
          body: html`<p><a href="/sign-in">${request.i18n.t('signIn.goTo')}</a></p>`,
        },
        400,
      );
    }
    return kit.send(request, reply, {
      title: request.i18n.t('setup.title'),
      narrow: true,
      body: setupForm(request.i18n, kit.csrfToken(request, reply), token, {}, null),
    });
  });

  app.post('/setup', async (request, reply) => {
    if (!kit.checkCsrf(request, reply)) return reply;
    const values = Object.fromEntries(['token', 'account_name', 'account_slug', 'name', 'email'].map((name) => [name, formString(request.body, name)]));
    const result = await completeSetup(
      kit.deps,
      {
        token: values.token,
        accountName: values.account_name!,
        accountSlug: values.account_slug!,
        ownerName: values.name!,
        email: values.email!,
        password: formString(request.body, 'password'),
      },
      requestContext(request),
    );
    if (!result.ok) {
      const slugTaken = result.failure.code === 'slug_taken' ? { ...result.failure, field: 'account_slug' } : result.failure;
      return kit.send(
        request,
        reply,
        {
          title: request.i18n.t('setup.title'),
          narrow: true,
          notice: generalError(request.i18n, slugTaken, ['account_name', 'account_slug', 'owner_name', 'email', 'password']),
          body: setupForm(request.i18n, kit.csrfToken(request, reply), values.token!, values, slugTaken),
        },
        400,
      );
    }
    return kit.followOutcome(reply, result.value, null);
  });

  // Forgotten password: the same answer whether or not the email exists.
  const forgotForm = (t: Translator, csrf: string, account: string): Html => html`
<h1>${t.t('forgot.title')}</h1>
<p>${t.t('forgot.intro')}</p>
<form method="post" action="/password/forgot" novalidate>
  ${csrfField(csrf)}
  ${field({ name: 'account', label: t.t('signIn.account'), value: account, autocomplete: 'organization', autofocus: true })}
  ${field({ name: 'email', label: t.t('signIn.email'), type: 'email', autocomplete: 'username' })}
  <button type="submit" class="primary">${t.t('forgot.submit')}</button>
</form>
<p class="aside"><a href="/sign-in">${t.t('signIn.backTo')}</a></p>`;

  app.get('/password/forgot', async (request, reply) =>
    kit.send(request, reply, { title: request.i18n.t('forgot.title'), narrow: true, body: forgotForm(request.i18n, kit.csrfToken(request, reply), '') }),
  );

  app.post('/password/forgot', async (request, reply) => {
    if (!kit.checkCsrf(request, reply)) return reply;
    const account = formString(request.body, 'account');
    const result = await requestPasswordReset(kit.deps, { account, email: formString(request.body, 'email') }, requestContext(request));
    if (!result.ok) {
      return kit.send(
        request,
        reply,
        {
          title: request.i18n.t('forgot.title'),
          narrow: true,
          notice: { kind: 'error', text: messageFor(result.failure, request.i18n) },
          body: forgotForm(request.i18n, kit.csrfToken(request, reply), account),
        },
        429,
      );
    }
    return kit.send(request, reply, {
      title: request.i18n.t('forgot.sentTitle'),
      narrow: true,
      notice: { kind: 'success', text: request.i18n.t('forgot.sent') },
      body: html`<p class="aside"><a href="/sign-in">${request.i18n.t('signIn.backTo')}</a></p>`,
    });
  });

  // Emailed links: choose a password, then the usual second-factor decision.
  for (const purpose of ['password_reset', 'invitation'] as const) {
    const path = purpose === 'password_reset' ? '/password/reset' : '/invitation';
    const titleOf = (t: Translator) => t.t(purpose === 'password_reset' ? 'emailedLink.resetTitle' : 'emailedLink.invitationTitle');
    const form = (t: Translator, csrf: string, token: string, email: string, accountName: string, error: string | null): Html => html`
<h1>${titleOf(t)}</h1>
<p>${email} · ${accountName}</p>
<form method="post" action="${path}" novalidate>
  ${csrfField(csrf)}
  <input type="hidden" name="token" value="${token}">
  <input type="hidden" name="username" value="${email}" autocomplete="username">
  ${field({ name: 'new_password', label: t.t('password.new'), type: 'password', autocomplete: 'new-password', hint: newPasswordHint(t), error, autofocus: true })}
  <button type="submit" class="primary">${t.t('emailedLink.save')}</button>
</form>`;

    app.get(path, async (request, reply) => {
      const token = String((request.query as Record<string, unknown>).token ?? '');
      const holder = await checkEmailedToken(kit.deps, purpose, token);
      if (!holder.ok) {
        return kit.send(
          request,
          reply,
          {
            title: titleOf(request.i18n),
            narrow: true,
            notice: { kind: 'error', text: messageFor(holder.failure, request.i18n) },
            body: html`<p><a href="/password/forgot">${request.i18n.t('emailedLink.askNew')}</a></p>`,
          },
          400,
        );
      }
      // The person the link was mailed to reads it in the mail's language.
      request.i18n = kit.translatorOfPerson(request, holder.value);
      return kit.send(request, reply, {
        title: titleOf(request.i18n),
        narrow: true,
        body: form(request.i18n, kit.csrfToken(request, reply), token, holder.value.user.email, holder.value.account.name, null),
      });
    });

    app.post(path, async (request, reply) => {
      if (!kit.checkCsrf(request, reply)) return reply;
      const token = formString(request.body, 'token');
      const result = await setPasswordFromLink(kit.deps, purpose, { token, newPassword: formString(request.body, 'new_password') }, requestContext(request));
      if (!result.ok) {
        const holder = await checkEmailedToken(kit.deps, purpose, token);
        if (!holder.ok) {
          return kit.send(
            request,
            reply,
            {
              title: titleOf(request.i18n),
              narrow: true,
              notice: { kind: 'error', text: messageFor(holder.failure, request.i18n) },
              body: html`<p><a href="/sign-in">${request.i18n.t('signIn.goTo')}</a></p>`,
            },
            400,
          );
        }
        request.i18n = kit.translatorOfPerson(request, holder.value);
        return kit.send(
          request,
          reply,
          {
            title: titleOf(request.i18n),
            narrow: true,
            body: form(
              request.i18n,
              kit.csrfToken(request, reply),
              token,
              holder.value.user.email,
              holder.value.account.name,
              messageFor(result.failure, request.i18n),
            ),
          },
          400,
        );
      }
      await sendCodeIfPreferred(kit, result.value, request);
      return kit.followOutcome(reply, result.value, null);
    });
  }
}

/** When the person's preferred method is one whose code is sent on its own (text
 * messages), the passcode page opens with a code already on its way: sent here, from
 * the POST that accepted the password (the passcode page's GET changes nothing). The
 * API never sends on its own. A refusal (a quota) is shown when the person presses
 * "Text me a code". */
export async function sendCodeIfPreferred(kit: PageKit, outcome: SignInOutcome, request: FastifyRequest): Promise<void> {
  if (outcome.status !== 'two_factor_required' || outcome.preferred === null) return;
  const sentCode = HTTP_FACTORS[outcome.preferred].passcode.sentCode;
  if (sentCode?.sendWhenPreferred) await sentCode.send(kit.deps, outcome.challengeToken, requestContext(request));
}
