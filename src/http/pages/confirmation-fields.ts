import { html, type Html } from '../html.js';

const SEND_TEXT_FORM_ID = 'send-confirmation-text';

/** The small form behind every "Text me a code" button of a page's confirmations.
 * Forms cannot nest, so it sits outside them once per page and the buttons point to it
 * with `form=`; pressing Enter in a code field still submits its own form. */
export function sendConfirmationTextForm(csrf: string, back: string): Html {
  return html`<form id="${SEND_TEXT_FORM_ID}" method="post" action="/profile/two-factor/sms/send" hidden><input type="hidden" name="_csrf" value="${csrf}"><input type="hidden" name="back" value="${back}"></form>`;
}

/** A passcode-, security-key- or recovery-code confirmation inside a form (DESIGN.md, "Confirmation").
 * With `hasSms`, the page must also hold sendConfirmationTextForm. */
export function confirmationFields(options: {
  prefix: string;
  error: string | null;
  hasSms: boolean;
  /** Whether the person has an authenticator app (default: yes). */
  hasTotp?: boolean;
  /** Whether the person has a security key: a button signs with it (app.js). */
  hasWebauthn?: boolean;
  password?: boolean;
}): Html {
  const id = `${options.prefix}-code`;
  if (options.password) {
    return html`<input type="hidden" name="method" value="password">
<div class="field${options.error ? ' has-error' : ''}">
  <label for="${id}">Your password</label>
  ${options.error ? html`<p class="error" id="${id}-error">${options.error}</p>` : ''}
  <input id="${id}" name="code" type="password" autocomplete="current-password" required${options.error ? html` aria-invalid="true" aria-describedby="${id}-error"` : ''}>
</div>`;
  }
  const hasTotp = options.hasTotp !== false;
  const hasWebauthn = options.hasWebauthn === true;
  return html`<fieldset>
  <legend>Confirm with</legend>
  ${
    hasWebauthn
      ? html`<label class="checkbox"><input type="radio" name="method" value="webauthn"> Your security key</label>
  <p class="hint"><button type="button" class="link" data-webauthn-confirm>Use your security key</button> (no code to type)</p>
  <p class="error" data-webauthn-error hidden></p>`
      : ''
  }
  ${hasTotp ? html`<label class="checkbox"><input type="radio" name="method" value="totp" checked> A passcode from your authenticator app</label>` : ''}
  ${
    options.hasSms
      ? html`<label class="checkbox"><input type="radio" name="method" value="sms"${hasTotp ? '' : html` checked`}> A texted passcode</label>
  <p class="hint"><button type="submit" class="link" form="${SEND_TEXT_FORM_ID}">Text me a code</button> (it works for 10 minutes)</p>`
      : ''
  }
  <label class="checkbox"><input type="radio" name="method" value="recovery_code"${hasTotp || options.hasSms ? '' : html` checked`}> A recovery code</label>
</fieldset>
<div class="field${options.error ? ' has-error' : ''}">
  <label for="${id}">Code</label>
  ${options.error ? html`<p class="error" id="${id}-error">${options.error}</p>` : ''}
  <input id="${id}" name="code" type="text" autocomplete="one-time-code" spellcheck="false" required${options.error ? html` aria-invalid="true" aria-describedby="${id}-error"` : ''}>
</div>`;
}
