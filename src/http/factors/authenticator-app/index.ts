// The authenticator app (TOTP) on the pages and in the API.
import { html } from '../../html.js';
import { csrfField } from '../../pages/forms.js';
import { boldSentence, passcodeField, typedCodeForm } from '../../pages/passcode-form.js';
import type { HttpFactor } from '../http-factor.js';
import { registerAuthenticatorAppRoutes } from './api-routes.js';
import { registerAuthenticatorAppPages } from './pages.js';

export const authenticatorAppHttp: HttpFactor<'totp'> = {
  type: 'totp',

  chooserCard({ t, csrf, summary, confirmationNeeded, confirmation, state }) {
    if (summary.methods.includes('totp')) return '';
    return html`<section class="card">
        <h2>${t.t('totp.title')}</h2>
        <p><strong>${t.t('totp.card.recommended')}</strong> ${t.t('totp.card.text')}</p>
        <form method="post" action="/profile/two-factor/totp" novalidate>
          ${csrfField(csrf)} ${confirmation('totp', state.error)}
          ${!confirmationNeeded && state.error ? html`<p class="error" role="alert">${state.error}</p>` : ''}
          <button type="submit" class="primary">${t.t('totp.title')}</button>
        </form>
      </section>`;
  },

  async securitySection({ t, enrolled }) {
    return { addLink: enrolled ? null : html`<a href="/profile/two-factor/setup">${t.t('security.factor.addTotp')}</a>` };
  },

  confirmation: { choice: 'confirm.totp' },

  passcode: {
    form: ({ t, csrf, open, error, remember, otherLinks }) =>
      typedCodeForm({
        t,
        csrf,
        method: 'totp',
        intro: boldSentence(t, 'passcode.totp.intro', { account: open.account.name }),
        field: passcodeField(t.t('passcode.totp.label'), error),
        remember,
        otherLinks,
      }),
  },

  registerPages: registerAuthenticatorAppPages,
  registerMeRoutes: registerAuthenticatorAppRoutes,
};
