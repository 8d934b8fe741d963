// A person's language and time zone (Security settings) and the account's default
// language (Account security), DESIGN.md row 21.
import type { FastifyInstance } from 'fastify';
import { LANGUAGES, LANGUAGE_NAMES } from '../../domain/languages.js';
import type { Translator } from '../../i18n/translator.js';
import { accountSettingsOf, preferencesOf, setPreferences, updateAccountSettings } from '../../services/preferences.js';
import type { SignedIn } from '../../services/sessions.js';
import { messageFor } from '../errors.js';
import { html, type Html } from '../html.js';
import { requestContext } from '../request-context.js';
import { csrfField, formString, selectField } from './forms.js';
import type { PageKit } from './kit.js';

const TIME_ZONES: readonly string[] = ['UTC', ...Intl.supportedValuesOf('timeZone').filter((zone) => zone !== 'UTC')];

function languageChoices(t: Translator, unsetLabel: string): { value: string; label: string; lang?: string }[] {
  return [{ value: '', label: unsetLabel }, ...LANGUAGES.map((language) => ({ value: language, label: LANGUAGE_NAMES[language], lang: language }))];
}

export function preferencesSection(t: Translator, signedIn: SignedIn, csrf: string): Html {
  const preferences = preferencesOf(signedIn.user);
  return html`<section class="card" aria-labelledby="preferences-heading">
  <h2 id="preferences-heading">${t.t('preferences.heading')}</h2>
  <p>${t.t('preferences.intro')}</p>
  <form method="post" action="/profile/preferences" novalidate>
    ${csrfField(csrf)}
    ${selectField({ name: 'language', label: t.t('preferences.language'), value: preferences.language ?? '', choices: languageChoices(t, t.t('preferences.languageUnset')) })}
    ${selectField({
      name: 'time_zone',
      label: t.t('preferences.timeZone'),
      value: preferences.timeZone ?? '',
      hint: t.t('preferences.timeZoneHint'),
      // app.js picks the browser's zone while none is saved (a guess the person confirms).
      attributes: preferences.timeZone ? undefined : html` data-guess-time-zone`,
      choices: [{ value: '', label: t.t('preferences.timeZoneUnset') }, ...TIME_ZONES.map((zone) => ({ value: zone, label: zone.replace(/_/g, ' ') }))],
    })}
    <button type="submit">${t.t('preferences.save')}</button>
  </form>
</section>`;
}

export function accountLanguageSection(t: Translator, admin: SignedIn, csrf: string): Html {
  const settings = accountSettingsOf(admin.account);
  return html`<section class="card" aria-labelledby="account-language-heading">
  <h2 id="account-language-heading">${t.t('accountLanguage.heading')}</h2>
  <form method="post" action="/admin/account/language" novalidate>
    ${csrfField(csrf)}
    ${selectField({
      name: 'default_language',
      label: t.t('accountLanguage.label'),
      value: settings.defaultLanguage ?? '',
      hint: t.t('accountLanguage.hint'),
      choices: languageChoices(t, t.t('accountLanguage.unset')),
    })}
    <button type="submit">${t.t('accountLanguage.save')}</button>
  </form>
</section>`;
}

export function registerPreferencePages(app: FastifyInstance, kit: PageKit): void {
  app.post('/profile/preferences', async (request, reply) => {
    const signedIn = kit.requireFull(request, reply);
    if (!signedIn || !kit.checkCsrf(request, reply)) return reply;
    const result = await setPreferences(kit.deps, signedIn, {
      language: formString(request.body, 'language'),
      time_zone: formString(request.body, 'time_zone'),
    });
    if (!result.ok) return reply.code(400).type('text/plain; charset=utf-8').send(messageFor(result.failure, request.i18n));
    return reply.redirect('/profile/security?done=preferences', 303);
  });

  app.post('/admin/account/language', async (request, reply) => {
    const admin = kit.requireFull(request, reply);
    if (!admin || !kit.checkCsrf(request, reply)) return reply;
    if (admin.user.role !== 'admin')
      return reply
        .code(403)
        .type('text/plain; charset=utf-8')
        .send(messageFor({ code: 'forbidden' }, request.i18n));
    const result = await updateAccountSettings(kit.deps, admin, { default_language: formString(request.body, 'default_language') }, requestContext(request));
    if (!result.ok) return reply.code(400).type('text/plain; charset=utf-8').send(messageFor(result.failure, request.i18n));
    return reply.redirect('/admin/security?done=language', 303);
  });
}
