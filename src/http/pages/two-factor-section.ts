import { twoFactorSummary } from '../../services/profile.js';
import type { SignedIn } from '../../services/sessions.js';
import { requiredByAccount } from '../../services/two-factor.js';
import { html, type Html } from '../html.js';
import { confirmationFields } from './confirmation-fields.js';
import { csrfField } from './forms.js';
import type { PageKit } from './kit.js';

const METHOD_NAMES = { totp: 'Authenticator app', sms: 'Text messages', webauthn: 'Security key' } as const;

/** The "Two-factor authentication" card of Security settings. */
export async function twoFactorSection(kit: PageKit, signedIn: SignedIn, csrf: string, errors: { regenerate?: string | null; disable?: string | null } = {}): Promise<Html> {
  const summary = await twoFactorSummary(kit.deps.db, signedIn.user, kit.deps.now());
  if (!summary.enabled) {
    return html`<section class="card" aria-labelledby="two-factor-heading">
  <h2 id="two-factor-heading">Two-factor authentication</h2>
  <p><span class="badge badge-off">Off</span> After your password, you will also be asked for a 6-digit passcode from your phone. Someone who learns your password still cannot sign in as you.</p>
  <p><a class="button primary" href="/profile/two-factor/setup">Enable two-factor authentication</a></p>
</section>`;
  }
  const required = requiredByAccount(signedIn.account, signedIn.user);
  const low = summary.recoveryCodesLeft <= 3;
  return html`<section class="card" aria-labelledby="two-factor-heading">
  <h2 id="two-factor-heading">Two-factor authentication</h2>
  <p><span class="badge badge-on">On</span> You are asked for a passcode after your password.</p>
  <ul class="methods">${summary.methods.map(
    (method) => html`<li><strong>${METHOD_NAMES[method]}</strong>${summary.preferred === method && summary.methods.length > 1 ? ' (preferred)' : ''}</li>`,
  )}</ul>
  <h3>Recovery codes</h3>
  <p class="${low ? 'error' : ''}">${String(summary.recoveryCodesLeft)} recovery code${summary.recoveryCodesLeft === 1 ? '' : 's'} left.${low ? ' Make a new set soon.' : ''}</p>
  <details${errors.regenerate ? html` open` : ''}>
    <summary>Get new recovery codes</summary>
    <p>Your old codes stop working. Confirm with a current passcode or a recovery code.</p>
    <form method="post" action="/profile/two-factor/recovery-codes" novalidate>
      ${csrfField(csrf)}
      ${confirmationFields({ prefix: 'regenerate', error: errors.regenerate ?? null, hasSms: summary.methods.includes('sms') })}
      <button type="submit">Get new recovery codes</button>
    </form>
  </details>
  <h3>Turn off</h3>
  ${required
    ? html`<p>Your account requires two-factor authentication for staff, so it cannot be turned off.</p>`
    : html`<details${errors.disable ? html` open` : ''}>
    <summary>Turn off two-factor authentication</summary>
    <p>Without it, your password alone lets anyone in. Confirm with a current passcode or a recovery code.</p>
    <form method="post" action="/profile/two-factor/disable" data-confirm="Turn off two-factor authentication?" novalidate>
      ${csrfField(csrf)}
      ${confirmationFields({ prefix: 'disable', error: errors.disable ?? null, hasSms: summary.methods.includes('sms') })}
      <button type="submit" class="danger">Turn off</button>
    </form>
  </details>`}
</section>`;
}
