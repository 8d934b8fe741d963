// Where the OpenID Connect provider answers, and where it sends the browser for a page
// of ours. Kept apart from provider.ts, so that the pages can name them without loading
// oidc-provider: that loads on the first OpenID Connect request only (its memory is then
// spent only where apps use it).
export const OIDC_ROUTES = {
  authorization: '/oidc/auth',
  token: '/oidc/token',
  userinfo: '/oidc/userinfo',
  jwks: '/oidc/jwks',
  end_session: '/oidc/logout',
  revocation: '/oidc/revoke',
} as const;

/** Where oidc-provider sends the browser for a page of ours. */
export function interactionPath(uid: string): string {
  return `/interaction/${encodeURIComponent(uid)}`;
}
