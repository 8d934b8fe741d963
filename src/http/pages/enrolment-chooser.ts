// The method chooser of Security settings ("Enable two-factor authentication" / "Add
// a two-factor method"): each factor's card (http/factors/), in the factor list's
// order, each behind a confirmation when adding a factor needs one.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { factorDescriptor } from '../../domain/factors.js';
import { factorAllowed, mustUseSecurityKey } from '../../domain/sign-in-decision.js';
import { addingFactorNeedsConfirmation, confirmationMethods } from '../../services/confirmation.js';
import { twoFactorPolicyOf } from '../../services/two-factor-policy.js';
import { twoFactorSummary } from '../../services/profile.js';
import type { SignedIn } from '../../services/sessions.js';
import type { ChooserState } from '../factors/http-factor.js';
import { HTTP_FACTORS_IN_ORDER } from '../factors/registry.js';
import { html } from '../html.js';
import { confirmationFields, sendConfirmationCodeForms } from './confirmation-fields.js';
import type { PageKit } from './kit.js';

/** Whether this session may only add a key (an admin the account requires one of). */
function onlySecurityKeys(signedIn: SignedIn): boolean {
  return signedIn.session.kind === 'setup' && mustUseSecurityKey(signedIn.user.role, twoFactorPolicyOf(signedIn.account));
}

/** The method choice, each card after its factor's own rules. Each choice may ask for a
 * confirmation first (addingFactorNeedsConfirmation). */
export async function setupPage(
  kit: PageKit,
  request: FastifyRequest,
  reply: FastifyReply,
  signedIn: SignedIn,
  state: ChooserState = {},
  status = 200,
): Promise<FastifyReply> {
  const forced = signedIn.session.kind === 'setup';
  const csrf = kit.csrfToken(request, reply);
  const summary = await twoFactorSummary(kit.deps.db, signedIn.user, kit.deps.now());
  const on = summary.enabled;
  const keysOnly = onlySecurityKeys(signedIn);
  const policy = twoFactorPolicyOf(signedIn.account);
  const confirmable = await confirmationMethods(kit.deps.db, signedIn.user, signedIn.account);
  const confirmationNeeded = addingFactorNeedsConfirmation(signedIn, signedIn.user, kit.deps.now());
  const t = request.i18n;
  const confirmation = (prefix: string, error: string | null | undefined) =>
    confirmationNeeded ? confirmationFields({ prefix, error: error ?? null, methods: confirmable, t }) : '';
  // One card per factor, in the factor list's order (only phishing-resistant ones when
  // the account requires a key of this person); one the account forbids stays empty.
  const offered = HTTP_FACTORS_IN_ORDER.filter((factor) => !keysOnly || factorDescriptor(factor.type).phishingResistant).map((factor) =>
    !factorAllowed(factor.type, policy)
      ? ''
      : factor.chooserCard({
          kit,
          t,
          signedIn,
          csrf,
          summary,
          confirmationNeeded,
          confirmation,
          phishingResistantRequired: keysOnly,
          state: state.card?.factor === factor.type ? state.card : {},
        }),
  );
  return kit.send(
    request,
    reply,
    {
      title: t.t(on ? 'enrol.titleAdd' : 'security.twoFactor.enable'),
      current: 'security',
      notice:
        state.notice ??
        (keysOnly
          ? { kind: 'info', text: t.t('enrol.keysRequired', { account: signedIn.account.name }) }
          : forced
            ? { kind: 'info', text: t.t('enrol.forced') }
            : null),
      body: html` ${confirmationNeeded ? sendConfirmationCodeForms(csrf, '/profile/two-factor/setup', confirmable) : ''}
        <h1>${t.t(on ? 'enrol.titleAdd' : 'security.twoFactor.enable')}</h1>
        <p>${t.t(on ? 'enrol.introAdd' : confirmationNeeded ? 'enrol.introConfirm' : 'enrol.intro')}</p>
        <div class="method-choice">${offered.map((card, i) => (i === 0 ? card : html` ${card}`))}</div>
        ${forced ? '' : html`<p class="aside"><a href="/profile/security">${t.t('common.cancel')}</a></p>`}`,
    },
    status,
  );
}
