// oidc-provider, configured as DESIGN.md's "OpenID Connect" section says: the
// authorization code flow only (PKCE S256, required for public clients), refresh tokens
// rotated on every use, userinfo, revocation, RP-initiated and back-channel logout.
// Tessera's own pages do every interaction (http/oidc/interaction-pages.ts), and
// Tessera's session is the one that counts: the provider's own session only mirrors it
// (the `tessera_session` check below), so signing out of Tessera, a suspension or a
// changed password is seen by the very next authorization request.
import { createHmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import Provider, { interactionPolicy, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { ACR, acrSatisfies, parseAcr } from '../../domain/sign-in-decision.js';
import type { ServiceDeps } from '../../services/deps.js';
import { appRefusal, claimsOf, findOidcApp, findPersonForApp, requirementsOf } from '../../services/oidc.js';
import { oidcAdapterFactory } from '../../services/oidc-adapter.js';
import { authenticate, type SignedIn } from '../../services/sessions.js';
import type { SigningKeySet } from '../../services/signing-keys.js';
import { secretMatches } from '../../crypto/tokens.js';
import { html, raw } from '../html.js';
import { COOKIE, CookiePolicy } from '../request-context.js';
import { renderPage } from '../pages/layout.js';
import { DEFAULT_TIME_ZONE, translatorFor, type Translator } from '../../i18n/translator.js';
import { chooseLanguage, isTimeZone } from '../../domain/languages.js';
import { OIDC_ROUTES, interactionPath } from './routes.js';

const SCOPE_CLAIMS = {
  sid: null,
  // Every ID token says how and when the person signed in, asked for or not (by
  // itself, oidc-provider adds them only on request).
  openid: ['sub', 'acr', 'amr', 'auth_time'],
  email: ['email', 'email_verified'],
  profile: ['name', 'account', 'account_name', 'role'],
};

/** What is read of a request to the provider: its cookies and headers. */
type BrowserRequest = Pick<KoaContextWithOIDC, 'req' | 'cookies' | 'get'>;

/** Tessera's session behind a request, read once per request. */
const sessions = new WeakMap<IncomingMessage, Promise<SignedIn | null>>();
function tesseraSessionOf(deps: ServiceDeps, cookies: CookiePolicy, ctx: BrowserRequest): Promise<SignedIn | null> {
  let found = sessions.get(ctx.req);
  if (!found) {
    const token = ctx.cookies.get(cookies.name(COOKIE.session), { signed: false }) ?? null;
    found = authenticate(deps, token).then((signedIn) => (signedIn?.session.kind === 'full' ? signedIn : null));
    sessions.set(ctx.req, found);
  }
  return found;
}

/** The provider's session stands for exactly one Tessera session: the same person,
 * signed in at the same moment, still allowed into this app with proof enough. */
function tesseraSessionCheck(deps: ServiceDeps, cookies: CookiePolicy): interactionPolicy.Check {
  return new interactionPolicy.Check('tessera_session', 'Sign-in at Tessera is required', 'login_required', async (ctx) => {
    const { oidc } = ctx;
    if (!oidc.session || !oidc.params) return interactionPolicy.Check.REQUEST_PROMPT;
    const signedIn = await tesseraSessionOf(deps, cookies, ctx);
    if (!signedIn || !oidc.session.accountId) return interactionPolicy.Check.REQUEST_PROMPT;
    if (oidc.session.accountId !== signedIn.user.id) return interactionPolicy.Check.REQUEST_PROMPT;
    if (oidc.session.loginTs !== Math.floor(signedIn.session.created_at / 1000)) return interactionPolicy.Check.REQUEST_PROMPT;
    const found = oidc.client ? await findOidcApp(deps, oidc.client.clientId) : null;
    if (!found || appRefusal(found.app, signedIn.user) !== null) return interactionPolicy.Check.REQUEST_PROMPT;
    const requirements = requirementsOf(found.app, { acrValues: oidc.params.acr_values, maxAge: oidc.params.max_age, promptLogin: false });
    const maxAge = requirements.maxAgeSeconds;
    if (!acrSatisfies(parseAcr(signedIn.session.acr), requirements.acr)) return interactionPolicy.Check.REQUEST_PROMPT;
    // max_age against Tessera's own clock and session (the provider checks its copy too).
    if (maxAge !== null && !oidc.result?.login && signedIn.session.created_at < deps.now() - maxAge * 1000) return interactionPolicy.Check.REQUEST_PROMPT;
    return interactionPolicy.Check.NO_NEED_TO_PROMPT;
  });
}

/** The reader's translator on the provider's own pages, chosen as Tessera's pages
 * choose it (pages/kit.ts): the signed-in person's language, their account's default,
 * the language chosen on a sign-in page (its cookie), the browser's, English. A session
 * that cannot be read (the database down, behind an error page) leaves the browser's. */
export async function translatorOfContext(deps: ServiceDeps, cookies: CookiePolicy, ctx: BrowserRequest): Promise<Translator> {
  const signedIn = await tesseraSessionOf(deps, cookies, ctx).catch(() => null);
  const language = chooseLanguage({
    person: signedIn?.user.language ?? null,
    accountDefault: signedIn?.account.default_language ?? null,
    chosenBeforeSignIn: ctx.cookies.get(cookies.name(COOKIE.language), { signed: false }) ?? null,
    acceptLanguage: ctx.get('accept-language'),
  });
  return translatorFor(language, signedIn && isTimeZone(signedIn.user.time_zone) ? signedIn.user.time_zone : DEFAULT_TIME_ZONE);
}

/** The provider's error page. The OAuth `error` code and its `error_description` are
 * protocol values, in English whatever the page's language (RFC 6749 §4.1.2.1). */
function errorPage(t: Translator, productName: string, error: string, description: string | null): string {
  const title = t.t('oidcProvider.error.title');
  return renderPage({
    t,
    title,
    productName,
    csrfToken: '',
    keyOrigin: '',
    narrow: true,
    notice: {
      kind: 'error',
      text: description === null ? t.t('oidcProvider.error.noDescription', { error }) : t.t('oidcProvider.error.description', { description, error }),
    },
    body: html`<h1>${title}</h1><p>${t.t('oidcProvider.error.text')}</p>`,
  });
}

/** A page that moves on by itself to an app's address: what answers a form of the
 * provider's whose result is a redirect to the app (see http/oidc/host.ts). */
export function handOverPage(t: Translator, productName: string, appName: string | null, url: string): string {
  const title = appName === null ? t.t('oidcProvider.handOver.titleUnnamed') : t.t('oidcProvider.handOver.title', { app: appName });
  return renderPage({
    t,
    title,
    productName,
    csrfToken: '',
    keyOrigin: '',
    narrow: true,
    refreshTo: url,
    body: html`<h1>${title}…</h1><p><a href="${url}">${t.t('oidcProvider.handOver.continue')}</a></p>`,
  });
}

export function createOidcProvider(deps: ServiceDeps, keySet: SigningKeySet, options: { onServerError?: (error: unknown) => void }): Provider {
  const cookies = new CookiePolicy(deps.config.baseUrl);
  const productName = deps.config.productName;
  const policy = interactionPolicy.base();
  policy.get('login')!.checks.add(tesseraSessionCheck(deps, cookies), 0);
  // Cookies of the provider are signed with a key of their own, derived from the HMAC key.
  const cookieKey = createHmac('sha256', deps.keys.hmacKey).update('tessera oidc cookie key').digest('base64url');

  const configuration: Configuration = {
    adapter: oidcAdapterFactory({ db: deps.db, keys: deps.keys, now: deps.now }),
    jwks: { keys: keySet.keys as never },
    acrValues: Object.values(ACR),
    claims: SCOPE_CLAIMS,
    scopes: ['openid', 'offline_access', 'email', 'profile'],
    // The ID token carries the claims of its scopes, for apps that never call userinfo.
    conformIdTokenClaims: false,
    responseTypes: ['code'],
    pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
    routes: OIDC_ROUTES,
    cookies: {
      names: { session: 'tessera_oidc_session', interaction: 'tessera_oidc_interaction', resume: 'tessera_oidc_resume' },
      long: { httpOnly: true, sameSite: 'lax', signed: true },
      short: { httpOnly: true, sameSite: 'lax', signed: true },
      keys: [cookieKey],
    },
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          const client = ctx.oidc.client;
          const t = await translatorOfContext(deps, cookies, ctx);
          const asks = client
            ? client.clientName
              ? t.t('oidcProvider.logout.appAsks', { app: client.clientName })
              : t.t('oidcProvider.logout.unnamedAppAsks')
            : null;
          ctx.type = 'html';
          ctx.body = renderPage({
            t,
            title: t.t('oidcProvider.logout.title'),
            productName,
            csrfToken: '',
            keyOrigin: '',
            narrow: true,
            body: html`<h1>${t.t('oidcProvider.logout.heading')}</h1>
<p>${asks === null ? '' : `${asks} `}${t.t('oidcProvider.logout.text', { product: productName })}</p>
${raw(form)}
<button type="submit" class="primary" form="op.logoutForm" name="logout" value="yes" autofocus>${t.t('oidcProvider.logout.signOut')}</button>
<button type="submit" form="op.logoutForm">${t.t('oidcProvider.logout.stay')}</button>`,
          });
        },
        postLogoutSuccessSource: async (ctx) => {
          const t = await translatorOfContext(deps, cookies, ctx);
          ctx.type = 'html';
          ctx.body = renderPage({
            t,
            title: t.t('oidcProvider.signedOut.title'),
            productName,
            csrfToken: '',
            keyOrigin: '',
            narrow: true,
            notice: { kind: 'success', text: t.t('oidcProvider.signedOut.notice') },
            body: html`<p><a href="/sign-in">${t.t('oidcProvider.signedOut.signInAgain')}</a></p>`,
          });
        },
      },
    },
    interactions: { policy, url: (_ctx, interaction) => interactionPath(interaction.uid) },
    ttl: {
      AccessToken: 60 * 60,
      AuthorizationCode: 60,
      IdToken: 60 * 60,
      RefreshToken: 30 * 24 * 60 * 60,
      Interaction: 60 * 60,
      Session: 30 * 24 * 60 * 60,
      Grant: 365 * 24 * 60 * 60,
    },
    // Every refresh grant hands out a new refresh token; the old one, used again, revokes
    // the grant (theft detection).
    rotateRefreshToken: () => true,
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    findAccount: async (ctx, sub, token) => {
      const clientId = token?.clientId ?? ctx.oidc.client?.clientId;
      if (!clientId) return undefined;
      const person = await findPersonForApp(deps, sub, clientId);
      if (!person) return undefined;
      const claims = claimsOf(person);
      return { accountId: sub, claims: () => claims as { sub: string } };
    },
    // Browser apps (public clients) may call the token and userinfo endpoints from the
    // origins of their own redirect addresses; nobody else from a browser.
    clientBasedCORS: (_ctx, origin, client) =>
      client.clientAuthMethod === 'none' && (client.redirectUris ?? []).some((uri) => URL.canParse(uri) && new URL(uri).origin === origin),
    renderError: async (ctx, out) => {
      const t = await translatorOfContext(deps, cookies, ctx);
      ctx.type = 'html';
      const description = typeof out.error_description === 'string' ? out.error_description : null;
      ctx.body = errorPage(t, productName, String(out.error ?? 'error'), description);
    },
    enabledJWA: {
      idTokenSigningAlgValues: ['ES256', 'RS256'],
      userinfoSigningAlgValues: ['ES256', 'RS256'],
    },
  };

  const provider = new Provider(deps.config.baseUrl, configuration);
  // X-Forwarded-* are set by http/oidc/host.ts from TESSERA_BASE_URL alone.
  provider.proxy = true;
  // A confidential app's secret is kept as a SHA-256 only (apps.secret_hash, which
  // the adapter hands over as client_secret): the presented secret is hashed and compared.
  provider.Client.prototype.compareClientSecret = async function (this: { clientSecret?: string }, actual: string) {
    return typeof this.clientSecret === 'string' && this.clientSecret.length === 64 && secretMatches(actual, this.clientSecret);
  };
  // Logout tokens go out through the outbox (durable, retried, never to private
  // addresses): services/oidc.ts signOutOfApps writes them. Nothing is sent from here.
  provider.Client.prototype.backchannelLogout = async function () {};
  provider.on('server_error', (_ctx, error) => options.onServerError?.(error));
  return provider;
}
