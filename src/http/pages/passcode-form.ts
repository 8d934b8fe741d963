// The passcode page's form for a typed code (app, text, email, recovery code): each
// factor says what the page tells the person and which field it asks for; the frame
// around them is the same for all (challenge-pages.ts).
import type { MessageKey } from '../../i18n/messages/en.js';
import type { MessageValues, Translator } from '../../i18n/translator.js';
import { html, type Html } from '../html.js';
import { sendButton } from './code-sending.js';
import { csrfField, field } from './forms.js';

export interface TypedCodeForm {
  /** The reader's language. */
  t: Translator;
  csrf: string;
  method: string;
  intro: Html;
  /** Under the intro: what became of a text that has not arrived. */
  notice?: Html | '';
  /** The form takes a code from an incoming text (WebOTP, app.js). */
  webOtp?: boolean;
  field: Html;
  remember: Html | '';
  /** Under the form: the "send me a code" form of a factor whose code Tessera sends. */
  send?: Html | '';
  otherLinks: Html;
}

export function typedCodeForm(input: TypedCodeForm): Html {
  const { t } = input;
  return html` <h1>${t.t('passcode.title')}</h1>
    <p>${input.intro}</p>
    ${input.notice ?? ''}
    <form method="post" action="/sign-in/two-factor" novalidate${input.webOtp ? html` data-webotp` : ''}>
      ${csrfField(input.csrf)}
      <input type="hidden" name="method" value="${input.method}" />
      ${input.field}
      ${input.remember}
      <button type="submit" class="primary">${t.t('passcode.verify')}</button>
    </form>
    ${input.send ?? ''}
    <p class="aside">${input.otherLinks}</p>
    <p class="aside"><a href="/sign-in">${t.t('passcode.cancel')}</a></p>`;
}

/** The markup of a passcode sentence's tags: `<b>` what the person should check (the
 * account, where the code went), `<phone>` a masked phone number. */
const SENTENCE_TAGS = {
  b: (chunks: (string | Html)[]) => html`<strong>${chunks}</strong>`,
  phone: (chunks: (string | Html)[]) => html`<strong class="phone">${chunks}</strong>`,
};

/** A message whose `<b>`/`<phone>` parts are shown in bold, its values escaped. */
export function boldSentence(t: Translator, key: MessageKey, values: MessageValues): Html {
  return html`${t.parts<Html>(key, values, SENTENCE_TAGS)}`;
}

/** The 6-digit code's field, named after where the code comes from ("Code from the text"). */
export function passcodeField(label: string, error: string | null): Html {
  return field({ name: 'code', label, autocomplete: 'one-time-code', inputmode: 'numeric', error, autofocus: true, maxlength: 12 });
}

/** "Text me a code" / "Email me a code" / "Send again" for this sign-in. */
export function sendCodeForm(input: {
  t: Translator;
  csrf: string;
  method: string;
  sent: { sentAt: number | null; resendAfterSeconds: number };
  /** The button's words before the first send ("Text me a code"). */
  label: string;
}): Html {
  return html`<div class="actions">
            <form method="post" action="/sign-in/two-factor/${input.method}" class="inline">
              ${csrfField(input.csrf)} ${sendButton({ sent: input.sent.sentAt !== null, resendAfterSeconds: input.sent.resendAfterSeconds, label: input.label, sentLabel: input.t.t('passcode.sendAgain') })}
            </form>
          </div>`;
}
