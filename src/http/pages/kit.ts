// What every page handler needs: rendering with the frame, CSRF, cookies and the
// signed-in person from the session cookie.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServiceDeps } from '../../services/deps.js';
import type { SignInOutcome } from '../../services/sign-in-flow.js';
import { twoFactorPolicyOf } from '../../services/two-factor-policy.js';
import { authenticate, forwardAuthTokenFor, type SignedIn } from '../../services/sessions.js';
import { Csrf } from '../csrf.js';
import { html, type Html } from '../html.js';
import { LANGUAGES, chooseLanguage, isTimeZone, parseLanguage, type Language } from '../../domain/languages.js';
import { DEFAULT_TIME_ZONE, translatorFor, type Translator } from '../../i18n/translator.js';
import { PSEUDO_LOCALE, pseudoTranslator } from '../../i18n/pseudo.js';
import { enrolmentDeadline } from '../../domain/sign-in-decision.js';
import { COOKIE, CookiePolicy } from '../request-context.js';
import { renderPage, type PageFrame } from './layout.js';
import { safeNextPath } from './forms.js';
import { createHmac, randomBytes } from 'node:crypto';

export type PageContent = Omit<PageFrame, 'productName' | 'keyOrigin' | 'csrfToken' | 'signedIn' | 't' | 'languageLinks'>;

/** Where a setup-only session is sent: it may do nothing but enrol. */
export const ENROL_PATH = '/profile/two-factor/setup';

const CHALLENGE_COOKIE_MAX_AGE_IN_SECONDS = 10 * 60;
/** Browsers cap cookie lifetimes at 400 days; trust itself expires server-side. */
export const DEVICE_COOKIE_MAX_AGE_IN_SECONDS = 400 * 24 * 60 * 60;

/** Query parameters a language link carries over: a return path only when it is one of
 * ours, and a link's token; never `rd` or anything else a page did not accept. */
const KEPT_PARAMETERS = ['account', 'token'] as const;

/** The page at `url` in each language: its path, `lang` set, safe parameters kept. */
function languageLinks(url: string): Record<Language, string> {
  const parsed = new URL(url, 'http://page.invalid');
  const kept = new URLSearchParams();
  const next = safeNextPath(parsed.searchParams.get('next'));
  if (next) kept.set('next', next);
  for (const name of KEPT_PARAMETERS) {
    const value = parsed.searchParams.get(name);
    if (value !== null) kept.set(name, value.slice(0, 512));
  }
  return Object.fromEntries(
    LANGUAGES.map((language) => {
      kept.set('lang', language);
      return [language, `${parsed.pathname}?${kept.toString()}`];
    }),
  ) as Record<Language, string>;
}

/** A reader whose language settings are known: the signed-in person, or the person of a sign-in flow. */
interface KnownReader {
  user: { language: string | null; time_zone: string | null };
  account: { default_language: string | null };
}

export class PageKit {
  readonly cookies: CookiePolicy;
  readonly csrf: Csrf;

  constructor(readonly deps: ServiceDeps) {
    this.cookies = new CookiePolicy(deps.config.baseUrl, deps.config.cookieDomain);
    const csrfKey = createHmac('sha256', deps.keys.hmacKey).update('tessera csrf key').digest();
    this.csrf = new Csrf(csrfKey, this.cookies);
  }

  get productName(): string {
    return this.deps.config.productName;
  }

  get keyOrigin(): string {
    return new URL(this.deps.config.baseUrl).origin;
  }

  send(request: FastifyRequest, reply: FastifyReply, content: PageContent, status = 200): FastifyReply {
    const csrfToken = this.csrf.tokenFor(request, reply);
    const banner = content.banner ?? this.enrolmentBanner(request.signedIn, request.i18n);
    return reply
      .code(status)
      .type('text/html; charset=utf-8')
      .send(
        renderPage({
          ...content,
          banner,
          t: request.i18n,
          languageLinks: request.signedIn ? null : languageLinks(request.url),
          productName: this.productName,
          keyOrigin: this.keyOrigin,
          csrfToken,
          signedIn: request.signedIn,
        }),
      );
  }

  /** DESIGN.md "Languages": the person's choice, their account's default, a choice made
   * on a sign-in page (`?lang=`, kept in a cookie until someone is known), the browser,
   * English; the person's time zone, else UTC. */
  translatorOf(request: FastifyRequest, reply: FastifyReply): Translator {
    const query = (request.query as Record<string, unknown> | undefined)?.lang;
    if (query === PSEUDO_LOCALE && this.pseudoLocaleAllowed) this.cookies.set(reply, COOKIE.language, PSEUDO_LOCALE, DEVICE_COOKIE_MAX_AGE_IN_SECONDS);
    const asked = parseLanguage(query);
    if (asked) this.cookies.set(reply, COOKIE.language, asked, DEVICE_COOKIE_MAX_AGE_IN_SECONDS);
    return this.chooseTranslator(request, request.signedIn, asked);
  }

  /** The same choice for a person known before they are signed in (the passcode page
   * knows them from their sign-in flow): their language and their account's default
   * come before the sign-in page's choice and the browser, as once signed in. */
  translatorOfPerson(request: FastifyRequest, person: KnownReader): Translator {
    return this.chooseTranslator(request, person, null);
  }

  /** The pseudo-locale (i18n/pseudo.ts) is for layout checks in development and tests:
   * a production server never shows it, whatever the address or cookie says. */
  private get pseudoLocaleAllowed(): boolean {
    return this.deps.config.mode === 'development';
  }

  /** `?lang=x-pseudo`, or its cookie until another language is chosen: every page in the
   * pseudo-locale, before any person's or account's language, so that each one can be
   * checked for text that is not yet translated or does not fit. */
  private pseudoLocaleAsked(request: FastifyRequest): boolean {
    if (!this.pseudoLocaleAllowed) return false;
    const query = (request.query as Record<string, unknown> | undefined)?.lang;
    if (query === PSEUDO_LOCALE) return true;
    if (parseLanguage(query)) return false;
    return this.cookies.read(request, COOKIE.language) === PSEUDO_LOCALE;
  }

  private chooseTranslator(request: FastifyRequest, reader: KnownReader | null, asked: Language | null): Translator {
    const timeZone = reader && isTimeZone(reader.user.time_zone) ? reader.user.time_zone : DEFAULT_TIME_ZONE;
    if (this.pseudoLocaleAsked(request)) return pseudoTranslator(timeZone);
    const language = chooseLanguage({
      person: reader?.user.language ?? null,
      accountDefault: reader?.account.default_language ?? null,
      chosenBeforeSignIn: asked ?? this.cookies.read(request, COOKIE.language),
      acceptLanguage: request.headers['accept-language'],
    });
    return translatorFor(language, timeZone);
  }

  /** While a grace period runs, staff without 2FA see the deadline on every page. */
  private enrolmentBanner(signedIn: SignedIn | null, t: Translator): Html | null {
    if (!signedIn || signedIn.session.kind !== 'full' || signedIn.user.two_factor_enabled === 1) return null;
    const { account } = signedIn;
    const deadline = enrolmentDeadline(signedIn.user.role, twoFactorPolicyOf(account));
    if (deadline === null || deadline <= this.deps.now()) return null;
    return html`<p class="banner" role="status">${t.parts<Html>('layout.enrolmentBanner', { account: account.name, deadline: t.moment(deadline) }, { link: (chunks) => html`<a href="/profile/two-factor/setup">${chunks}</a>` })}</p>`;
  }

  csrfToken(request: FastifyRequest, reply: FastifyReply): string {
    return this.csrf.tokenFor(request, reply);
  }

  /** Whether the posted form carries this browser's CSRF token. */
  csrfValid(request: FastifyRequest): boolean {
    const submitted = typeof request.body === 'object' && request.body !== null ? (request.body as Record<string, unknown>)._csrf : undefined;
    return this.csrf.verify(request, submitted);
  }

  /** False (and a 403 page sent) when the form's CSRF token is missing or wrong. */
  checkCsrf(request: FastifyRequest, reply: FastifyReply): boolean {
    if (this.csrfValid(request)) return true;
    this.send(
      request,
      reply,
      {
        title: request.i18n.t('layout.formExpired.title'),
        narrow: true,
        notice: { kind: 'error', text: request.i18n.t('layout.formExpired.text') },
        body: html`<p><a href="/">${request.i18n.t('layout.backTo', { product: this.productName })}</a></p>`,
      },
      403,
    );
    return false;
  }

  /** A long-lived random id per browser, to recognise a computer seen before. */
  ensureDeviceCookie(request: FastifyRequest, reply: FastifyReply): void {
    let deviceId = this.cookies.read(request, COOKIE.device);
    if (!deviceId || !/^[A-Za-z0-9_-]{22}$/.test(deviceId)) {
      deviceId = randomBytes(16).toString('base64url');
      this.cookies.set(reply, COOKIE.device, deviceId, DEVICE_COOKIE_MAX_AGE_IN_SECONDS);
    }
    request.deviceId = deviceId;
  }

  async loadSession(request: FastifyRequest): Promise<void> {
    request.signedIn = await authenticate(this.deps, this.cookies.read(request, COOKIE.session));
  }

  /** After a session is replaced mid-request, render with the new one. */
  async loadSessionFromToken(request: FastifyRequest, token: string): Promise<void> {
    request.signedIn = await authenticate(this.deps, token);
  }

  /** The signed-in person with a full session, or null after sending a redirect. */
  requireFull(request: FastifyRequest, reply: FastifyReply): SignedIn | null {
    const signedIn = request.signedIn;
    if (!signedIn) {
      reply.redirect(`/sign-in?next=${encodeURIComponent(request.url)}`, 303);
      return null;
    }
    if (signedIn.session.kind !== 'full') {
      reply.redirect(ENROL_PATH, 303);
      return null;
    }
    return signedIn;
  }

  /** A session cookie lives as long as its session ("stay signed in for"); a setup-only
   * one ends with the browser. */
  /** The signed-in person, full or setup-only session, or null after a redirect. */
  requireAny(request: FastifyRequest, reply: FastifyReply): SignedIn | null {
    if (!request.signedIn) {
      reply.redirect(`/sign-in?next=${encodeURIComponent(request.url)}`, 303);
      return null;
    }
    return request.signedIn;
  }

  setSession(reply: FastifyReply, token: string, expiresAt: number | null): void {
    const maxAge = expiresAt === null ? undefined : Math.max(1, Math.floor((expiresAt - this.deps.now()) / 1000));
    this.cookies.set(reply, COOKIE.session, token, maxAge);
    const forwardAuth = forwardAuthTokenFor(this.deps.keys, token);
    if (forwardAuth) this.cookies.setForwardAuth(reply, forwardAuth, maxAge);
  }

  /** Forgets the session on this browser: its cookie and the forward-auth one. */
  clearSession(reply: FastifyReply): void {
    this.cookies.clear(reply, COOKIE.session);
    this.cookies.clearForwardAuth(reply);
  }

  /** Sends the browser where a sign-in outcome leads, with the right cookies. */
  followOutcome(reply: FastifyReply, outcome: SignInOutcome, next: string | null): FastifyReply {
    this.cookies.clear(reply, COOKIE.challenge);
    switch (outcome.status) {
      case 'signed_in':
        this.setSession(reply, outcome.sessionToken, outcome.sessionExpiresAt);
        // The flow kept where its caller asked the person to go; `next` is for callers
        // that are not flows.
        return reply.redirect(outcome.returnTo ?? next ?? '/profile/security', 303);
      case 'two_factor_setup_required':
        this.setSession(reply, outcome.sessionToken, null);
        return reply.redirect(ENROL_PATH, 303);
      case 'two_factor_required':
        // Not a session: the challenge cookie opens only the passcode page.
        this.clearSession(reply);
        this.cookies.set(reply, COOKIE.challenge, outcome.challengeToken, CHALLENGE_COOKIE_MAX_AGE_IN_SECONDS);
        // The flow holds the return address: the URL need not carry it.
        return reply.redirect('/sign-in/two-factor', 303);
    }
  }
}
