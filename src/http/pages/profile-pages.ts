// Security settings (the two-factor section, trusted computers, sessions, password)
// and changing the password.
import type { FastifyInstance } from 'fastify';
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
const NOTICES: Readonly<Record<string, string>> = {
  password: 'Your password was changed. Your other sessions were signed out.',
  'two-factor-off': 'Two-factor authentication is off.',
  forgotten: 'That computer is no longer trusted.',
  'forgotten-all': 'No computer is trusted any more: every sign-in asks for a passcode.',
  'session-ended': 'That session has ended.',
  'sessions-ended': 'You are signed out everywhere else.',
  'app-removed': 'The app is removed: you are signed out of it, and it asks again next time.',
  preferred: 'Your preferred method is saved.',
  ...Object.fromEntries(HTTP_FACTORS_IN_ORDER.flatMap((factor) => Object.entries(factor.notices ?? {}))),
};

/** Security settings, shown again with an error or a notice. */
export function securityPageOf(kit: PageKit): SecurityPage {
  return async (request, reply, options) => {
    const signedIn = request.signedIn!;
    const csrf = kit.csrfToken(request, reply);
    const section = await twoFactorSection(kit, signedIn, csrf, request.i18n, { ...options.twoFactorErrors, itemError: options.itemError });
    const devices = await deviceSections(kit, signedIn, csrf, request.i18n);
    const apps = await allowedAppsSection(kit, signedIn, csrf, request.i18n);
    return kit.send(
      request,
      reply,
      {
        title: 'Security settings',
        current: 'security',
        notice: options.notice ?? null,
        body: html`
<h1>Security settings</h1>
${section}
${devices}
${apps}
${preferencesSection(request.i18n, signedIn, csrf)}
<section class="card" aria-labelledby="password-heading">
  <h2 id="password-heading">Password</h2>
  <p>Changing your password signs you out everywhere else and forgets your trusted computers.</p>
  <form method="post" action="/profile/password" novalidate>
    ${csrfField(csrf)}
    <input type="hidden" name="username" value="${signedIn.user.email}" autocomplete="username">
    ${field({ name: 'current_password', label: 'Current password', type: 'password', autocomplete: 'current-password', error: options.currentPasswordError ?? null })}
    ${field({ name: 'new_password', label: 'New password', type: 'password', autocomplete: 'new-password', hint: 'At least 8 characters; a few unrelated words work well.', error: options.newPasswordError ?? null })}
    <button type="submit">Change password</button>
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
    const sentBy = HTTP_FACTORS_IN_ORDER.find((factor) => factor.codeSentNotice && query[factor.type] === 'sent');
    const text = sentBy
      ? `${sentBy.codeSentNotice} It works for 10 minutes.`
      : query.done === 'preferences'
        ? request.i18n.t('preferences.saved')
        : typeof query.done === 'string'
          ? NOTICES[query.done]
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
      const message = messageFor(result.failure);
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
