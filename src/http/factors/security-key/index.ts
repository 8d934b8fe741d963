// Security keys and passkeys (WebAuthn, DESIGN.md row 15) on the pages and in the API.
import { securityKeysOf, justProvedPasscode } from '../../../services/webauthn.js';
import { html } from '../../html.js';
import { csrfField } from '../../pages/forms.js';
import { boldSentence } from '../../pages/passcode-form.js';
import type { HttpFactor } from '../http-factor.js';
import { registerSecurityKeyRoutes, registerSecurityKeySignInRoutes } from './api-routes.js';
import { securityKeyCard } from './card.js';
import { registerSecurityKeyPages, securityKeysList } from './pages.js';

export const securityKeyHttp: HttpFactor<'webauthn'> = {
  type: 'webauthn',

  chooserCard({ kit, t, signedIn, csrf, confirmationNeeded, confirmation, phishingResistantRequired, state }) {
    // A setup-only session that proved a passcode moments ago is not asked for another.
    const needsConfirmation = confirmationNeeded && !justProvedPasscode(signedIn, kit.deps.now());
    return securityKeyCard(kit, t, {
      csrf,
      confirmation: needsConfirmation ? confirmation('key', state.error) : '',
      error: needsConfirmation ? null : state.error,
      required: phishingResistantRequired,
      name: state.values?.name,
    });
  },

  async securitySection({ kit, t, signedIn, csrf, enrolled, confirmWith, itemError }) {
    const keys = enrolled ? await securityKeysOf(kit.deps.db, signedIn.user) : [];
    return {
      name: t.t('security.factor.keys', { count: keys.length }),
      addLink: html`<a href="/profile/two-factor/setup">${t.t('security.factor.addKey')}</a>`,
      details: securityKeysList(t, keys, csrf, {
        confirmation: confirmWith('remove-key', null),
        error: itemError?.error ?? null,
        keyId: itemError?.id ?? null,
      }),
      askedInsteadOfPasscode: enrolled,
    };
  },

  confirmation: { choice: 'confirm.webauthn', signs: true },

  passcode: {
    form: ({ t, csrf, open, error, remember, otherLinks }) => html` <h1>${t.t('passcode.title')}</h1>
      <p>${boldSentence(t, 'passcode.webauthn.intro', { account: open.account.name })}</p>
      <form method="post" action="/sign-in/two-factor" data-webauthn-sign-in="/sign-in/two-factor/webauthn/options" novalidate>
        ${csrfField(csrf)}
        <input type="hidden" name="method" value="webauthn" />
        <input type="hidden" name="code" value="" />
        ${error ? html`<p class="error" role="alert">${error}</p>` : ''}
        <p class="error" data-webauthn-error role="alert" hidden></p>
        <noscript><p class="error">${t.t('passcode.webauthn.noScript')}</p></noscript>
        ${remember}
        <button type="submit" class="primary" autofocus>${t.t('passcode.webauthn.button')}</button>
      </form>
      <p class="aside">${otherLinks}</p>
      <p class="aside"><a href="/sign-in">${t.t('passcode.cancel')}</a></p>`,
  },

  notices: {
    'key-added': 'security.notice.keyAdded',
    'passkey-added': 'security.notice.passkeyAdded',
    'key-renamed': 'security.notice.keyRenamed',
    'key-removed': 'security.notice.keyRemoved',
  },
  auditEventSentences: {
    security_key_counter_mismatch: 'audit.event.security_key_counter_mismatch',
    security_key_removed: 'audit.event.security_key_removed',
    security_key_renamed: 'audit.event.security_key_renamed',
  },

  registerPages: registerSecurityKeyPages,
  registerSignInRoutes: registerSecurityKeySignInRoutes,
  registerMeRoutes: registerSecurityKeyRoutes,
};
