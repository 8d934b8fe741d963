// Emailed codes (DESIGN.md row 19) on the pages and in the API.
import { sendEmailSignInCode, signInEmailCodeState } from '../../../services/email-factor.js';
import { html } from '../../html.js';
import { csrfField } from '../../pages/forms.js';
import { boldSentence, passcodeField, sendCodeForm, typedCodeForm } from '../../pages/passcode-form.js';
import type { HttpFactor } from '../http-factor.js';
import { registerEmailedCodeRoutes, registerSignInEmailRoutes } from './api-routes.js';
import { registerEmailedCodePages } from './pages.js';

export const emailedCodeHttp: HttpFactor<'email'> = {
  type: 'email',

  chooserCard({ t, signedIn, csrf, summary, confirmationNeeded, confirmation, state }) {
    if (summary.methods.includes('email')) return '';
    return html`<section class="card">
          <h2>${t.t('emailCode.title')}</h2>
          <p class="notice notice-info">${t.t('emailCode.card.warning')}</p>
          <form method="post" action="/profile/two-factor/email" novalidate>
            ${csrfField(csrf)} ${confirmation('email', state.error)}
            ${!confirmationNeeded && state.error ? html`<p class="error" role="alert">${state.error}</p>` : ''}
            <p class="hint">${t.t('emailCode.card.hint', { email: signedIn.user.email })}</p>
            <button type="submit">${t.t('passcode.email.send')}</button>
          </form>
        </section>`;
  },

  async securitySection({ t, enrolled }) {
    return { addLink: enrolled ? null : html`<a href="/profile/two-factor/setup">${t.t('security.factor.addEmail')}</a>` };
  },

  confirmation: {
    choice: 'confirm.email',
    send: { formId: 'send-confirmation-email', action: '/profile/two-factor/email/send', label: 'passcode.email.send', hint: 'confirm.sendHint' },
  },

  passcode: {
    form: ({ t, csrf, open, error, remember, otherLinks, sent }) =>
      typedCodeForm({
        t,
        csrf,
        method: 'email',
        intro: boldSentence(t, sent && sent.sentAt !== null ? 'passcode.email.sent' : 'passcode.email.canSend', {
          destination: sent?.destination ?? '',
          account: open.account.name,
        }),
        field: passcodeField(t.t('passcode.email.label'), error),
        remember,
        send: sent ? sendCodeForm({ t, csrf, method: 'email', sent, label: t.t('passcode.email.send') }) : '',
        otherLinks,
      }),
    sentCode: {
      state: (kit, open) => signInEmailCodeState(kit.deps.db, kit.deps, open),
      send: sendEmailSignInCode,
      sentAgain: 'passcode.email.sentAgain',
    },
  },

  notices: { 'email-on': 'security.notice.emailOn' },
  codeSentNotice: 'codeSent.email',
  auditEventSentences: { email_code_sent: 'audit.event.email_code_sent', email_code_quota_exceeded: 'audit.event.email_code_quota_exceeded' },

  registerPages: registerEmailedCodePages,
  registerSignInRoutes: registerSignInEmailRoutes,
  registerMeRoutes: registerEmailedCodeRoutes,
};
