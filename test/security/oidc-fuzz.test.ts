// Bad input on every OpenID Connect endpoint (SECURITY.md, other apps): fast-check
// generates parameters, bodies, headers and identifiers for the provider's endpoints
// and Tessera's interaction pages, and every answer must be an OAuth error (JSON
// `{"error": "..."}` from the token, revocation and userinfo endpoints), a page or a
// redirect: never a 5xx, never a crash. Each endpoint has a fixed seed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { dialects, setUpAccount } from '../support/harness.js';
import { CALLBACK, registerApp, startListeningApp, type ListeningApp } from '../support/oidc.js';

const RUNS = Number(process.env.TESSERA_FUZZ_RUNS ?? 60);

function seedOf(text: string): number {
  let hash = 0;
  for (const character of text) hash = (hash * 31 + character.charCodeAt(0)) | 0;
  return hash;
}

const PARAM_NAMES = [
  'client_id',
  'redirect_uri',
  'response_type',
  'scope',
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
  'prompt',
  'max_age',
  'acr_values',
  'login_hint',
  'id_token_hint',
  'claims',
  'request',
  'request_uri',
  'response_mode',
  'grant_type',
  'code',
  'code_verifier',
  'refresh_token',
  'token',
  'token_type_hint',
  'post_logout_redirect_uri',
  'xsrf',
  'logout',
  'client_secret',
  'resource',
  'ui_locales',
];

/** Values that are nearly right as often as wrong. */
const value = (clientId: string) =>
  fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.constantFrom(
      clientId,
      CALLBACK,
      'code',
      'openid email profile offline_access',
      'S256',
      'plain',
      'none',
      'login consent',
      '0',
      '-1',
      '99999999999999999999',
      'urn:tessera:acr:phishing-resistant',
      '{"id_token":{"acr":{"essential":true}}}',
      '//evil.example',
      'https://evil.example/callback',
      'authorization_code',
      'refresh_token',
      'client_credentials',
      'a'.repeat(3000),
      '\u0000',
      '%00',
      '😀',
      '\ud800',
    ),
  );

for (const dialect of dialects()) {
  describe(`bad input on the OpenID Connect endpoints (${dialect.name})`, { skip: dialect.skip }, () => {
    let app: ListeningApp;
    let clientId: string;
    let clientSecret: string;

    before(async () => {
      app = await startListeningApp({ dialect: dialect.name });
      await setUpAccount(app);
      const registered = await registerApp(app, { accountSlug: 'acme' });
      clientId = registered.clientId;
      clientSecret = registered.clientSecret!;
    });
    after(async () => app?.close());

    const endpoints: { method: 'GET' | 'POST'; path: string; json: boolean }[] = [
      { method: 'GET', path: '/oidc/auth', json: false },
      { method: 'POST', path: '/oidc/auth', json: false },
      { method: 'POST', path: '/oidc/token', json: true },
      { method: 'POST', path: '/oidc/revoke', json: true },
      { method: 'GET', path: '/oidc/userinfo', json: true },
      { method: 'POST', path: '/oidc/userinfo', json: true },
      { method: 'GET', path: '/oidc/logout', json: false },
      { method: 'POST', path: '/oidc/logout/confirm', json: false },
      { method: 'GET', path: '/oidc/jwks', json: true },
      { method: 'GET', path: '/.well-known/openid-configuration', json: true },
      { method: 'GET', path: '/oidc/auth/{uid}', json: false },
      { method: 'GET', path: '/interaction/{uid}', json: false },
      { method: 'GET', path: '/interaction/{uid}/continue', json: false },
      { method: 'POST', path: '/interaction/{uid}/sign-in', json: false },
      { method: 'POST', path: '/interaction/{uid}/abort', json: false },
    ];

    for (const endpoint of endpoints) {
      it(`${endpoint.method} ${endpoint.path}: an OAuth error, a page or a redirect, never a 5xx`, async () => {
        const statuses = new Map<number, number>();
        await fc.assert(
          fc.asyncProperty(
            fc.dictionary(fc.constantFrom(...PARAM_NAMES), value(clientId), { maxKeys: 8 }),
            fc.constantFrom('application/x-www-form-urlencoded', 'application/json', 'text/plain', 'multipart/form-data', ''),
            fc.oneof(
              fc.constant(''),
              fc.constant(`Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`),
              fc.constant(`Basic ${Buffer.from(`${clientId}:wrong`).toString('base64')}`),
              fc.string({ maxLength: 60 }).map((text) => `Bearer ${text}`),
              fc.string({ maxLength: 60 }),
            ),
            fc.oneof(fc.string({ minLength: 1, maxLength: 30 }), fc.constant('a'.repeat(300))),
            fc.boolean(),
            async (params, contentType, authorization, uid, asJsonBody) => {
              const path = endpoint.path.replace('{uid}', encodeURIComponent(uid));
              const form = new URLSearchParams(Object.entries(params) as [string, string][]).toString();
              const url = endpoint.method === 'GET' ? `${path}?${form}` : path;
              const body = endpoint.method === 'POST' ? (asJsonBody ? JSON.stringify(params) : form) : undefined;
              const response = await app.inject({
                method: endpoint.method,
                url,
                headers: {
                  ...(contentType && body !== undefined ? { 'content-type': contentType } : {}),
                  ...(/^[\x20-\x7e]*$/.test(authorization) && authorization ? { authorization } : {}),
                },
                ...(body !== undefined ? { payload: body } : {}),
              });
              statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
              assert.ok(response.statusCode < 500, `${endpoint.method} ${url} → ${response.statusCode}: ${response.body.slice(0, 500)}`);
              if (endpoint.json && response.statusCode >= 400) {
                const parsed = JSON.parse(response.body) as { error?: unknown };
                assert.equal(typeof parsed.error, 'string', `${endpoint.method} ${url} → ${response.body.slice(0, 300)}`);
              }
            },
          ),
          { numRuns: RUNS, seed: seedOf(`${endpoint.method} ${endpoint.path}`) },
        );
        // The published documents take no input; everything else refuses most of these.
        if (!endpoint.path.includes('jwks') && !endpoint.path.includes('well-known')) {
          assert.ok(
            [...statuses.keys()].some((status) => status >= 300),
            'some case was refused or redirected',
          );
        }
      });
    }

    it('is still healthy afterwards', async () => {
      assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
      assert.equal((await app.inject({ method: 'GET', url: '/.well-known/openid-configuration' })).statusCode, 200);
    });
  });
}
