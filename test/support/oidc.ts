// OpenID Connect tests: a Tessera listening on 127.0.0.1 (openid-client, as the app,
// speaks real HTTP to it), and a small cookie-keeping "browser" on fetch that follows
// redirects and meta refreshes and fills in Tessera's forms, for the tests that need no
// JavaScript (Chromium covers the rest).
import * as client from 'openid-client';
import { randomBytes } from 'node:crypto';
import { hashSecret } from '../../src/crypto/tokens.js';
import { insertApp } from '../../src/store/apps.js';
import type { Runtime } from '../../src/runtime.js';
import type { AppKind, Role } from '../../src/store/schema.js';
import { freePort } from './browser.js';
import { Clock, startTestApp, type DialectName, type TestApp } from './harness.js';

/** The provider's own clock is the real one: so is this app's. */
export class RealClock extends Clock {
  override now = (): number => Date.now() + this.offset;
  private offset = 0;
  override advance(milliseconds: number): void {
    this.offset += milliseconds;
  }
}

export interface ListeningApp extends TestApp {
  baseUrl: string;
}

export async function startListeningApp(options: { dialect: DialectName; env?: Record<string, string> }): Promise<ListeningApp> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const app = await startTestApp({ dialect: options.dialect, clock: new RealClock(), env: { TESSERA_BASE_URL: baseUrl, ...options.env } });
  await app.runtime.app.listen({ host: '127.0.0.1', port });
  return Object.assign(app, { baseUrl });
}

export const CALLBACK = 'https://grafana.acme.test/login/generic_oauth';

/** Registers an app straight in the store (the admin API has tests of its own). */
export async function registerApp(
  app: { runtime: Runtime },
  input: {
    accountSlug: string;
    name?: string;
    kind?: AppKind;
    redirectUris?: string[];
    postLogoutRedirectUris?: string[];
    backchannelLogoutUri?: string | null;
    firstParty?: boolean;
    allowedRoles?: Role[];
    requiredAcr?: string | null;
  },
): Promise<{ clientId: string; clientSecret: string | null }> {
  const db = app.runtime.deps.db;
  const account = await db.selectFrom('accounts').select('id').where('slug', '=', input.accountSlug).executeTakeFirstOrThrow();
  const clientId = randomBytes(16).toString('base64url');
  const kind = input.kind ?? 'confidential';
  const clientSecret = kind === 'confidential' ? randomBytes(32).toString('base64url') : null;
  const now = app.runtime.deps.now();
  await insertApp(db, {
    id: clientId,
    account_id: account.id,
    name: input.name ?? 'Grafana',
    kind,
    redirect_uris: JSON.stringify(input.redirectUris ?? [CALLBACK]),
    post_logout_redirect_uris: JSON.stringify(input.postLogoutRedirectUris ?? ['https://grafana.acme.test/']),
    backchannel_logout_uri: input.backchannelLogoutUri ?? null,
    host: null,
    first_party: input.firstParty === false ? 0 : 1,
    allowed_roles: JSON.stringify(input.allowedRoles ?? ['admin', 'agent']),
    required_acr: input.requiredAcr ?? null,
    secret_hash: clientSecret ? hashSecret(clientSecret) : null,
    created_by_user_id: null,
    created_at: now,
    updated_at: now,
  });
  return { clientId, clientSecret };
}

/** openid-client's view of Tessera, as an app registered there. */
export async function discover(app: { baseUrl: string }, registered: { clientId: string; clientSecret: string | null }): Promise<client.Configuration> {
  return client.discovery(
    new URL(app.baseUrl),
    registered.clientId,
    registered.clientSecret ?? undefined,
    registered.clientSecret ? client.ClientSecretBasic(registered.clientSecret) : client.None(),
    { execute: [client.allowInsecureRequests] },
  );
}

export interface AuthorizationRequest {
  url: URL;
  codeVerifier: string;
  state: string;
  nonce: string;
}

export async function authorizationRequest(config: client.Configuration, extra: Record<string, string> = {}): Promise<AuthorizationRequest> {
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: CALLBACK,
    scope: 'openid email profile offline_access',
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  return { url, codeVerifier, state, nonce };
}

export interface BrowserPage {
  url: string;
  status: number;
  body: string;
}

/** A browser without JavaScript: cookies, redirects, meta refreshes, forms. */
export class FormBrowser {
  private readonly cookies = new Map<string, string>();
  /** Every address it was sent to, in order. */
  readonly visited: string[] = [];

  constructor(private readonly origin: string) {}

  private cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  private keepCookies(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const index = pair!.indexOf('=');
      const name = pair!.slice(0, index).trim();
      const value = pair!.slice(index + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || (/^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]!) < Date.now()));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  hasCookie(name: string): boolean {
    return this.cookies.has(name);
  }

  /** Goes to a URL and follows redirects and meta refreshes until a page of Tessera that
   * stays, or an address elsewhere (returned without being fetched). */
  async go(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<BrowserPage> {
    let current = url;
    let method = init.method ?? 'GET';
    let body: string | undefined = init.form ? new URLSearchParams(init.form).toString() : undefined;
    for (let hops = 0; hops < 20; hops += 1) {
      this.visited.push(current);
      if (!current.startsWith(this.origin)) return { url: current, status: 0, body: '' };
      const response = await fetch(current, {
        method,
        redirect: 'manual',
        headers: {
          cookie: this.cookieHeader(),
          ...(body !== undefined ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        },
        ...(body !== undefined ? { body } : {}),
      });
      this.keepCookies(response);
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        current = new URL(location, current).toString();
        method = 'GET';
        body = undefined;
        continue;
      }
      const text = await response.text();
      const refresh = /<meta http-equiv="refresh" content="0;url=([^"]+)">/.exec(text);
      if (refresh) {
        current = new URL(refresh[1]!.replace(/&amp;/g, '&'), current).toString();
        method = 'GET';
        body = undefined;
        continue;
      }
      return { url: current, status: response.status, body: text };
    }
    throw new Error(`too many redirects from ${url}`);
  }

  /** Submits the form of a page whose action matches, with its hidden fields. */
  async submit(page: BrowserPage, action: string | RegExp, fields: Record<string, string> = {}): Promise<BrowserPage> {
    const forms = [...page.body.matchAll(/<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/g)];
    const form = forms.find((match) => (typeof action === 'string' ? match[1] === action : action.test(match[1]!)));
    if (!form) throw new Error(`no form posting to ${String(action)} on ${page.url}:\n${page.body}`);
    const hidden = Object.fromEntries(
      [...form[2]!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((match) => [match[1]!, match[2]!.replace(/&amp;/g, '&')]),
    );
    return this.go(new URL(form[1]!.replace(/&amp;/g, '&'), page.url).toString(), { method: 'POST', form: { ...hidden, ...fields } });
  }
}

export function callbackParams(page: BrowserPage): URLSearchParams {
  if (!page.url.startsWith(CALLBACK)) throw new Error(`not at the app's callback but at ${page.url} (${page.status}):\n${page.body.slice(0, 2000)}`);
  return new URL(page.url).searchParams;
}
