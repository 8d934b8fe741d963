// The page frame every HTML page plugs into: header, navigation, main content.
import { html, raw, type Html } from '../html.js';
import type { SignedIn } from '../../services/sessions.js';
import { LANGUAGES, LANGUAGE_NAMES, type Language } from '../../domain/languages.js';
import type { Translator } from '../../i18n/translator.js';

export interface PageFrame {
  /** The reader's language and time zone. */
  t: Translator;
  /** Before sign-in, the page in each language (`?lang=`), for the language menu. */
  languageLinks?: Record<Language, string> | null;
  title: string;
  productName: string;
  csrfToken: string;
  /** The origin of TESSERA_BASE_URL, the only one security keys work at. */
  keyOrigin: string;
  signedIn?: SignedIn | null;
  /** Narrow, centred card for sign-in style pages. */
  narrow?: boolean;
  notice?: { kind: 'info' | 'success' | 'error'; text: string } | null;
  banner?: Html | null;
  body: Html;
  /** A page that moves on by itself names where (`<meta http-equiv="refresh">`). */
  refreshTo?: string;
  /** Which navigation entry is current. */
  current?: 'security' | 'admin-users' | 'admin-security' | 'admin-apps' | 'admin-automation' | 'admin-audit' | 'outbox';
}

function navLink(href: string, label: string, active: boolean): Html {
  return html`<a href="${href}"${active ? html` aria-current="page"` : ''}>${label}</a>`;
}

/** Each language named in itself, in its own `lang`, the current one marked. */
function languageMenu(t: Translator, links: Record<Language, string>): Html {
  return html`<nav class="languages" aria-label="${t.t('layout.languageMenu')}">
  <ul>
    ${LANGUAGES.map(
      (language) =>
        html`<li><a href="${links[language]}" lang="${language}" hreflang="${language}"${language === t.language ? html` aria-current="true"` : ''}>${LANGUAGE_NAMES[language]}</a></li>`,
    )}
  </ul>
</nav>`;
}

/** The messages app.js shows, in the reader's language: a JSON data block, which no
 * browser executes (so the CSP's `script-src 'self'` is kept), read by app.js, which
 * falls back to English without it. `{label}` and `{seconds}` are app.js's to fill. */
function scriptMessages(t: Translator, keyOrigin: string): Html {
  const messages = {
    keyWrongAddress: t.t('script.keyWrongAddress', { origin: keyOrigin }),
    keyTimedOut: t.t('script.keyTimedOut'),
    keyAlreadyAdded: t.t('script.keyAlreadyAdded'),
    keyUnsupported: t.t('script.keyUnsupported'),
    keyFailedTryAgain: t.t('script.keyFailedTryAgain'),
    keyFailed: t.t('script.keyFailed'),
    passkeysUnavailable: t.t('script.passkeysUnavailable'),
    noPasskeyChosen: t.t('script.noPasskeyChosen'),
    cooldown: t.t('script.cooldown', { label: '{label}', seconds: '{seconds}' }),
    copied: t.t('script.copied'),
  };
  // Inside <script>, only `</script` (or `<!--`) could end the block early: every `<`,
  // `>` and `&` is written as a JSON escape, and so are the line separators.
  const json = JSON.stringify(messages).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return html`<script type="application/json" id="tessera-messages">${raw(json)}</script>`;
}

export function renderPage(frame: PageFrame): string {
  const { t } = frame;
  const signedIn = frame.signedIn ?? null;
  const full = signedIn?.session.kind === 'full';
  const nav = signedIn
    ? html`<nav aria-label="${t.t('layout.nav.main')}">
        ${full ? navLink('/profile/security', t.t('layout.nav.security'), frame.current === 'security') : ''}
        ${full && signedIn.user.role === 'admin' ? navLink('/admin/users', t.t('layout.nav.people'), frame.current === 'admin-users') : ''}
        ${full && signedIn.user.role === 'admin' ? navLink('/admin/security', t.t('layout.nav.accountSecurity'), frame.current === 'admin-security') : ''}
        ${full && signedIn.user.role === 'admin' ? navLink('/admin/apps', t.t('layout.nav.apps'), frame.current === 'admin-apps') : ''}
        ${full && signedIn.user.role === 'admin' ? navLink('/admin/automation', t.t('layout.nav.automation'), frame.current === 'admin-automation') : ''}
        ${full && signedIn.user.role === 'admin' ? navLink('/admin/audit', t.t('layout.nav.audit'), frame.current === 'admin-audit') : ''}
        <form method="post" action="/sign-out" class="inline">
          <input type="hidden" name="_csrf" value="${frame.csrfToken}">
          <button type="submit" class="link">${t.t('layout.signOut')}</button>
        </form>
      </nav>`
    : '';
  const who = signedIn ? html`<span class="who">${signedIn.user.name} · ${signedIn.account.name}</span>` : '';
  const notice = frame.notice
    ? html`<p class="notice notice-${frame.notice.kind}" role="${frame.notice.kind === 'error' ? 'alert' : 'status'}">${frame.notice.text}</p>`
    : '';
  return html`<!doctype html>
<html lang="${t.language}" dir="${t.direction}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
${frame.refreshTo ? html`<meta http-equiv="refresh" content="0;url=${frame.refreshTo}">` : ''}
<title>${frame.title} · ${frame.productName}</title>
<link rel="icon" href="/assets/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/app.css">
${scriptMessages(t, frame.keyOrigin)}
<script src="/assets/webauthn.js" defer></script>
<script src="/assets/app.js" defer></script>
</head>
<body data-key-origin="${frame.keyOrigin}">
<a class="skip" href="#main">${t.t('layout.skip')}</a>
<header class="top">
  <a class="brand" href="/">${frame.productName}</a>
  ${who}
  ${nav}
</header>
${frame.banner ?? ''}
<main id="main" class="${frame.narrow ? 'narrow' : 'wide'}">
  ${notice}
  ${frame.body}
</main>
${!signedIn && frame.languageLinks ? html`<footer class="bottom">${languageMenu(t, frame.languageLinks)}</footer>` : ''}
</body>
</html>`.value;
}
