// Tessera's pages in an app's sign-in (DESIGN.md, OpenID Connect): oidc-provider sends
// the browser to /interaction/:uid whenever it needs a person signed in or their
// consent. The sign-in itself is Tessera's own flow (password, then the second step on
// /sign-in/two-factor), which comes back here when done.
//
// Finishing after a form: browsers apply the page's CSP `form-action 'self'` to every
// redirect that follows a form post, so a redirect chain from our form to the app's
// address would be blocked. Flows started here therefore return to /continue, which
// hands over with a page that moves on by itself (a new navigation, not a form's).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';
import type { Failure } from '../../domain/failures.js';
import { acrSatisfies, parseAcr, type FlowRequirements } from '../../domain/sign-in-decision.js';
import { appRefusal, askForStrongerSignIn, findOidcApp, requirementsOf, signedInForInteraction, type AppRefusal } from '../../services/oidc.js';
import { finishPasskeySignIn } from '../../services/passkeys.js';
import { endSession } from '../../services/sessions.js';
import { signInWithPassword } from '../../services/sign-in.js';
import type { SignedIn } from '../../services/sessions.js';
import type { Account, App } from '../../store/schema.js';
import { messageFor } from '../errors.js';
import { html, type Html } from '../html.js';
import type { Translator } from '../../i18n/translator.js';
import { COOKIE, requestContext } from '../request-context.js';
import { csrfField, field, formString } from '../pages/forms.js';
import { DEVICE_COOKIE_MAX_AGE_IN_SECONDS, type PageKit } from '../pages/kit.js';
import { passkeyForm, sendCodeIfPreferred } from '../pages/sign-in-pages.js';
import { securityKeysAvailable } from '../../services/webauthn.js';
import type { OidcHost } from './host.js';
import { OIDC_ROUTES, interactionPath } from './routes.js';

interface InteractionDetails {
  uid: string;
  params: Record<string, unknown>;
  prompt: { name: string; reasons: string[]; details: Record<string, unknown> };
  session?: { accountId?: string };
  grantId?: string;
}

interface Loaded {
  provider: Provider;
  interaction: InteractionDetails;
  app: App;
  account: Account;
  requirements: FlowRequirements;
}

/** The requirements of a sign-in started on an app's page. Every proof of it is new, so
 * `max_age` is met by the sign-in itself; were it kept, proofs would age out while the
 * person types (max_age=0 could never be met). It still means "everything again": a
 * trusted computer skips nothing, as under prompt=login. */
function freshSignIn(requirements: FlowRequirements): FlowRequirements {
  return { ...requirements, maxAgeSeconds: null, promptLogin: requirements.promptLogin || requirements.maxAgeSeconds !== null };
}

function refusalText(t: Translator, refusal: AppRefusal, app: App, account: Account, signedIn: SignedIn): string {
  return t.t(`oidc.refusal.${refusal}`, { app: app.name, account: account.name, current: signedIn.account.name });
}

export function registerInteractionPages(pages: FastifyInstance, kit: PageKit, host: OidcHost): void {
  const passkeys = securityKeysAvailable(kit.deps);
  const expired = (request: FastifyRequest, reply: FastifyReply) =>
    kit.send(
      request,
      reply,
      {
        title: request.i18n.t('oidc.expired.title'),
        narrow: true,
        notice: { kind: 'error', text: request.i18n.t('oidc.expired.notice') },
        body: html`<p>${request.i18n.t('oidc.expired.text')}</p>`,
      },
      400,
    );

  async function load(request: FastifyRequest, reply: FastifyReply): Promise<Loaded | null> {
    const provider = await host.provider();
    let interaction: InteractionDetails;
    try {
      interaction = (await provider.interactionDetails(request.raw, reply.raw)) as unknown as InteractionDetails;
    } catch {
      expired(request, reply);
      return null;
    }
    if (interaction.uid !== (request.params as { uid: string }).uid) {
      expired(request, reply);
      return null;
    }
    const found = typeof interaction.params.client_id === 'string' ? await findOidcApp(kit.deps, interaction.params.client_id) : null;
    if (!found) {
      expired(request, reply);
      return null;
    }
    const requirements = requirementsOf(found.app, {
      acrValues: interaction.params.acr_values,
      maxAge: interaction.params.max_age,
      promptLogin: interaction.prompt.reasons.includes('login_prompt'),
    });
    return { provider, interaction, app: found.app, account: found.account, requirements };
  }

  /** Whether the Tessera session is recent enough for this request: signed in for it,
   * or (without prompt=login) within its max_age. */
  async function freshEnough(loaded: Loaded, signedIn: SignedIn): Promise<boolean> {
    const { requirements, interaction } = loaded;
    if (await signedInForInteraction(kit.deps, signedIn.session, interactionPath(interaction.uid))) return true;
    if (requirements.promptLogin) return false;
    return requirements.maxAgeSeconds === null || signedIn.session.created_at >= kit.deps.now() - requirements.maxAgeSeconds * 1000;
  }

  const signInForm = (request: FastifyRequest, reply: FastifyReply, loaded: Loaded, values: { email: string }, failure: Failure | null, status = 200) => {
    const { app, account, interaction } = loaded;
    const t = request.i18n;
    return kit.send(
      request,
      reply,
      {
        title: t.t('signIn.titleFor', { host: app.name }),
        narrow: true,
        notice: failure ? { kind: 'error', text: messageFor(failure, t) } : null,
        body: html`
<h1>${t.t('signIn.titleFor', { host: app.name })}</h1>
<p class="aside">${account.name}</p>
<form method="post" action="${interactionPath(interaction.uid)}/sign-in" novalidate>
  ${csrfField(kit.csrfToken(request, reply))}
  ${field({ name: 'email', label: t.t('signIn.email'), type: 'email', value: values.email, autocomplete: passkeys ? 'username webauthn' : 'username', autofocus: values.email === '' })}
  ${field({ name: 'password', label: t.t('signIn.password'), type: 'password', autocomplete: 'current-password', autofocus: values.email !== '' })}
  <button type="submit" class="primary">${t.t('signIn.submit')}</button>
</form>
${passkeys ? passkeyForm(kit.csrfToken(request, reply), { next: `${interactionPath(interaction.uid)}/continue`, account: account.slug, action: `${interactionPath(interaction.uid)}/passkey` }, t) : ''}
<p class="aside"><a href="/password/forgot">${t.t('signIn.forgot')}</a></p>
${cancelForm(request, reply, loaded, 'access_denied', t.t('layout.backTo', { product: app.name }))}`,
      },
      status,
    );
  };

  const cancelForm = (request: FastifyRequest, reply: FastifyReply, loaded: Loaded, error: string, label: string): Html => html`
<form method="post" action="${interactionPath(loaded.interaction.uid)}/abort" class="inline">
  ${csrfField(kit.csrfToken(request, reply))}
  <input type="hidden" name="error" value="${error}">
  <button type="submit" class="link">${label}</button>
</form>`;

  /** Hands the result to oidc-provider and sends the browser on. */
  async function finish(request: FastifyRequest, reply: FastifyReply, loaded: Loaded, result: Record<string, unknown>, afterForm: boolean) {
    const url = await loaded.provider.interactionResult(request.raw, reply.raw, result as never, { mergeWithLastSubmission: true });
    if (!afterForm) return reply.redirect(url, 303);
    const t = request.i18n;
    return kit.send(request, reply, {
      title: t.t('continuing.title', { name: loaded.app.name }),
      narrow: true,
      refreshTo: url,
      body: html`<h1>${t.t('continuing.heading', { name: loaded.app.name })}</h1><p><a href="${url}">${t.t('continuing.link')}</a></p>`,
    });
  }

  /** Gives the app every scope and claim it asked for (first-party apps, or after the
   * person said yes). */
  async function grantAll(loaded: Loaded, personId: string): Promise<string> {
    const { provider, interaction } = loaded;
    const existing = interaction.grantId ? await provider.Grant.find(interaction.grantId) : undefined;
    const grant = existing ?? new provider.Grant({ accountId: personId, clientId: loaded.app.id });
    const details = interaction.prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
    if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(details.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
    return grant.save();
  }

  const SCOPES = ['openid', 'email', 'profile', 'offline_access'] as const;
  const isScope = (scope: string): scope is (typeof SCOPES)[number] => (SCOPES as readonly string[]).includes(scope);

  async function proceed(request: FastifyRequest, reply: FastifyReply, afterForm: boolean) {
    const loaded = await load(request, reply);
    if (!loaded) return reply;
    const { interaction, app, account, requirements } = loaded;
    const signedIn = request.signedIn?.session.kind === 'full' ? request.signedIn : null;
    if (!signedIn || !(await freshEnough(loaded, signedIn))) {
      const email =
        signedIn?.account.id === account.id
          ? signedIn.user.email
          : typeof interaction.params.login_hint === 'string'
            ? interaction.params.login_hint.slice(0, 254)
            : '';
      return signInForm(request, reply, loaded, { email }, null);
    }
    const t = request.i18n;
    const refusal = appRefusal(app, signedIn.user);
    if (refusal !== null) {
      return kit.send(
        request,
        reply,
        {
          title: t.t('refused.title', { name: app.name }),
          narrow: true,
          notice: { kind: 'error', text: refusalText(t, refusal, app, account, signedIn) },
          body: html`<h1>${t.t('refused.title', { name: app.name })}</h1>
${
  refusal === 'other_account'
    ? html`<form method="post" action="${interactionPath(interaction.uid)}/switch">
  ${csrfField(kit.csrfToken(request, reply))}
  <button type="submit" class="primary">${t.t('oidc.switchAccount')}</button>
</form>`
    : ''
}
${cancelForm(request, reply, loaded, 'access_denied', t.t('layout.backTo', { product: app.name }))}`,
        },
        403,
      );
    }
    if (!acrSatisfies(parseAcr(signedIn.session.acr), requirements.acr)) {
      const stepUp = await askForStrongerSignIn(
        kit.deps,
        { session: signedIn.session, account: signedIn.account, user: signedIn.user, requirements, returnTo: `${interactionPath(interaction.uid)}/continue` },
        requestContext(request),
      );
      if (stepUp === null) return signInForm(request, reply, loaded, { email: signedIn.user.email }, null);
      if (!stepUp.ok) return unmetPage(request, reply, loaded);
      return kit.followOutcome(reply, stepUp.value, null);
    }

    if (interaction.prompt.name === 'login') {
      const login = {
        accountId: signedIn.user.id,
        acr: signedIn.session.acr ?? undefined,
        amr: signedIn.session.amr ? (JSON.parse(signedIn.session.amr) as string[]) : undefined,
        ts: Math.floor(signedIn.session.created_at / 1000),
        remember: true,
      };
      return finish(request, reply, loaded, { login }, afterForm);
    }
    if (interaction.prompt.name === 'consent') {
      if (interaction.session?.accountId !== signedIn.user.id) return expired(request, reply);
      if (app.first_party === 1) return finish(request, reply, loaded, { consent: { grantId: await grantAll(loaded, signedIn.user.id) } }, afterForm);
      const scopes = String(interaction.params.scope ?? 'openid')
        .split(' ')
        .filter(isScope);
      return kit.send(request, reply, {
        title: t.t('oidc.consent.title', { app: app.name }),
        narrow: true,
        body: html`<h1>${t.t('oidc.consent.heading', { app: app.name })}</h1>
<p>${t.t('oidc.consent.learns', { app: app.name, account: account.name })}</p>
<ul>${scopes.map((scope) => html`<li>${t.t(`oidc.scope.${scope}`)}</li>`)}</ul>
<p class="aside">${t.t('oidc.consent.withdraw')}</p>
<form method="post" action="${interactionPath(interaction.uid)}/consent">
  ${csrfField(kit.csrfToken(request, reply))}
  <button type="submit" class="primary">${t.t('oidc.consent.allow')}</button>
</form>
${cancelForm(request, reply, loaded, 'access_denied', t.t('oidc.consent.deny'))}`,
      });
    }
    return expired(request, reply);
  }

  const unmetPage = (request: FastifyRequest, reply: FastifyReply, loaded: Loaded) => {
    const t = request.i18n;
    const app = loaded.app.name;
    return kit.send(
      request,
      reply,
      {
        title: t.t('oidc.unmet.title', { app }),
        narrow: true,
        notice: { kind: 'error', text: t.t('oidc.unmet.notice', { app }) },
        body: html`<h1>${t.t('oidc.unmet.title', { app })}</h1>
<p>${t.parts<Html>('oidc.unmet.text', { app }, { link: (chunks) => html`<a href="/profile/security">${chunks}</a>` })}</p>
${cancelForm(request, reply, loaded, 'unmet_authentication_requirements', t.t('layout.backTo', { product: app }))}`,
      },
      403,
    );
  };

  pages.get('/interaction/:uid', async (request, reply) => proceed(request, reply, false));
  pages.get('/interaction/:uid/continue', async (request, reply) => proceed(request, reply, true));

  pages.post('/interaction/:uid/sign-in', async (request, reply) => {
    if (!kit.checkCsrf(request, reply)) return reply;
    const loaded = await load(request, reply);
    if (!loaded) return reply;
    const email = formString(request.body, 'email');
    const result = await signInWithPassword(
      kit.deps,
      {
        account: loaded.account.slug,
        email,
        password: formString(request.body, 'password'),
        trustedDeviceToken: kit.cookies.read(request, COOKIE.trustedDevice),
        returnTo: `${interactionPath(loaded.interaction.uid)}/continue`,
        requirements: freshSignIn(loaded.requirements),
      },
      requestContext(request),
    );
    if (!result.ok) {
      if (result.failure.retryAfterSeconds !== undefined) reply.header('retry-after', String(result.failure.retryAfterSeconds));
      if (result.failure.code === 'unmet_authentication_requirements') return unmetPage(request, reply, loaded);
      return signInForm(request, reply, loaded, { email }, result.failure, result.failure.code === 'rate_limited' ? 429 : 401);
    }
    if (result.value.status === 'signed_in' && result.value.trustedDeviceToken) {
      kit.cookies.set(reply, COOKIE.trustedDevice, result.value.trustedDeviceToken, DEVICE_COOKIE_MAX_AGE_IN_SECONDS);
    }
    kit.cookies.set(reply, COOKIE.lastAccount, loaded.account.slug, DEVICE_COOKIE_MAX_AGE_IN_SECONDS);
    await sendCodeIfPreferred(kit, result.value, request);
    return kit.followOutcome(reply, result.value, null);
  });

  // A passkey on the app's sign-in page (its options fixed to the app's account): a
  // refusal shows this page again, the app's, with the reason.
  pages.post('/interaction/:uid/passkey', async (request, reply) => {
    if (!kit.checkCsrf(request, reply)) return reply;
    const loaded = await load(request, reply);
    if (!loaded) return reply;
    const result = await finishPasskeySignIn(
      kit.deps,
      { flowToken: formString(request.body, 'flow_token'), credential: formString(request.body, 'credential', 16_384) },
      requestContext(request),
    );
    if (!result.ok) {
      if (result.failure.retryAfterSeconds !== undefined) reply.header('retry-after', String(result.failure.retryAfterSeconds));
      const limited = result.failure.code === 'rate_limited' || result.failure.code === 'two_factor_locked';
      return signInForm(request, reply, loaded, { email: '' }, result.failure, limited ? 429 : 401);
    }
    kit.cookies.set(reply, COOKIE.lastAccount, loaded.account.slug, DEVICE_COOKIE_MAX_AGE_IN_SECONDS);
    return kit.followOutcome(reply, result.value, null);
  });

  pages.post('/interaction/:uid/consent', async (request, reply) => {
    if (!kit.checkCsrf(request, reply)) return reply;
    const loaded = await load(request, reply);
    if (!loaded) return reply;
    const signedIn = request.signedIn?.session.kind === 'full' ? request.signedIn : null;
    if (loaded.interaction.prompt.name !== 'consent' || !signedIn || loaded.interaction.session?.accountId !== signedIn.user.id) {
      return expired(request, reply);
    }
    if (appRefusal(loaded.app, signedIn.user) !== null) return expired(request, reply);
    return finish(request, reply, loaded, { consent: { grantId: await grantAll(loaded, signedIn.user.id) } }, true);
  });

  pages.post('/interaction/:uid/abort', async (request, reply) => {
    if (!kit.checkCsrf(request, reply)) return reply;
    const loaded = await load(request, reply);
    if (!loaded) return reply;
    const error = formString(request.body, 'error') === 'unmet_authentication_requirements' ? 'unmet_authentication_requirements' : 'access_denied';
    const description =
      error === 'access_denied' ? 'The person did not sign in or did not allow the app.' : 'The person cannot give the sign-in the app asked for.';
    return finish(request, reply, loaded, { error, error_description: description }, true);
  });

  // Signed in to another account: sign out, then start the app's request again.
  pages.post('/interaction/:uid/switch', async (request, reply) => {
    if (!kit.checkCsrf(request, reply)) return reply;
    const loaded = await load(request, reply);
    if (!loaded) return reply;
    if (request.signedIn) await endSession(kit.deps, request.signedIn, requestContext(request));
    kit.clearSession(reply);
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(loaded.interaction.params)) if (typeof value === 'string') params.set(name, value);
    return reply.redirect(`${OIDC_ROUTES.authorization}?${params.toString()}`, 303);
  });
}
