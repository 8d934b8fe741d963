// The confirmation of a sensitive action inside a form (DESIGN.md, "Confirmation"): one
// choice per factor the person may confirm with, in the factor list's order, or the
// password for someone without two-factor authentication.
import { SECOND_FACTOR_METHODS, type SecondFactorMethod } from '../../domain/factors.js';
import type { ConfirmationChoice } from '../factors/http-factor.js';
import { HTTP_FACTORS } from '../factors/registry.js';
import { html, type Html } from '../html.js';
import { translatorFor, type Translator } from '../../i18n/translator.js';

/** How each factor is offered in a confirmation (its http module says), recovery codes
 * too. A factor whose code Tessera sends names the route that sends one (`send`); the
 * page holds that small form once (sendConfirmationCodeForms), since forms cannot nest. */
function choiceOf(method: SecondFactorMethod): ConfirmationChoice {
  return method === 'recovery_code' ? { choice: 'confirm.recovery_code' } : HTTP_FACTORS[method].confirmation;
}

/** The small forms behind every "Text me a code" / "Email me a code" button of a page's
 * confirmations. Forms cannot nest, so each sits outside them once per page and the
 * buttons point to it with `form=`; pressing Enter in a code field still submits its own form. */
export function sendConfirmationCodeForms(csrf: string, back: string, methods: readonly string[]): Html {
  return html`${SECOND_FACTOR_METHODS.filter((method) => methods.includes(method)).map((method) => {
    const send = choiceOf(method).send;
    return send
      ? html`<form id="${send.formId}" method="post" action="${send.action}" hidden>
        <input type="hidden" name="_csrf" value="${csrf}" /><input type="hidden" name="back" value="${back}" />
      </form>`
      : '';
  })}`;
}

/** A passcode-, security-key- or recovery-code confirmation inside a form. `methods`
 * are what the person may confirm with (services/confirmation.ts, confirmationMethods);
 * the page must also hold sendConfirmationCodeForms for the same methods. In `t`'s
 * language (English where a page does not say). */
export function confirmationFields(options: { prefix: string; error: string | null; methods: readonly string[]; t?: Translator }): Html {
  const id = `${options.prefix}-code`;
  const t = options.t ?? translatorFor('en');
  if (options.methods.includes('password')) {
    return html`<input type="hidden" name="method" value="password" />
      <div class="field${options.error ? ' has-error' : ''}">
        <label for="${id}">${t.t('confirm.password')}</label>
        ${options.error ? html`<p class="error" id="${id}-error">${options.error}</p>` : ''}
        <input
          id="${id}"
          name="code"
          type="password"
          autocomplete="current-password"
          required${options.error ? html` aria-invalid="true" aria-describedby="${id}-error"` : ''}
        />
      </div>`;
  }
  // Recovery codes always stay; the first typed code is chosen by default.
  const offered = SECOND_FACTOR_METHODS.filter((method) => method === 'recovery_code' || options.methods.includes(method));
  const checked = offered.find((method) => !choiceOf(method).signs);
  return html`<fieldset>
      <legend>${t.t('confirm.legend')}</legend>
      ${offered.map((method) => {
        const words = choiceOf(method);
        const radio = html`<label class="checkbox"
          ><input type="radio" name="method" value="${method}"${method === checked ? html` checked` : ''}> ${t.t(words.choice)}</label
        >`;
        if (words.signs) {
          return html`${radio}
            <p class="hint"><button type="button" class="link" data-webauthn-confirm>${t.t('passcode.webauthn.button')}</button> ${t.t('confirm.noCode')}</p>
            <p class="error" data-webauthn-error hidden></p>`;
        }
        if (words.send) {
          return html`${radio}
            <p class="hint"><button type="submit" class="link" form="${words.send.formId}">${t.t(words.send.label)}</button> ${t.t(words.send.hint)}</p>`;
        }
        return radio;
      })}
    </fieldset>
    <div class="field${options.error ? ' has-error' : ''}">
      <label for="${id}">${t.t('confirm.code')}</label>
      ${options.error ? html`<p class="error" id="${id}-error">${options.error}</p>` : ''}
      <input
        id="${id}"
        name="code"
        type="text"
        autocomplete="one-time-code"
        spellcheck="false"
        required${options.error ? html` aria-invalid="true" aria-describedby="${id}-error"` : ''}
      />
    </div>`;
}
