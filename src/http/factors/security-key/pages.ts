// Security keys and passkeys on the pages: add one (name it, touch it), rename and
// remove them from Security settings, and the JSON options a confirmation or the
// passcode page signs.
// The browser side is app.js with @simplewebauthn/browser (assets/webauthn.js).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { PublicKeyCredentialCreationOptionsJSON } from '@simplewebauthn/server';
import type { Translator } from '../../../i18n/translator.js';
import { securityKeySignInOptions } from '../../../services/challenge.js';
import {
  KEY_NAME_MAX_LENGTH,
  confirmationOptions,
  finishKeyRegistration,
  removeSecurityKey,
  renameSecurityKey,
  startKeyRegistration,
  type SecurityKey,
} from '../../../services/webauthn.js';
import { ERROR_TABLE, messageFor, sendApiFailure } from '../../errors.js';
import { html, type Html } from '../../html.js';
import { COOKIE, requestContext } from '../../request-context.js';
import { csrfField, field, formCode, formConfirmation, formString } from '../../pages/forms.js';
import type { PageKit } from '../../pages/kit.js';
import { showEnrolmentDone } from '../../pages/enrolment-done.js';
import type { FactorScreens } from '../http-factor.js';

function touchPage(
  kit: PageKit,
  request: FastifyRequest,
  reply: FastifyReply,
  options: PublicKeyCredentialCreationOptionsJSON,
  name: string,
  passkey: boolean,
): FastifyReply {
  const csrf = kit.csrfToken(request, reply);
  const t = request.i18n;
  return kit.send(request, reply, {
    title: t.t(passkey ? 'keyEnrol.addPasskey' : 'keyEnrol.addKey'),
    current: 'security',
    body: html` <h1>${t.t(passkey ? 'keyEnrol.addPasskey' : 'keyEnrol.addKey')}</h1>
      <section class="card">
        <p>${t.t(passkey ? 'keyEnrol.touchPasskey' : 'keyEnrol.touchKey')}</p>
        <form method="post" action="/profile/two-factor/webauthn/finish" data-webauthn-options="${JSON.stringify(options)}">
          ${csrfField(csrf)}
          <input type="hidden" name="name" value="${name}" />
          <input type="hidden" name="kind" value="${passkey ? 'passkey' : 'key'}" />
          <input type="hidden" name="credential" value="" />
          <p class="error" data-webauthn-error role="alert" hidden></p>
          <noscript><p class="error">${t.t('keyEnrol.noScript')}</p></noscript>
          <button type="submit" class="primary">${t.t(passkey ? 'keyEnrol.createPasskey' : 'keyEnrol.useKey')}</button>
        </form>
        <p class="aside"><a href="/profile/two-factor/setup">${t.t('common.cancel')}</a></p>
      </section>`,
  });
}

/** The keys list of Security settings: name, added, last used; rename; remove. */
export function securityKeysList(
  t: Translator,
  keys: SecurityKey[],
  csrf: string,
  removal: { confirmation: Html; error: string | null; keyId: string | null },
): Html {
  if (keys.length === 0) return html``;
  const date = (time: number | null) => (time === null ? t.t('keys.never') : t.moment(time));
  return html`<h3>${t.t('keys.heading')}</h3>
    <ul class="keys">
      ${keys.map(
        (key) => html`<li>
    <strong>${key.name}</strong>${key.passkey ? html` <span class="badge">${t.t('keys.passkeyBadge')}</span>` : ''}${key.backedUp ? ` ${t.t('keys.synced')}` : ''}
    <p class="hint">${t.t('keys.added', { added: date(key.createdAt), lastUsed: date(key.lastUsedAt) })}</p>
    <details>
      <summary>${t.t('keys.rename')}</summary>
      <form method="post" action="/profile/two-factor/webauthn/${key.id}/rename" novalidate>
        ${csrfField(csrf)}
        ${field({ name: 'name', label: t.t('keys.newName'), value: key.name, maxlength: KEY_NAME_MAX_LENGTH })}
        <button type="submit">${t.t('keys.saveName')}</button>
      </form>
    </details>
    <details${removal.keyId === key.id ? html` open` : ''}>
      <summary>${t.t('keys.remove')}</summary>
      <form method="post" action="/profile/two-factor/webauthn/${key.id}/remove" data-confirm="${t.t('keys.removeConfirm', { name: key.name })}" novalidate>
        ${csrfField(csrf)}
        ${removal.keyId === key.id && removal.error ? html`<p class="error" role="alert">${removal.error}</p>` : ''}
        ${removal.confirmation}
        <button type="submit" class="danger">${t.t('keys.removeButton')}</button>
      </form>
    </details>
  </li>`,
      )}
    </ul>`;
}

function statusOf(code: keyof typeof ERROR_TABLE): number {
  return ERROR_TABLE[code].status;
}

export function registerSecurityKeyPages(app: FastifyInstance, kit: PageKit, screens: FactorScreens): void {
  // JSON for app.js: options to sign this sign-in with a key (a POST: they are stored).
  app.post('/sign-in/two-factor/webauthn/options', async (request, reply) => {
    if (!kit.csrfValid(request)) return sendApiFailure(reply, { code: 'csrf_failed' });
    const result = await securityKeySignInOptions(kit.deps, kit.cookies.read(request, COOKIE.challenge));
    if (!result.ok) return sendApiFailure(reply, result.failure);
    return reply.send({ options: result.value });
  });

  app.post('/profile/two-factor/webauthn', async (request, reply) => {
    const signedIn = kit.requireAny(request, reply);
    if (!signedIn || !kit.checkCsrf(request, reply)) return reply;
    const method = formString(request.body, 'method');
    const name = formString(request.body, 'name').slice(0, KEY_NAME_MAX_LENGTH * 4);
    const confirmation = method ? { method, code: formCode(request.body) } : undefined;
    const passkey = formString(request.body, 'kind') === 'passkey';
    const result = await startKeyRegistration(kit.deps, signedIn, confirmation, requestContext(request), passkey);
    if (!result.ok) {
      if (result.failure.code === 'email_confirmation_required') return reply.redirect('/profile/two-factor/setup', 303);
      if (result.failure.retryAfterSeconds !== undefined) reply.header('retry-after', String(result.failure.retryAfterSeconds));
      return screens.chooser(
        request,
        reply,
        signedIn,
        { card: { factor: 'webauthn', error: messageFor(result.failure, request.i18n), values: { name } } },
        statusOf(result.failure.code),
      );
    }
    return touchPage(kit, request, reply, result.value, name, passkey);
  });

  app.post('/profile/two-factor/webauthn/finish', async (request, reply) => {
    const signedIn = kit.requireAny(request, reply);
    if (!signedIn || !kit.checkCsrf(request, reply)) return reply;
    const name = formString(request.body, 'name');
    const result = await finishKeyRegistration(
      kit.deps,
      signedIn,
      { name, credential: formString(request.body, 'credential', 16_384), passkey: formString(request.body, 'kind') === 'passkey' },
      requestContext(request),
    );
    if (!result.ok) {
      return screens.chooser(
        request,
        reply,
        signedIn,
        { card: { factor: 'webauthn', error: messageFor(result.failure, request.i18n), values: { name } } },
        statusOf(result.failure.code),
      );
    }
    const done = result.value.key.passkey ? '/profile/security?done=passkey-added' : '/profile/security?done=key-added';
    if (!result.value.recoveryCodes && !result.value.newSessionToken) return reply.redirect(done, 303);
    return showEnrolmentDone(kit, request, reply, signedIn, result.value, done);
  });

  // JSON for app.js: the options a confirmation with a key signs.
  app.post('/profile/two-factor/webauthn/confirmation-options', async (request, reply) => {
    if (!kit.csrfValid(request)) return sendApiFailure(reply, { code: 'csrf_failed' });
    const signedIn = request.signedIn;
    if (!signedIn || signedIn.session.kind !== 'full') return sendApiFailure(reply, { code: 'unauthorized' });
    const result = await confirmationOptions(kit.deps, signedIn);
    if (!result.ok) return sendApiFailure(reply, result.failure);
    return reply.header('cache-control', 'no-store').send({ options: result.value });
  });

  app.post('/profile/two-factor/webauthn/:id/rename', async (request, reply) => {
    const signedIn = kit.requireFull(request, reply);
    if (!signedIn || !kit.checkCsrf(request, reply)) return reply;
    const result = await renameSecurityKey(
      kit.deps,
      signedIn,
      { id: (request.params as { id: string }).id, name: formString(request.body, 'name') },
      requestContext(request),
    );
    if (!result.ok)
      return screens.securityPage(request, reply, {
        notice: { kind: 'error', text: messageFor(result.failure, request.i18n) },
        status: statusOf(result.failure.code),
      });
    return reply.redirect('/profile/security?done=key-renamed', 303);
  });

  app.post('/profile/two-factor/webauthn/:id/remove', async (request, reply) => {
    const signedIn = kit.requireFull(request, reply);
    if (!signedIn || !kit.checkCsrf(request, reply)) return reply;
    const keyId = (request.params as { id: string }).id;
    const result = await removeSecurityKey(kit.deps, signedIn, { id: keyId, confirmation: formConfirmation(request.body) }, requestContext(request));
    if (!result.ok) {
      if (result.failure.retryAfterSeconds !== undefined) reply.header('retry-after', String(result.failure.retryAfterSeconds));
      return screens.securityPage(request, reply, {
        itemError: { factor: 'webauthn', id: keyId, error: messageFor(result.failure, request.i18n) },
        status: statusOf(result.failure.code),
      });
    }
    return reply.redirect('/profile/security?done=key-removed', 303);
  });
}
