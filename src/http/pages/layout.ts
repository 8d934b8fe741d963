// The page frame every HTML page plugs into: header, navigation, main content.
import { html, type Html } from '../html.js';
import type { SignedIn } from '../../services/sessions.js';

export interface PageFrame {
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

export function renderPage(frame: PageFrame): string {
  const signedIn = frame.signedIn ?? null;
  const full = signedIn?.session.kind === 'full';
  const nav = signedIn
    ? html`<nav aria-label="Main">
        ${full ? navLink('/profile/security', 'Security settings', frame.current === 'security') : ''}
        ${full && signedIn.user.role === 'admin' ? navLink('/admin/users', 'People', frame.current === 'admin-users') : ''}
        ${full && signedIn.user.role === 'admin' ? navLink('/admin/security', 'Account security', frame.current === 'admin-security') : ''}
        ${full && signedIn.user.role === 'admin' ? navLink('/admin/apps', 'Apps', frame.current === 'admin-apps') : ''}
        ${full && signedIn.user.role === 'admin' ? navLink('/admin/automation', 'Automation', frame.current === 'admin-automation') : ''}
        ${full && signedIn.user.role === 'admin' ? navLink('/admin/audit', 'Audit log', frame.current === 'admin-audit') : ''}
        <form method="post" action="/sign-out" class="inline">
          <input type="hidden" name="_csrf" value="${frame.csrfToken}">
          <button type="submit" class="link">Sign out</button>
        </form>
      </nav>`
    : '';
  const who = signedIn ? html`<span class="who">${signedIn.user.name} · ${signedIn.account.name}</span>` : '';
  const notice = frame.notice
    ? html`<p class="notice notice-${frame.notice.kind}" role="${frame.notice.kind === 'error' ? 'alert' : 'status'}">${frame.notice.text}</p>`
    : '';
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
${frame.refreshTo ? html`<meta http-equiv="refresh" content="0;url=${frame.refreshTo}">` : ''}
<title>${frame.title} · ${frame.productName}</title>
<link rel="icon" href="/assets/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/app.css">
<script src="/assets/webauthn.js" defer></script>
<script src="/assets/app.js" defer></script>
</head>
<body data-key-origin="${frame.keyOrigin}">
<a class="skip" href="#main">Skip to content</a>
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
</body>
</html>`.value;
}
