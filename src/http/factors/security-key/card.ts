// The "Security key or passkey" card of the method chooser.
import { KEY_NAME_MAX_LENGTH, securityKeysAvailable } from '../../../services/webauthn.js';
import { messageFor } from '../../errors.js';
import { html, type Html } from '../../html.js';
import { csrfField, field } from '../../pages/forms.js';
import type { PageKit } from '../../pages/kit.js';
import type { Translator } from '../../../i18n/translator.js';

/** The "Security key or passkey" card of the setup page. */
export function securityKeyCard(
  kit: PageKit,
  t: Translator,
  input: { csrf: string; confirmation: Html | ''; error: string | null | undefined; required: boolean; name?: string },
): Html {
  if (!securityKeysAvailable(kit.deps)) {
    return html`<section class="card">
      <h2>${t.t('keyEnrol.title')}</h2>
      <p>${messageFor({ code: 'webauthn_unavailable' }, t)}</p>
    </section>`;
  }
  return html`<section class="card">
    <h2>${t.t('keyEnrol.title')}</h2>
    <p><strong>${t.t(input.required ? 'keyEnrol.required' : 'keyEnrol.safest')}</strong> ${t.t('keyEnrol.text', { product: kit.productName })}</p>
    <form method="post" action="/profile/two-factor/webauthn" novalidate>
      ${csrfField(input.csrf)}
      ${field({ name: 'name', label: t.t('keyEnrol.name'), required: false, value: input.name ?? '', hint: t.t('keyEnrol.nameHint'), maxlength: KEY_NAME_MAX_LENGTH })}
      ${input.confirmation} ${input.error ? html`<p class="error" role="alert">${input.error}</p>` : ''}
      <button type="submit" name="kind" value="passkey" class="primary">${t.t('keyEnrol.addPasskey')}</button>
      <button type="submit" name="kind" value="key">${t.t('keyEnrol.addKey')}</button>
      <p class="hint">${t.t('keyEnrol.hint')}</p>
    </form>
  </section>`;
}
