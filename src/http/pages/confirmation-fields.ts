import { html, type Html } from '../html.js';

/** A passcode-or-recovery-code confirmation inside a form (DESIGN.md, "Confirmation"). */
export function confirmationFields(options: { prefix: string; error: string | null; hasSms: boolean; password?: boolean }): Html {
  const id = `${options.prefix}-code`;
  if (options.password) {
    return html`<input type="hidden" name="method" value="password">
<div class="field${options.error ? ' has-error' : ''}">
  <label for="${id}">Your password</label>
  ${options.error ? html`<p class="error" id="${id}-error">${options.error}</p>` : ''}
  <input id="${id}" name="code" type="password" autocomplete="current-password" required${options.error ? html` aria-invalid="true" aria-describedby="${id}-error"` : ''}>
</div>`;
  }
  return html`<fieldset>
  <legend>Confirm with</legend>
  <label class="checkbox"><input type="radio" name="method" value="totp" checked> A passcode from your authenticator app</label>
  ${options.hasSms ? html`<label class="checkbox"><input type="radio" name="method" value="sms"> A texted passcode</label>` : ''}
  <label class="checkbox"><input type="radio" name="method" value="recovery_code"> A recovery code</label>
</fieldset>
<div class="field${options.error ? ' has-error' : ''}">
  <label for="${id}">Code</label>
  ${options.error ? html`<p class="error" id="${id}-error">${options.error}</p>` : ''}
  <input id="${id}" name="code" type="text" autocomplete="one-time-code" spellcheck="false" required${options.error ? html` aria-invalid="true" aria-describedby="${id}-error"` : ''}>
</div>`;
}
