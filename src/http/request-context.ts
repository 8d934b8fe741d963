import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RequestContext } from '../services/deps.js';
import type { SignedIn } from '../services/sessions.js';
import type { TokenActor } from '../services/admin-actor.js';
import type { ApiTokenScope } from '../domain/automation.js';
import type { Translator } from '../i18n/translator.js';

declare module 'fastify' {
  interface FastifyRequest {
    signedIn: SignedIn | null;
    /** The browser's long-lived device cookie (pages only). */
    deviceId: string | null;
    /** The API token a request to an admin route came with (api/authenticated.ts). */
    apiTokenActor: TokenActor | null;
    /** The reader's language and time zone: the API's by `Accept-Language`, a page's
     * by the person, their account, a sign-in page's choice, then the browser. */
    i18n: Translator;
  }
  interface FastifyContextConfig {
    /** A setup-only session (which may only enrol a second factor) may use this route. */
    allowSetupSession?: boolean;
    /** An API token with this scope may use this route; without one, only people may. */
    apiTokenScope?: ApiTokenScope;
  }
}

export function requestContext(request: FastifyRequest): RequestContext {
  const userAgent = request.headers['user-agent'];
  return { ip: request.ip ?? null, userAgent: typeof userAgent === 'string' ? userAgent.slice(0, 512) : null, deviceId: request.deviceId };
}

export function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return null;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match ? match[1]! : null;
}

/** Cookie names and flags: `Secure` and the `__Host-` prefix when served over HTTPS
 * (SECURITY.md, sessions), plain names on http://localhost for development. */
export class CookiePolicy {
  readonly secure: boolean;
  constructor(
    baseUrl: string,
    /** TESSERA_COOKIE_DOMAIN, for the forward-auth cookie alone. */
    readonly forwardAuthDomain: string | null = null,
  ) {
    this.secure = new URL(baseUrl).protocol === 'https:';
  }

  /** The forward-auth cookie (services/sessions.ts forwardAuthTokenFor) reaches every
   * host under the cookie domain; `__Host-` forbids a domain, so over HTTPS it is
   * `__Secure-`. Every other cookie stays on Tessera's own host. */
  get forwardAuthName(): string {
    return this.secure ? `__Secure-${COOKIE.forwardAuth}` : COOKIE.forwardAuth;
  }

  setForwardAuth(reply: FastifyReply, value: string, maxAgeInSeconds?: number): void {
    if (this.forwardAuthDomain === null) return;
    reply.setCookie(this.forwardAuthName, value, {
      domain: this.forwardAuthDomain,
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: this.secure,
      ...(maxAgeInSeconds !== undefined ? { maxAge: maxAgeInSeconds } : {}),
    });
  }

  clearForwardAuth(reply: FastifyReply): void {
    if (this.forwardAuthDomain === null) return;
    reply.clearCookie(this.forwardAuthName, { domain: this.forwardAuthDomain, path: '/', httpOnly: true, sameSite: 'lax', secure: this.secure });
  }

  readForwardAuth(request: FastifyRequest): string | null {
    const value = request.cookies[this.forwardAuthName];
    return typeof value === 'string' && value.length > 0 ? value : null;
  }

  name(base: string): string {
    return this.secure ? `__Host-${base}` : base;
  }

  set(reply: FastifyReply, base: string, value: string, maxAgeInSeconds?: number): void {
    reply.setCookie(this.name(base), value, {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: this.secure,
      ...(maxAgeInSeconds !== undefined ? { maxAge: maxAgeInSeconds } : {}),
    });
  }

  clear(reply: FastifyReply, base: string): void {
    reply.clearCookie(this.name(base), { path: '/', httpOnly: true, sameSite: 'lax', secure: this.secure });
  }

  read(request: FastifyRequest, base: string): string | null {
    const value = request.cookies[this.name(base)];
    return typeof value === 'string' && value.length > 0 ? value : null;
  }
}

export const COOKIE = {
  session: 'tessera_session',
  challenge: 'tessera_challenge',
  csrf: 'tessera_csrf',
  trustedDevice: 'tessera_trusted_device',
  device: 'tessera_device',
  /** The language chosen on a sign-in page (`?lang=`), before anyone is known. */
  language: 'tessera_language',
  /** The account last signed in to on this computer, to fill in the sign-in form. */
  lastAccount: 'tessera_last_account',
  /** Proves the session to forward-auth checks, on every host under TESSERA_COOKIE_DOMAIN. */
  forwardAuth: 'tessera_forward_auth',
  /** An admin-issued recovery code, sealed, shown once after the POST that made it. */
  issuedCode: 'tessera_issued_code',
  /** A new app's client secret, sealed, shown once after the POST that made it. */
  appSecret: 'tessera_app_secret',
} as const;
