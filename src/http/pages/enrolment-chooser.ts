// The method chooser of Security settings ("Enable two-factor authentication" / "Add
// a two-factor method"): one card per factor, in the factor list's order
// (domain/factors.ts), each behind a confirmation when adding a factor needs one.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { FACTOR_TYPES, type FactorType } from '../../domain/factors.js';
import { countryOptions, isCountryCode, parseCountryList } from '../../domain/phone-numbers.js';
import { factorAllowed } from '../../domain/sign-in-decision.js';
import { addingFactorNeedsConfirmation, confirmationMethods } from '../../services/confirmation.js';
import { twoFactorPolicyOf } from '../../services/two-factor-policy.js';
import { twoFactorSummary } from '../../services/profile.js';
import type { SignedIn } from '../../services/sessions.js';
import { smsAvailable } from '../../services/sms-sending.js';
import { justProvedPasscode } from '../../services/webauthn.js';
import { messageFor } from '../errors.js';
import { html, type Html } from '../html.js';
import { confirmationFields, sendConfirmationCodeForms } from './confirmation-fields.js';
import { csrfField, field } from './forms.js';
import type { PageKit } from './kit.js';
import { onlySecurityKeys, securityKeyCard } from './security-key-card.js';

export interface SetupState {
  totpError?: string | null;
  /** About the confirmation of the text-message form. */
  smsError?: string | null;
  phoneError?: string | null;
  phone?: string;
  country?: string;
  /** About adding a security key (its confirmation or the key's answer). */
  keyError?: string | null;
  keyName?: string;
  /** About turning on emailed codes (its confirmation or the account's refusal). */
  emailError?: string | null;
  notice?: { kind: 'info' | 'success' | 'error'; text: string } | null;
}

function countrySelect(selected: string, allowList: string[] | null): Html {
  return html`<div class="field">
    <label for="field-country">Country</label>
    <select id="field-country" name="country" autocomplete="country">
      ${countryOptions(allowList).map(
        (option) => html`<option value="${option.code}"${option.code === selected ? html` selected` : ''}>${option.name} (+${option.callingCode})</option>`,
      )}
    </select>
  </div>`;
}

/** The method choice: the app (recommended) and text messages (the weaker one). Each
 * choice may ask for a confirmation first (addingFactorNeedsConfirmation). */
export async function setupPage(
  kit: PageKit,
  request: FastifyRequest,
  reply: FastifyReply,
  signedIn: SignedIn,
  state: SetupState = {},
  status = 200,
): Promise<FastifyReply> {
  const forced = signedIn.session.kind === 'setup';
  const csrf = kit.csrfToken(request, reply);
  const summary = await twoFactorSummary(kit.deps.db, signedIn.user, kit.deps.now());
  const on = summary.enabled;
  const hasTotp = summary.methods.includes('totp');
  const hasSms = summary.methods.includes('sms');
  const hasEmail = summary.methods.includes('email');
  const allowList = parseCountryList(signedIn.account.sms_allowed_countries);
  const defaultCountry = state.country && isCountryCode(state.country) ? state.country : signedIn.account.country;
  const keysOnly = onlySecurityKeys(signedIn);
  const confirmable = await confirmationMethods(kit.deps.db, signedIn.user, signedIn.account);
  const confirmationNeeded = addingFactorNeedsConfirmation(signedIn, signedIn.user, kit.deps.now());
  const confirmation = (prefix: string, error: string | null | undefined) =>
    confirmationNeeded ? confirmationFields({ prefix, error: error ?? null, methods: confirmable }) : '';
  const keyNeedsConfirmation = confirmationNeeded && !justProvedPasscode(signedIn, kit.deps.now());
  const keyCard = securityKeyCard(kit, {
    csrf,
    confirmation: keyNeedsConfirmation ? confirmation('key', state.keyError) : '',
    error: keyNeedsConfirmation ? null : state.keyError,
    required: keysOnly,
    name: state.keyName,
  });
  const appCard = hasTotp
    ? ''
    : html`<section class="card">
        <h2>Use an authenticator app</h2>
        <p>
          <strong>Recommended.</strong> An app on your phone makes a new passcode every 30 seconds, even without a connection, and nobody can redirect it to
          another phone.
        </p>
        <form method="post" action="/profile/two-factor/totp" novalidate>
          ${csrfField(csrf)} ${confirmation('totp', state.totpError)}
          ${!confirmationNeeded && state.totpError ? html`<p class="error" role="alert">${state.totpError}</p>` : ''}
          <button type="submit" class="primary">Use an authenticator app</button>
        </form>
      </section>`;
  const smsCard = !smsAvailable(kit.deps)
    ? html`<section class="card">
        <h2>Text messages</h2>
        <p>${messageFor({ code: 'sms_unavailable' })}</p>
      </section>`
    : html`<section class="card">
        <h2>${hasSms ? 'Change your phone number' : 'Use text messages'}</h2>
        <p class="notice notice-info">
          Text messages are the weaker method: a text can be intercepted, or your number moved to another SIM card by someone who fools your phone company. Use
          an authenticator app if you can.
        </p>
        <form method="post" action="/profile/two-factor/sms" novalidate>
          ${csrfField(csrf)} ${countrySelect(defaultCountry, allowList)}
          ${field({ name: 'phone', label: 'Mobile phone number', type: 'tel', autocomplete: 'tel', value: state.phone ?? '', error: state.phoneError ?? (!confirmationNeeded ? (state.smsError ?? null) : null), hint: 'We text a 6-digit code to it now, and whenever you sign in.', maxlength: 40 })}
          ${confirmation('sms', state.smsError)}
          <button type="submit">Text me a code</button>
        </form>
      </section>`;
  const emailCard =
    hasEmail || !factorAllowed('email', twoFactorPolicyOf(signedIn.account))
      ? ''
      : html`<section class="card">
          <h2>Use emailed codes</h2>
          <p class="notice notice-info">
            Emailed codes are the weakest method: whoever gets into your mailbox gets your codes too. Use them if you have no phone for an app or texts.
          </p>
          <form method="post" action="/profile/two-factor/email" novalidate>
            ${csrfField(csrf)} ${confirmation('email', state.emailError)}
            ${!confirmationNeeded && state.emailError ? html`<p class="error" role="alert">${state.emailError}</p>` : ''}
            <p class="hint">We email a 6-digit code to ${signedIn.user.email} now, and whenever you sign in with it.</p>
            <button type="submit">Email me a code</button>
          </form>
        </section>`;
  // One card per factor a person can add, in the factor list's order.
  const cards: Record<FactorType, Html | ''> = { webauthn: keyCard, totp: appCard, sms: smsCard, email: emailCard };
  const offered = FACTOR_TYPES.filter((type) => !keysOnly || type === 'webauthn').map((type) => cards[type]);
  return kit.send(
    request,
    reply,
    {
      title: on ? 'Add a two-factor method' : 'Enable two-factor authentication',
      current: 'security',
      notice:
        state.notice ??
        (keysOnly
          ? { kind: 'info', text: `${signedIn.account.name} requires admins to sign in with a security key or passkey. Add one to continue.` }
          : forced
            ? { kind: 'info', text: 'Set up two-factor authentication to continue. It takes a minute.' }
            : null),
      body: html` ${confirmationNeeded ? sendConfirmationCodeForms(csrf, '/profile/two-factor/setup', confirmable) : ''}
        <h1>${on ? 'Add a two-factor method' : 'Enable two-factor authentication'}</h1>
        <p>
          ${on ? 'Adding a method, or changing your phone number, needs a current passcode or a recovery code first.' : confirmationNeeded ? 'Choose what you will use after your password, and confirm with your password.' : 'Choose what you will use after your password.'}
        </p>
        <div class="method-choice">${offered.map((card, i) => (i === 0 ? card : html` ${card}`))}</div>
        ${forced ? '' : html`<p class="aside"><a href="/profile/security">Cancel</a></p>`}`,
    },
    status,
  );
}
