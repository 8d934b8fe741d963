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
      <h2 id="two-factor-heading">${t.t('security.twoFactor.heading')}</h2>
      <p><span class="badge badge-off">${t.t('security.twoFactor.off')}</span> ${t.t('security.twoFactor.offIntro')}</p>
      <p><a class="button primary" href="/profile/two-factor/setup">${t.t('security.twoFactor.enable')}</a></p>
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
      t,
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
  const methodName = (method: (typeof summary.methods)[number]) => t.t(`security.method.${method}`);
  const describe = (method: (typeof summary.methods)[number]) => parts.find((part) => part.type === method)?.name ?? methodName(method);
  const addLinks = parts.flatMap((part) => (part.addLink ? [part.addLink] : []));
  // A factor proven without a code (a key) is what the person is asked for, and may confirm with.
  const key = parts.some((part) => part.askedInsteadOfPasscode) ? 'yes' : 'no';
  return html`${sendConfirmationCodeForms(csrf, '/profile/security', confirmable)}<section class="card" aria-labelledby="two-factor-heading">
  <h2 id="two-factor-heading">${t.t('security.twoFactor.heading')}</h2>
  <p><span class="badge badge-on">${t.t('security.twoFactor.on')}</span> ${t.t('security.twoFactor.onIntro', { key })}</p>
  <ul class="methods">${summary.methods.map(
    (method) =>
      html`<li><strong>${describe(method)}</strong>${summary.preferred === method && summary.methods.length > 1 ? ` ${t.t('security.twoFactor.preferred')}` : ''}</li>`,
  )}</ul>
  ${
    summary.methods.length > 1
      ? html`<form method="post" action="/profile/two-factor/preferred" class="preferred">
          ${csrfField(csrf)}
          <fieldset>
            <legend>${t.t('security.twoFactor.askFirst')}</legend>
            ${summary.methods.map((method) => html`<label class="checkbox"><input type="radio" name="method" value="${method}"${summary.preferred === method ? html` checked` : ''}> ${methodName(method)}</label>`)}
          </fieldset>
          <button type="submit">${t.t('security.twoFactor.savePreferred')}</button>
        </form>`
      : ''
  }
  <p>${addLinks.map((link, i) => (i === 0 ? link : html` · ${link}`))}</p>
  ${parts.map((part) => part.details)}
  <h3>${t.t('security.recovery.heading')}</h3>
  <p class="${low ? 'error' : ''}">${t.t(low ? 'security.recovery.leftLow' : 'security.recovery.left', { count: summary.recoveryCodesLeft })}</p>
  <details${errors.regenerate ? html` open` : ''}>
    <summary>${t.t('security.recovery.regenerate')}</summary>
    <p>${t.t('security.recovery.regenerateIntro', { key })}</p>
    <form method="post" action="/profile/two-factor/recovery-codes" novalidate>
      ${csrfField(csrf)}
      ${confirmWith('regenerate', errors.regenerate ?? null)}
      <button type="submit">${t.t('security.recovery.regenerate')}</button>
    </form>
  </details>
  <h3>${t.t('security.turnOff.heading')}</h3>
  ${
    required
      ? html`<p>${t.t('security.turnOff.required')}</p>`
      : html`<details${errors.disable ? html` open` : ''}>
    <summary>${t.t('security.turnOff.summary')}</summary>
    <p>${t.t('security.turnOff.intro', { key })}</p>
    <form method="post" action="/profile/two-factor/disable" data-confirm="${t.t('security.turnOff.confirm')}" novalidate>
      ${csrfField(csrf)}
      ${confirmWith('disable', errors.disable ?? null)}
      <button type="submit" class="danger">${t.t('security.turnOff.button')}</button>
    </form>
  </details>`
  }
</section>`;
}
