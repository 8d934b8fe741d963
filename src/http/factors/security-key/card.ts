// The "Security key or passkey" card of the method chooser.
import { KEY_NAME_MAX_LENGTH, securityKeysAvailable } from '../../../services/webauthn.js';
import { messageFor } from '../../errors.js';
import { html, type Html } from '../../html.js';
import { csrfField, field } from '../../pages/forms.js';
import type { PageKit } from '../../pages/kit.js';

/** The "Security key or passkey" card of the setup page. */
export function securityKeyCard(
  kit: PageKit,
  input: { csrf: string; confirmation: Html | ''; error: string | null | undefined; required: boolean; name?: string },
): Html {
  if (!securityKeysAvailable(kit.deps)) {
    return html`<section class="card">
      <h2>Security key or passkey</h2>
      <p>${messageFor({ code: 'webauthn_unavailable' })}</p>
    </section>`;
  }
  return html`<section class="card">
    <h2>Security key or passkey</h2>
    <p>
      <strong>${input.required ? 'Required for admins.' : 'The safest choice.'}</strong> A USB or NFC key (such as a YubiKey), or a passkey on this computer or
      your phone. You touch it instead of typing a code, and it only works on the real ${kit.productName}, so a fake sign-in page gets nothing.
    </p>
    <form method="post" action="/profile/two-factor/webauthn" novalidate>
      ${csrfField(input.csrf)}
      ${field({ name: 'name', label: 'Name', required: false, value: input.name ?? '', hint: 'So you can tell your keys apart, like "Blue YubiKey".', maxlength: KEY_NAME_MAX_LENGTH })}
      ${input.confirmation} ${input.error ? html`<p class="error" role="alert">${input.error}</p>` : ''}
      <button type="submit" name="kind" value="passkey" class="primary">Add a passkey</button>
      <button type="submit" name="kind" value="key">Add a security key</button>
      <p class="hint">A passkey signs you in with one touch and your device's PIN, fingerprint or face: no email, password or code. A security key is asked for after your password.</p>
    </form>
  </section>`;
}
