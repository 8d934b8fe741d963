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
import type { Translator } from '../../../i18n/translator.js';
import { registerSignInSmsRoutes, registerTextMessageRoutes } from './api-routes.js';
import { registerTextMessagePages } from './pages.js';

/** The countries named in the reader's language (CLDR through `Intl`), in its order;
 * English keeps the phone-number list's own names. */
function localCountryOptions(t: Translator, allowList: string[] | null): ReturnType<typeof countryOptions> {
  const options = countryOptions(allowList);
  if (t.language === 'en') return options;
  const names = new Intl.DisplayNames([t.language], { type: 'region' });
  const collator = new Intl.Collator(t.language);
  return options.map((option) => ({ ...option, name: names.of(option.code) ?? option.name })).sort((a, b) => collator.compare(a.name, b.name));
}

function countrySelect(t: Translator, selected: string, allowList: string[] | null): Html {
  return html`<div class="field">
    <label for="field-country">${t.t('smsEnrol.country')}</label>
    <select id="field-country" name="country" autocomplete="country">
      ${localCountryOptions(t, allowList).map(
        (option) => html`<option value="${option.code}"${option.code === selected ? html` selected` : ''}>${option.name} (+${option.callingCode})</option>`,
      )}
    </select>
  </div>`;
}

export const textMessageHttp: HttpFactor<'sms'> = {
  type: 'sms',

  chooserCard({ kit, t, signedIn, csrf, summary, confirmationNeeded, confirmation, state }) {
    if (!smsAvailable(kit.deps)) {
      return html`<section class="card">
        <h2>${t.t('smsEnrol.unavailableTitle')}</h2>
        <p>${messageFor({ code: 'sms_unavailable' }, t)}</p>
      </section>`;
    }
    const allowList = parseCountryList(signedIn.account.sms_allowed_countries);
    const country = state.values?.country;
    const defaultCountry = country && isCountryCode(country) ? country : signedIn.account.country;
    return html`<section class="card">
        <h2>${t.t(summary.methods.includes('sms') ? 'security.factor.changePhone' : 'smsEnrol.title')}</h2>
        <p class="notice notice-info">${t.t('smsEnrol.warning')}</p>
        <form method="post" action="/profile/two-factor/sms" novalidate>
          ${csrfField(csrf)} ${countrySelect(t, defaultCountry, allowList)}
          ${field({ name: 'phone', label: t.t('smsEnrol.phone'), type: 'tel', autocomplete: 'tel', value: state.values?.phone ?? '', error: state.fieldError ?? (!confirmationNeeded ? (state.error ?? null) : null), hint: t.t('smsEnrol.phoneHint'), maxlength: 40 })}
          ${confirmation('sms', state.error)}
          <button type="submit">${t.t('passcode.sms.send')}</button>
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
    choice: 'confirm.sms',
    send: { formId: 'send-confirmation-text', action: '/profile/two-factor/sms/send', label: 'passcode.sms.send', hint: 'confirm.sendHint' },
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
  codeSentNotice: 'codeSent.sms',
  auditEventSentences: {
    sms_code_sent: 'audit.event.sms_code_sent',
    sms_quota_exceeded: 'audit.event.sms_quota_exceeded',
    two_factor_phone_replaced: 'audit.event.two_factor_phone_replaced',
  },

  registerPages: registerTextMessagePages,
  registerSignInRoutes: registerSignInSmsRoutes,
  registerMeRoutes: registerTextMessageRoutes,
};
