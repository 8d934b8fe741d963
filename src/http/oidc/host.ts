// Mounts oidc-provider (a Koa application) in the Fastify app, and keeps its signing
// keys current: every minute it reads the key set, and when a rotation has published a
// key or made one sign, it builds the provider again (keys are fixed per provider). The
// same minute's visit deletes the provider's expired records.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';
import type { ServiceDeps } from '../../services/deps.js';
import { signOutOfAppsAfterLogout } from '../../services/app-sign-out.js';
import { pruneExpiredAppRecords } from '../../services/oidc.js';
import { authenticate, endSession } from '../../services/sessions.js';
import { ensureSigningKeys, loadSigningKeySet } from '../../services/signing-keys.js';
import { COOKIE, CookiePolicy } from '../request-context.js';
import { OIDC_ROUTES } from './routes.js';

const KEY_REFRESH_INTERVAL_IN_MILLISECONDS = 60 * 1000;

export class OidcHost {
  private built: { provider: Provider; handler: ReturnType<Provider['callback']>; fingerprint: string; checkedAt: number } | null = null;
  private building: Promise<NonNullable<OidcHost['built']>> | null = null;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly options: { onServerError?: (error: unknown) => void },
  ) {}

  /** The provider with the key set as of now; built on first use (keys made then, if
   * there are none yet), and rebuilt after a rotation. */
  async provider(): Promise<Provider> {
    return (await this.current()).provider;
  }

  /** The provider's request handler (Koa composes it once per provider). */
  async handler(): Promise<ReturnType<Provider['callback']>> {
    return (await this.current()).handler;
  }

  private current(): Promise<NonNullable<OidcHost['built']>> {
    const now = this.deps.now();
    if (this.built && now - this.built.checkedAt < KEY_REFRESH_INTERVAL_IN_MILLISECONDS) return Promise.resolve(this.built);
    this.building ??= this.load().finally(() => {
      this.building = null;
    });
    return this.building;
  }

  private async load(): Promise<NonNullable<OidcHost['built']>> {
    const now = this.deps.now();
    await pruneExpiredAppRecords(this.deps);
    let keySet = await loadSigningKeySet(this.deps.db, this.deps.keys, now);
    if (keySet.keys.length === 0 || !this.built) {
      await ensureSigningKeys(this.deps.db, this.deps.dialect, this.deps.keys, now);
      keySet = await loadSigningKeySet(this.deps.db, this.deps.keys, now);
    }
    if (this.built && this.built.fingerprint === keySet.fingerprint) {
      this.built.checkedAt = now;
      return this.built;
    }
    // oidc-provider (and Koa) load here, on the first OpenID Connect request.
    const { createOidcProvider, handOverPage, translatorOfContext } = await import('./provider.js');
    const provider = createOidcProvider(this.deps, keySet, this.options);
    const cookies = new CookiePolicy(this.deps.config.baseUrl, this.deps.config.cookieDomain);
    const origin = new URL(this.deps.config.baseUrl).origin;
    provider.use(async (ctx, next) => {
      const confirming = ctx.path === `${OIDC_ROUTES.end_session}/confirm`;
      // The reader's language, read while their Tessera session still stands: a page
      // handing over after "Sign out" speaks it too.
      const reader = confirming ? translatorOfContext(this.deps, cookies, ctx) : null;
      await next();
      if (!confirming || !reader || ctx.status !== 303) return;
      // "Sign out" on an app's logout request signs the person out of Tessera too, and
      // so out of every other app; "Stay signed in" (no `logout`) ends only what that
      // app had, which the provider did.
      if (ctx.oidc?.params?.logout) {
        const personId = ctx.oidc.session?.accountId;
        const signedIn = await authenticate(this.deps, ctx.cookies.get(cookies.name(COOKIE.session), { signed: false }) ?? null);
        const context = { ip: ctx.ip ?? null, userAgent: ctx.get('user-agent').slice(0, 512) || null };
        if (signedIn) await endSession(this.deps, signedIn, context);
        else if (personId) await signOutOfAppsAfterLogout(this.deps, personId);
        ctx.cookies.set(cookies.name(COOKIE.session), null, { path: '/', httpOnly: true, sameSite: 'lax', secure: cookies.secure, signed: false });
        if (cookies.forwardAuthDomain !== null) {
          ctx.cookies.set(cookies.forwardAuthName, null, {
            domain: cookies.forwardAuthDomain,
            path: '/',
            httpOnly: true,
            sameSite: 'lax',
            secure: cookies.secure,
            signed: false,
          });
        }
      }
      // The confirmation is a form of the logout page, whose CSP has `form-action
      // 'self'`: browsers apply it to the redirect that answers the form, so Chromium
      // would block the way back to the app's post_logout_redirect_uri. A page that
      // moves on by itself hands over instead (as http/oidc/interaction-pages.ts does).
      const location = ctx.response.get('location');
      if (!location || new URL(location, origin).origin === origin) return;
      ctx.remove('location');
      ctx.status = 200;
      ctx.type = 'html';
      ctx.body = handOverPage(await reader, this.deps.config.productName, ctx.oidc?.client?.clientName ?? null, location);
    });
    this.built = { provider, handler: provider.callback(), fingerprint: keySet.fingerprint, checkedAt: now };
    return this.built;
  }
}

/** Hands the provider's routes to it untouched: it reads its own bodies and cookies. */
export async function mountOidcProvider(app: FastifyInstance, host: OidcHost, baseUrl: string): Promise<void> {
  // Tessera's public address is TESSERA_BASE_URL, however a request reached it: the
  // provider's addresses (and its cookies' Secure flag) follow it, never headers a
  // client could send (X-Forwarded-* are read by Fastify, from trusted proxies only).
  const base = new URL(baseUrl);
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
    const forward = async (request: FastifyRequest, reply: FastifyReply) => {
      const handler = await host.handler();
      const headers = request.raw.headers;
      headers['x-forwarded-proto'] = base.protocol.slice(0, -1);
      headers['x-forwarded-host'] = base.host;
      headers['x-forwarded-for'] = request.ip;
      reply.hijack();
      // The headers every answer carries (CSP, no framing, no-store), set by the
      // onRequest hook on the Fastify reply, which a hijacked reply never writes.
      for (const [name, value] of Object.entries(reply.getHeaders())) {
        if (value !== undefined) reply.raw.setHeader(name, value as string);
      }
      await new Promise<void>((resolve) => {
        reply.raw.on('finish', resolve);
        reply.raw.on('close', resolve);
        void handler(request.raw, reply.raw);
      });
    };
    const methods = ['GET', 'POST', 'OPTIONS'] as const;
    scope.route({ method: [...methods], url: '/oidc/*', schema: { hide: true }, handler: forward });
    scope.route({ method: ['GET', 'OPTIONS'], url: '/.well-known/openid-configuration', schema: { hide: true }, handler: forward });
  });
}
