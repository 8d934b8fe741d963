// Text messages (SMS) on the pages and in the API.
import { countryOptions, isCountryCode, parseCountryList } from '../../../domain/phone-numbers.js';
import { enrolledPhone } from '../../../services/sms-enrolment.js';
import { sendSignInCode, signInCodeState, smsAvailable } from '../../../services/sms-sending.js';
import { messageFor } from '../../errors.js';
import { html, type Html } from '../../html.js';
import { deliveryNotice } from './delivery-notice.js';
import { csrfField, field } from '../../pages/forms.js';
import { boldSentence, passcodeField, sendCodeForm, typedCodeForm } from '../../pages/passcode-form.js';
import type { HttpFactor } from '../http-factor.js';
import { registerSignInSmsRoutes, registerTextMessageRoutes } from './api-routes.js';
import { registerTextMessagePages } from './pages.js';

function countrySelect(selected: string, allowList: string[] | null): Html {
  return html`<div class="field">
    <label for="field-country">Country</label>
    <select id="field-country" name="country" autocomplete="country">
      ${countryOptions(allowList).map(
        (option) => html`<option value="${option.code}"${option.code === selected ? html` selected` : ''}>${option.name} (+${option.callingCode})</option>`,
      )}
    </select>
  </div>`;
}

export const textMessageHttp: HttpFactor<'sms'> = {
  type: 'sms',

  chooserCard({ kit, signedIn, csrf, summary, confirmationNeeded, confirmation, state }) {
    if (!smsAvailable(kit.deps)) {
      return html`<section class="card">
        <h2>Text messages</h2>
        <p>${messageFor({ code: 'sms_unavailable' })}</p>
      </section>`;
    }
    const allowList = parseCountryList(signedIn.account.sms_allowed_countries);
    const country = state.values?.country;
    const defaultCountry = country && isCountryCode(country) ? country : signedIn.account.country;
    return html`<section class="card">
        <h2>${summary.methods.includes('sms') ? 'Change your phone number' : 'Use text messages'}</h2>
        <p class="notice notice-info">
          Text messages are the weaker method: a text can be intercepted, or your number moved to another SIM card by someone who fools your phone company. Use
          an authenticator app if you can.
        </p>
        <form method="post" action="/profile/two-factor/sms" novalidate>
          ${csrfField(csrf)} ${countrySelect(defaultCountry, allowList)}
          ${field({ name: 'phone', label: 'Mobile phone number', type: 'tel', autocomplete: 'tel', value: state.values?.phone ?? '', error: state.fieldError ?? (!confirmationNeeded ? (state.error ?? null) : null), hint: 'We text a 6-digit code to it now, and whenever you sign in.', maxlength: 40 })}
          ${confirmation('sms', state.error)}
          <button type="submit">Text me a code</button>
        </form>
      </section>`;
  },

  async securitySection({ kit, t, signedIn, enrolled }) {
    const phone = enrolled ? await enrolledPhone(kit.deps, signedIn.user) : null;
    return {
      name: phone
        ? html`${t.parts<Html>('security.factor.smsTo', { number: phone.phoneMasked }, { phone: (chunks) => html`<span class="phone">${chunks}</span>` })}`
        : undefined,
      addLink: html`<a href="/profile/two-factor/setup">${t.t(enrolled ? 'security.factor.changePhone' : 'security.factor.addSms')}</a>`,
    };
  },

  confirmation: {
    choice: 'A texted passcode',
    send: { formId: 'send-confirmation-text', action: '/profile/two-factor/sms/send', label: 'Text me a code', hint: '(it works for 10 minutes)' },
  },

  passcode: {
    form: ({ t, csrf, open, error, remember, otherLinks, sent }) =>
      typedCodeForm({
        t,
        csrf,
        method: 'sms',
        intro: boldSentence(t, sent && sent.sentAt !== null ? 'passcode.sms.sent' : 'passcode.sms.canSend', {
          destination: sent?.destination ?? '',
          account: open.account.name,
        }),
        notice: sent ? deliveryNotice(sent.delivery, t) : '',
        webOtp: true,
        field: passcodeField(t.t('passcode.sms.label'), error),
        remember,
        send: sent ? sendCodeForm({ t, csrf, method: 'sms', sent, label: t.t('passcode.sms.send') }) : '',
        otherLinks,
      }),
    sentCode: {
      async state(kit, open) {
        const sms = await signInCodeState(kit.deps.db, kit.deps, open);
        return sms && { destination: sms.phoneMasked, sentAt: sms.sentAt, resendAfterSeconds: sms.resendAfterSeconds, delivery: sms.delivery };
      },
      send: sendSignInCode,
      sentAgain: 'passcode.sms.sentAgain',
      sendWhenPreferred: true,
    },
  },

  notices: { 'sms-on': 'security.notice.smsOn' },
  codeSentNotice: 'We texted you a code.',
  auditEventSentences: {
    sms_code_sent: 'audit.event.sms_code_sent',
    sms_quota_exceeded: 'audit.event.sms_quota_exceeded',
    two_factor_phone_replaced: 'audit.event.two_factor_phone_replaced',
  },

  registerPages: registerTextMessagePages,
  registerSignInRoutes: registerSignInSmsRoutes,
  registerMeRoutes: registerTextMessageRoutes,
};
