// The pages of forward-auth (DESIGN.md, Forward-auth): the sign-in page for a guarded
// host (`/sign-in?rd=…`, in sign-in-pages.ts), the hand-over back to the host after it
// (`/proxy/continue`), and the refusal a proxy shows (403).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppRefusal } from '../../services/oidc.js';
import { askForStrongerSignIn } from '../../services/oidc.js';
import { guardedReturnAddress, proxyRefusal, type GuardedApp } from '../../services/forward-auth.js';
import { forwardAuthTokenFor, type SignedIn } from '../../services/sessions.js';
import { NO_REQUIREMENTS, storedAcr } from '../../domain/sign-in-decision.js';
import { html } from '../html.js';
import { COOKIE, requestContext } from '../request-context.js';
import { translatorForPerson, type Translator } from '../../i18n/translator.js';
import { renderPage } from '../pages/layout.js';
import type { PageKit } from '../pages/kit.js';

export function refusalText(t: Translator, reason: AppRefusal | 'stronger_sign_in', guarded: GuardedApp, url: URL, signedIn: SignedIn): string {
  return t.t(`proxy.refusal.${reason}`, { host: url.host, account: guarded.account.name, current: signedIn.account.name });
}

/** The 403 a proxy shows (Caddy and Traefik pass the body on). */
export function refusalPage(
  answer: GuardedApp & { reason: AppRefusal | 'stronger_sign_in'; signedIn: SignedIn },
  url: URL,
  baseUrl: string,
  productName: string,
): string {
  const signIn = `${baseUrl}/sign-in?rd=${encodeURIComponent(url.toString())}`;
  const t = translatorForPerson(answer.signedIn.user, answer.signedIn.account);
  return renderPage({
    t,
    title: t.t('refused.title', { name: url.host }),
    productName,
    csrfToken: '',
    keyOrigin: '',
    narrow: true,
    notice: { kind: 'error', text: refusalText(t, answer.reason, answer, url, answer.signedIn) },
    body: html`<h1>${t.t('refused.title', { name: url.host })}</h1>
<p>${
      answer.reason === 'stronger_sign_in'
        ? html`<a href="${signIn}">${t.t('proxy.signInWithKey')}</a>`
        : html`<a href="${baseUrl}/profile/security">${t.t('proxy.goTo', { product: productName })}</a>`
    }</p>`,
  });
}

/** Whether the person is in for the guarded host; sends the page that says what next otherwise. */
async function handOver(kit: PageKit, request: FastifyRequest, reply: FastifyReply, signedIn: SignedIn, target: GuardedApp & { url: URL }, afterForm: boolean) {
  const reason = proxyRefusal(target.app, signedIn);
  if (reason === 'stronger_sign_in') {
    const requirements = { ...NO_REQUIREMENTS, acr: storedAcr(target.app.required_acr) };
    const stepUp = await askForStrongerSignIn(
      kit.deps,
      { session: signedIn.session, account: signedIn.account, user: signedIn.user, requirements, returnTo: continuePath(target.url) },
      requestContext(request),
    );
    if (stepUp?.ok) return kit.followOutcome(reply, stepUp.value, null);
  }
  if (reason !== null) {
    return kit.send(
      request,
      reply,
      {
        title: request.i18n.t('refused.title', { name: target.url.host }),
        narrow: true,
        notice: { kind: 'error', text: refusalText(request.i18n, reason, target, target.url, signedIn) },
        body: html`<h1>${request.i18n.t('refused.title', { name: target.url.host })}</h1><p><a href="/profile/security">${request.i18n.t('proxy.goToSecurity')}</a></p>`,
      },
      403,
    );
  }
  // Sessions from before TESSERA_COOKIE_DOMAIN was set get their forward-auth cookie now.
  const sessionToken = kit.cookies.read(request, COOKIE.session);
  const forwardAuth = sessionToken ? forwardAuthTokenFor(kit.deps.keys, sessionToken) : null;
  if (forwardAuth && kit.cookies.readForwardAuth(request) !== forwardAuth) {
    kit.cookies.setForwardAuth(reply, forwardAuth, Math.max(1, Math.floor((signedIn.session.expires_at - kit.deps.now()) / 1000)));
  }
  const to = target.url.toString();
  if (!afterForm) return reply.redirect(to, 303);
  // After a form, a redirect to another host would meet the page's `form-action 'self'`:
  // the hand-over is a page that moves on by itself.
  return kit.send(request, reply, {
    title: request.i18n.t('continuing.title', { name: target.url.host }),
    narrow: true,
    refreshTo: to,
    body: html`<h1>${request.i18n.t('continuing.heading', { name: target.url.host })}</h1><p><a href="${to}">${request.i18n.t('continuing.link')}</a></p>`,
  });
}

export function continuePath(url: URL): string {
  return `/proxy/continue?rd=${encodeURIComponent(url.toString())}`;
}

export function registerForwardAuthPages(pages: FastifyInstance, kit: PageKit): void {
  pages.get('/proxy/continue', async (request, reply) => {
    const signedIn = kit.requireFull(request, reply);
    if (!signedIn) return reply;
    const target = await guardedReturnAddress(kit.deps, (request.query as { rd?: unknown }).rd);
    if (!target) return reply.redirect('/profile/security', 303);
    return handOver(kit, request, reply, signedIn, target, true);
  });
}

/** For the sign-in page: a signed-in person asked to sign in for a guarded host. */
export async function sendSignedInTo(kit: PageKit, request: FastifyRequest, reply: FastifyReply, signedIn: SignedIn, target: GuardedApp & { url: URL }) {
  return handOver(kit, request, reply, signedIn, target, false);
}
