// Tessera as an OpenID Connect provider, driven the way an app and its users drive it:
// an app registered in the store (as test/support/oidc.ts does), people signed in to
// Tessera (password and TOTP through the API, the session token kept as the session
// cookie), their first authorization through Tessera's pages (sign-in and consent,
// which a first-party app passes without a page), and then codes minted by
// /oidc/auth alone, exchanged at /oidc/token, refreshed, and used at /oidc/userinfo.
// The hot requests are plain HTTP on the load client's keep-alive pool; openid-client
// checks once that what is measured is what a real app accepts.
import { createHash, randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import { hashSecret } from '../../src/crypto/tokens.js';
import { insertApp } from '../../src/store/apps.js';
import { openStore } from '../../src/store/database.js';
import type { HttpClient } from '../lib/http.js';
import type { OpResult } from '../lib/load.js';
import { ACCOUNT_SLUG } from '../lib/users.js';

export const CALLBACK = 'https://app.bench.test/oauth/callback';
export const SCOPE = 'openid email profile offline_access';
/** oidc-provider's ttl.AuthorizationCode in src/http/oidc/provider.ts. */
export const CODE_LIFETIME_IN_SECONDS = 60;

export interface RegisteredApp {
  clientId: string;
  clientSecret: string;
  /** `Basic base64(client_id:client_secret)` (client_secret_basic, RFC 6749 §2.3.1). */
  authorization: string;
}

/** A confidential, first-party app (no consent page) straight in the store, as
 * test/support/oidc.ts registers one: the secret is kept as its SHA-256 only. */
export async function registerBenchApp(databaseUrl: string): Promise<RegisteredApp> {
  const store = openStore(databaseUrl);
  try {
    const account = await store.db.selectFrom('accounts').select('id').where('slug', '=', ACCOUNT_SLUG).executeTakeFirstOrThrow();
    const clientId = randomBytes(16).toString('base64url');
    const clientSecret = randomBytes(32).toString('base64url');
    const now = Date.now();
    await insertApp(store.db, {
      id: clientId,
      account_id: account.id,
      name: 'Bench App',
      kind: 'confidential',
      redirect_uris: JSON.stringify([CALLBACK]),
      post_logout_redirect_uris: JSON.stringify(['https://app.bench.test/']),
      backchannel_logout_uri: null,
      host: null,
      first_party: 1,
      allowed_roles: JSON.stringify(['admin', 'agent']),
      required_acr: null,
      secret_hash: hashSecret(clientSecret),
      created_by_user_id: null,
      created_at: now,
      updated_at: now,
    });
    // Both are base64url: form-encoding them (RFC 6749 §2.3.1) changes nothing.
    const authorization = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`;
    return { clientId, clientSecret, authorization };
  } finally {
    await store.close();
  }
}

export interface Code {
  person: number;
  code: string;
  verifier: string;
  /** performance.now() when the code was issued (its redirect answered). */
  mintedAt: number;
}

export interface Tokens {
  accessToken: string;
  refreshToken: string;
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

/** A browser's cookies for Tessera: set, replaced, and removed when cleared. */
class CookieJar {
  private readonly cookies = new Map<string, string>();

  keep(setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair, ...attributes] = line.split(';');
      const equals = pair!.indexOf('=');
      if (equals <= 0) continue;
      const name = pair!.slice(0, equals).trim();
      const value = pair!.slice(equals + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || (/^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]!) < Date.now()));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  names(): string[] {
    return [...this.cookies.keys()];
  }
}

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** One person at their own browser, signed in to Tessera. */
export class OidcPerson {
  private readonly jar = new CookieJar();

  constructor(
    readonly index: number,
    private readonly http: HttpClient,
    private readonly app: RegisteredApp,
    sessionToken: string,
  ) {
    this.jar.keep([`tessera_session=${sessionToken}; Path=/; HttpOnly; SameSite=Lax`]);
  }

  cookieNames(): string[] {
    return this.jar.names();
  }

  private authorizationPath(state: string, nonce: string, challenge: string): string {
    const params = new URLSearchParams({
      client_id: this.app.clientId,
      response_type: 'code',
      redirect_uri: CALLBACK,
      scope: SCOPE,
      state,
      nonce,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    return `/oidc/auth?${params.toString()}`;
  }

  /** The app sends the browser to /oidc/auth; it follows Tessera's redirects (and,
   * the first time, Tessera's interaction pages, which a signed-in person passes
   * through without a form for a first-party app) back to the app's callback.
   * `maxHops` 1: only a code straight from /oidc/auth counts (no page on the way). */
  async authorize(
    maxHops: number,
    state = randomBytes(12).toString('base64url'),
    nonce = randomBytes(12).toString('base64url'),
  ): Promise<{ code: Code | null; status: number; hops: number; callback?: string }> {
    const { verifier, challenge } = pkce();
    let path = this.authorizationPath(state, nonce, challenge);
    for (let hop = 1; hop <= maxHops; hop++) {
      const response = await this.http.request('GET', path, { headers: { cookie: this.jar.header() } });
      this.jar.keep(response.setCookies);
      if (response.status < 300 || response.status >= 400 || response.location === null) return { code: null, status: response.status || -1, hops: hop };
      if (response.location.startsWith(`${CALLBACK}?`)) {
        const params = new URL(response.location).searchParams;
        const code = params.get('code');
        if (code === null || params.get('state') !== state) return { code: null, status: -3, hops: hop };
        return { code: { person: this.index, code, verifier, mintedAt: performance.now() }, status: response.status, hops: hop, callback: response.location };
      }
      const next = new URL(response.location, this.http.origin);
      if (next.origin !== this.http.origin) return { code: null, status: -4, hops: hop };
      path = `${next.pathname}${next.search}`;
    }
    return { code: null, status: -5, hops: maxHops };
  }
}

function tokensOf(body: unknown, withIdToken: boolean): Tokens | null {
  const b = asRecord(body);
  if (b.token_type !== 'Bearer' || typeof b.access_token !== 'string' || typeof b.refresh_token !== 'string') return null;
  if (withIdToken && typeof b.id_token !== 'string') return null;
  return { accessToken: b.access_token, refreshToken: b.refresh_token };
}

/** POST /oidc/token, grant_type=authorization_code, with the PKCE verifier and
 * client_secret_basic. Success: tokens with an ID token and a refresh token. */
export async function exchangeCode(http: HttpClient, app: RegisteredApp, code: Code): Promise<OpResult & { tokens: Tokens | null }> {
  const response = await http.request('POST', '/oidc/token', {
    headers: { authorization: app.authorization },
    form: { grant_type: 'authorization_code', code: code.code, redirect_uri: CALLBACK, code_verifier: code.verifier },
  });
  const tokens = response.status === 200 ? tokensOf(response.body, true) : null;
  return { ok: tokens !== null, status: response.status === 200 && tokens === null ? -2 : response.status, tokens };
}

/** POST /oidc/token, grant_type=refresh_token: the refresh token rotates, so the
 * answer's refresh token is the only one that works next. */
export async function refreshGrant(http: HttpClient, app: RegisteredApp, refreshToken: string): Promise<OpResult & { tokens: Tokens | null }> {
  const response = await http.request('POST', '/oidc/token', {
    headers: { authorization: app.authorization },
    form: { grant_type: 'refresh_token', refresh_token: refreshToken },
  });
  const tokens = response.status === 200 ? tokensOf(response.body, true) : null;
  return { ok: tokens !== null, status: response.status === 200 && tokens === null ? -2 : response.status, tokens };
}

/** GET /oidc/userinfo with the access token as a bearer token. */
export async function userinfo(http: HttpClient, accessToken: string): Promise<OpResult> {
  const response = await http.request('GET', '/oidc/userinfo', { headers: { authorization: `Bearer ${accessToken}` } });
  const body = asRecord(response.body);
  const ok = response.status === 200 && typeof body.sub === 'string' && typeof body.email === 'string';
  return { ok, status: response.status === 200 && !ok ? -2 : response.status };
}

/**
 * What a real app does, once, with openid-client (the library the end-to-end tests
 * use as the app): discovery, a code minted by `person` redeemed with the ID token
 * checked (issuer, audience, nonce, expiry), userinfo, and a refresh grant. Throws
 * when any of it fails, so a run never measures requests a real app would refuse.
 */
export async function checkWithOpenidClient(http: HttpClient, app: RegisteredApp, person: OidcPerson): Promise<string> {
  const config = await client.discovery(new URL(http.origin), app.clientId, app.clientSecret, client.ClientSecretBasic(app.clientSecret), {
    execute: [client.allowInsecureRequests],
  });
  const metadata = config.serverMetadata();
  if (metadata.token_endpoint !== `${http.origin}/oidc/token` || metadata.userinfo_endpoint !== `${http.origin}/oidc/userinfo`) {
    throw new Error(`unexpected endpoints in the discovery document: ${metadata.token_endpoint} ${metadata.userinfo_endpoint}`);
  }
  // The same request the load makes, with a state and nonce of openid-client's.
  const state = client.randomState();
  const nonce = client.randomNonce();
  const minted = await person.authorize(1, state, nonce);
  if (!minted.code || !minted.callback) throw new Error(`openid-client check: no code straight from /oidc/auth (status ${minted.status})`);
  const tokens = await client.authorizationCodeGrant(config, new URL(minted.callback), {
    pkceCodeVerifier: minted.code.verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  if (!claims || typeof claims.sub !== 'string' || claims.aud !== app.clientId || !tokens.refresh_token) {
    throw new Error(`openid-client check: unexpected tokens ${JSON.stringify({ claims, refresh: Boolean(tokens.refresh_token) })}`);
  }
  const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  if (!refreshed.refresh_token || refreshed.refresh_token === tokens.refresh_token) throw new Error('openid-client check: the refresh token did not rotate');
  return `openid-client: discovery, code exchange with the ID token checked (acr ${String(claims.acr)}, amr ${JSON.stringify(claims.amr)}), userinfo (${String(info.email)}), refresh with rotation`;
}
