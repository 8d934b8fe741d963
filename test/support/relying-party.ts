// A tiny app that signs in through Tessera, for the browser tests: an HTTP server on
// 127.0.0.1 whose /login sends the browser to Tessera's authorization endpoint (what
// Grafana's "Sign in with Tessera" button does) and whose callback receives the answer,
// redeems the code with openid-client (PKCE, state and nonce checked) and shows a page
// of its own, so Chromium really lands on the app.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as client from 'openid-client';
import { discover } from './oidc.js';

export const CALLBACK_PATH = '/login/generic_oauth';

/** What reached the app's callback, and what it made of it. */
export interface Landing {
  url: URL;
  /** The ID token's claims, when a code came and was redeemed. */
  claims: client.IDToken | null;
  tokens: client.TokenEndpointResponse | null;
  /** The error the app was sent (error=…), or why redeeming the code failed. */
  error: string | null;
}

interface Pending {
  codeVerifier: string;
  nonce: string;
}

export class RelyingParty {
  readonly landings: Landing[] = [];
  private readonly pending = new Map<string, Pending>();
  private config: client.Configuration | null = null;

  private constructor(
    private readonly server: Server,
    readonly origin: string,
  ) {}

  static async start(): Promise<RelyingParty> {
    let app: RelyingParty | null = null;
    const server = createServer((request, response) => {
      app!.handle(request, response).catch((error: unknown) => {
        response.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
      });
    });
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
    app = new RelyingParty(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return app;
  }

  /** The address to register at Tessera as the app's redirect URI. */
  get redirectUri(): string {
    return `${this.origin}${CALLBACK_PATH}`;
  }

  /** Where a browser starts a sign-in; extra authorization parameters ride along. */
  loginUrl(extra: Record<string, string> = {}): string {
    return `${this.origin}/login?${new URLSearchParams(extra).toString()}`;
  }

  /** Where the app sends the browser to sign out at Tessera (RP-initiated logout),
   * asking to come back to its home page. */
  logoutUrl(idToken: string, state: string): string {
    if (!this.config) throw new Error('the app is not connected to Tessera yet');
    return client.buildEndSessionUrl(this.config, { id_token_hint: idToken, post_logout_redirect_uri: `${this.origin}/`, state }).toString();
  }

  /** Uses a refresh token, as the app would to stay signed in. */
  refresh(refreshToken: string): Promise<client.TokenEndpointResponse> {
    if (!this.config) throw new Error('the app is not connected to Tessera yet');
    return client.refreshTokenGrant(this.config, refreshToken);
  }

  /** Discovers Tessera as this registered app. */
  async connect(tesseraBaseUrl: string, registered: { clientId: string; clientSecret: string | null }): Promise<void> {
    this.config = await discover({ baseUrl: tesseraBaseUrl }, registered);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.origin);
    const config = this.config;
    if (!config) throw new Error('the app is not connected to Tessera yet');
    if (url.pathname === '/login') {
      const codeVerifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const nonce = client.randomNonce();
      this.pending.set(state, { codeVerifier, nonce });
      const authorization = client.buildAuthorizationUrl(config, {
        redirect_uri: this.redirectUri,
        scope: 'openid email profile offline_access',
        code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
        state,
        nonce,
        ...Object.fromEntries(url.searchParams),
      });
      response.writeHead(302, { location: authorization.toString() }).end();
      return;
    }
    if (url.pathname === CALLBACK_PATH) {
      const landing = await this.land(config, url);
      this.landings.push(landing);
      const text = landing.claims ? `Signed in as ${String(landing.claims.email)}` : `Sign-in failed: ${landing.error ?? 'unknown'}`;
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(`<!doctype html><html lang="en"><head><title>Grafana</title></head><body><h1>${text}</h1></body></html>`);
      return;
    }
    if (url.pathname === '/') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end('<!doctype html><html lang="en"><head><title>Grafana</title></head><body><h1>Grafana home</h1></body></html>');
      return;
    }
    // No icon: said without an error, so the browser's console stays quiet.
    if (url.pathname === '/favicon.ico') response.writeHead(204).end();
    else response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  }

  private async land(config: client.Configuration, url: URL): Promise<Landing> {
    const state = url.searchParams.get('state') ?? '';
    const pending = this.pending.get(state);
    this.pending.delete(state);
    if (url.searchParams.has('error')) return { url, claims: null, tokens: null, error: url.searchParams.get('error') };
    if (!pending) return { url, claims: null, tokens: null, error: 'unknown state' };
    try {
      const tokens = await client.authorizationCodeGrant(config, url, {
        pkceCodeVerifier: pending.codeVerifier,
        expectedState: state,
        expectedNonce: pending.nonce,
      });
      return { url, claims: tokens.claims() ?? null, tokens, error: null };
    } catch (error) {
      return { url, claims: null, tokens: null, error: `redeeming the code failed: ${String(error)}` };
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }
}
