// Security settings (the two-factor section, trusted computers, sessions, password)
// and changing the password.
import type { FastifyInstance } from 'fastify';
import type { MessageKey } from '../../i18n/messages/en.js';
import { changePassword } from '../../services/passwords.js';
import { HTTP_FACTORS_IN_ORDER } from '../factors/registry.js';
import { messageFor } from '../errors.js';
import { html } from '../html.js';
import { requestContext } from '../request-context.js';
import { csrfField, field, formString } from './forms.js';
import type { PageKit } from './kit.js';
import type { SecurityPage } from './security-page.js';
import { twoFactorSection } from './two-factor-section.js';
import { preferencesSection, registerPreferencePages } from './preference-sections.js';
import { registerTwoFactorPages } from './two-factor-pages.js';
import { deviceSections, registerDevicePages } from './device-sections.js';
import { allowedAppsSection, registerAllowedAppsPages } from '../oidc/allowed-apps.js';

export type { SecurityPage };

/** Security settings' notices after an action (`?done=…`), each factor's included. */
const NOTICES: Readonly<Record<string, MessageKey>> = {
  password: 'security.notice.password',
  'two-factor-off': 'security.notice.twoFactorOff',
  forgotten: 'security.notice.forgotten',
  'forgotten-all': 'security.notice.forgottenAll',
  'session-ended': 'security.notice.sessionEnded',
  'sessions-ended': 'security.notice.sessionsEnded',
  'app-removed': 'security.notice.appRemoved',
  preferred: 'security.notice.preferred',
  ...Object.fromEntries(HTTP_FACTORS_IN_ORDER.flatMap((factor) => Object.entries(factor.notices ?? {}))),
};

/** Security settings, shown again with an error or a notice. */
export function securityPageOf(kit: PageKit): SecurityPage {
  return async (request, reply, options) => {
    const signedIn = request.signedIn!;
    const csrf = kit.csrfToken(request, reply);
    const section = await twoFactorSection(kit, signedIn, csrf, request.i18n, { ...options.twoFactorErrors, itemError: options.itemError });
    const devices = await deviceSections(kit, signedIn, csrf, request.i18n);
    const t = request.i18n;
    const apps = await allowedAppsSection(kit, signedIn, csrf, request.i18n);
    return kit.send(
      request,
      reply,
      {
        title: t.t('security.title'),
        current: 'security',
        notice: options.notice ?? null,
        body: html`
<h1>${t.t('security.title')}</h1>
${section}
${devices}
${apps}
${preferencesSection(request.i18n, signedIn, csrf)}
<section class="card" aria-labelledby="password-heading">
  <h2 id="password-heading">${t.t('password.heading')}</h2>
  <p>${t.t('password.intro')}</p>
  <form method="post" action="/profile/password" novalidate>
    ${csrfField(csrf)}
    <input type="hidden" name="username" value="${signedIn.user.email}" autocomplete="username">
    ${field({ name: 'current_password', label: t.t('password.current'), type: 'password', autocomplete: 'current-password', error: options.currentPasswordError ?? null })}
    ${field({ name: 'new_password', label: t.t('password.new'), type: 'password', autocomplete: 'new-password', hint: t.t('password.hint'), error: options.newPasswordError ?? null })}
    <button type="submit">${t.t('password.submit')}</button>
  </form>
</section>`,
      },
      options.status ?? 200,
    );
  };
}

export function registerProfilePages(app: FastifyInstance, kit: PageKit): void {
  app.get('/', async (request, reply) => reply.redirect(request.signedIn ? '/profile/security' : '/sign-in', 303));

  const securityPage = securityPageOf(kit);
  registerTwoFactorPages(app, kit, securityPage);
  registerDevicePages(app, kit);
  registerAllowedAppsPages(app, kit);
  registerPreferencePages(app, kit);

  app.get('/profile/security', async (request, reply) => {
    if (!kit.requireFull(request, reply)) return reply;
    const query = request.query as Record<string, unknown>;
    // A code sent for a confirmation (`?sms=sent`, in the factor list's order), else what was done.
    const sentNotice = HTTP_FACTORS_IN_ORDER.find((factor) => factor.codeSentNotice && query[factor.type] === 'sent')?.codeSentNotice;
    const text = sentNotice
      ? request.i18n.t(sentNotice)
      : query.done === 'preferences'
        ? request.i18n.t('preferences.saved')
        : typeof query.done === 'string' && Object.hasOwn(NOTICES, query.done)
          ? request.i18n.t(NOTICES[query.done]!)
          : undefined;
    const notice = text ? ({ kind: 'success', text } as const) : null;
    return securityPage(request, reply, { notice });
  });

  app.post('/profile/password', async (request, reply) => {
    if (!kit.requireFull(request, reply)) return reply;
    if (!kit.checkCsrf(request, reply)) return reply;
    const result = await changePassword(
      kit.deps,
      request.signedIn!,
      { currentPassword: formString(request.body, 'current_password'), newPassword: formString(request.body, 'new_password') },
      requestContext(request),
    );
    if (!result.ok) {
      const message = messageFor(result.failure, request.i18n);
      const field = result.failure.field;
      return securityPage(request, reply, {
        currentPasswordError: field === 'current_password' ? message : null,
        newPasswordError: field === 'new_password' ? message : null,
        notice: field === 'current_password' || field === 'new_password' ? null : { kind: 'error', text: message },
        status: result.failure.code === 'rate_limited' ? 429 : 400,
      });
    }
    return reply.redirect('/profile/security?done=password', 303);
  });
}
