// The "Two-factor authentication" card of Security settings: each enrolled factor as
// its module lists it (http/factors/), the links to add the others, recovery codes and
// turning 2FA off.
import type { Translator } from '../../i18n/translator.js';
import { factorAllowed } from '../../domain/sign-in-decision.js';
import { twoFactorPolicyOf } from '../../services/two-factor-policy.js';
import { twoFactorSummary } from '../../services/profile.js';
import type { SignedIn } from '../../services/sessions.js';
import { requiredByAccount } from '../../services/two-factor.js';
import { confirmationMethods } from '../../services/confirmation.js';
import { HTTP_FACTORS_IN_ORDER } from '../factors/registry.js';
import { html, type Html } from '../html.js';
import { confirmationFields, sendConfirmationCodeForms } from './confirmation-fields.js';
import { csrfField } from './forms.js';
import type { PageKit } from './kit.js';
import { METHOD_NAMES } from './method-names.js';
import type { SecurityPageOptions } from './security-page.js';

/** The "Two-factor authentication" card of Security settings. */
export async function twoFactorSection(
  kit: PageKit,
  signedIn: SignedIn,
  csrf: string,
  t: Translator,
  errors: Pick<SecurityPageOptions, 'itemError'> & { regenerate?: string | null; disable?: string | null } = {},
): Promise<Html> {
  const summary = await twoFactorSummary(kit.deps.db, signedIn.user, kit.deps.now());
  if (!summary.enabled) {
    return html`<section class="card" aria-labelledby="two-factor-heading">
      <h2 id="two-factor-heading">Two-factor authentication</h2>
      <p>
        <span class="badge badge-off">Off</span> After your password, you will also be asked for a 6-digit passcode from your phone. Someone who learns your
        password still cannot sign in as you.
      </p>
      <p><a class="button primary" href="/profile/two-factor/setup">Enable two-factor authentication</a></p>
    </section>`;
  }
  const required = requiredByAccount(signedIn.account, signedIn.user);
  const low = summary.recoveryCodesLeft <= 3;
  const confirmable = await confirmationMethods(kit.deps.db, signedIn.user, signedIn.account);
  const confirmWith = (prefix: string, error: string | null) =>
    confirmationFields({
      prefix,
      error,
      methods: confirmable,
    });
  const policy = twoFactorPolicyOf(signedIn.account);
  const parts = await Promise.all(
    HTTP_FACTORS_IN_ORDER.map(async (factor) => {
      const enrolled = summary.methods.includes(factor.type);
      const itemError = errors.itemError?.factor === factor.type ? errors.itemError : null;
      const part = await factor.securitySection({ kit, t, signedIn, csrf, summary, enrolled, confirmWith, itemError });
      return { type: factor.type, ...part, addLink: factorAllowed(factor.type, policy) ? part.addLink : null };
    }),
  );
  const describe = (method: (typeof summary.methods)[number]) => parts.find((part) => part.type === method)?.name ?? METHOD_NAMES[method];
  const addLinks = parts.flatMap((part) => (part.addLink ? [part.addLink] : []));
  // A factor proven without a code (a key) is what the person is asked for, and may confirm with.
  const askedFor = parts.find((part) => part.askedFor)?.askedFor;
  return html`${sendConfirmationCodeForms(csrf, '/profile/security', confirmable)}<section class="card" aria-labelledby="two-factor-heading">
  <h2 id="two-factor-heading">Two-factor authentication</h2>
  <p><span class="badge badge-on">On</span> You are asked for ${askedFor ?? 'a passcode'} after your password.</p>
  <ul class="methods">${summary.methods.map(
    (method) => html`<li><strong>${describe(method)}</strong>${summary.preferred === method && summary.methods.length > 1 ? ' (preferred)' : ''}</li>`,
  )}</ul>
  ${
    summary.methods.length > 1
      ? html`<form method="post" action="/profile/two-factor/preferred" class="preferred">
          ${csrfField(csrf)}
          <fieldset>
            <legend>Ask me first for</legend>
            ${summary.methods.map((method) => html`<label class="checkbox"><input type="radio" name="method" value="${method}"${summary.preferred === method ? html` checked` : ''}> ${METHOD_NAMES[method]}</label>`)}
          </fieldset>
          <button type="submit">Save preferred method</button>
        </form>`
      : ''
  }
  <p>${addLinks.map((link, i) => (i === 0 ? link : html` · ${link}`))}</p>
  ${parts.map((part) => part.details)}
  <h3>Recovery codes</h3>
  <p class="${low ? 'error' : ''}">${String(summary.recoveryCodesLeft)} recovery code${summary.recoveryCodesLeft === 1 ? '' : 's'} left.${low ? ' Make a new set soon.' : ''}</p>
  <details${errors.regenerate ? html` open` : ''}>
    <summary>Get new recovery codes</summary>
    <p>Your old codes stop working. Confirm with a current passcode${askedFor ? `, ${askedFor}` : ''} or a recovery code.</p>
    <form method="post" action="/profile/two-factor/recovery-codes" novalidate>
      ${csrfField(csrf)}
      ${confirmWith('regenerate', errors.regenerate ?? null)}
      <button type="submit">Get new recovery codes</button>
    </form>
  </details>
  <h3>Turn off</h3>
  ${
    required
      ? html`<p>Your account requires two-factor authentication for staff, so it cannot be turned off.</p>`
      : html`<details${errors.disable ? html` open` : ''}>
    <summary>Turn off two-factor authentication</summary>
    <p>Without it, your password alone lets anyone in. Confirm with a current passcode${askedFor ? `, ${askedFor}` : ''} or a recovery code.</p>
    <form method="post" action="/profile/two-factor/disable" data-confirm="Turn off two-factor authentication?" novalidate>
      ${csrfField(csrf)}
      ${confirmWith('disable', errors.disable ?? null)}
      <button type="submit" class="danger">Turn off</button>
    </form>
  </details>`
  }
</section>`;
}
