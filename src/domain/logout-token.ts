// The claims of a logout token (OpenID Connect Back-Channel Logout 1.0 §2.4), built
// from plain data with the clock and the token id passed in. Whoever holds the signing
// key signs these, with the header `typ: logout+jwt` (§2.4: explicitly typed, so a
// logout token cannot pass for an ID token, nor one for the other).

export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
export const LOGOUT_TOKEN_TYPE = 'logout+jwt';
/** §4: "preferably at most two minutes", so a captured token is not replayable for long. */
export const LOGOUT_TOKEN_LIFETIME_IN_SECONDS = 120;

export interface LogoutTokenSubject {
  /** The app's client_id. */
  aud: string;
  sub: string;
  sid?: string;
}

export interface LogoutTokenClaims extends LogoutTokenSubject {
  iss: string;
  iat: number;
  exp: number;
  jti: string;
  events: { [BACKCHANNEL_LOGOUT_EVENT]: Record<string, never> };
}

/** No `nonce`: §2.4 prohibits it, so a logout token can never be taken for an ID token. */
export function logoutTokenClaims(subject: LogoutTokenSubject, input: { issuer: string; nowInMilliseconds: number; jti: string }): LogoutTokenClaims {
  const iat = Math.floor(input.nowInMilliseconds / 1000);
  return {
    iss: input.issuer,
    aud: subject.aud,
    sub: subject.sub,
    ...(subject.sid === undefined ? {} : { sid: subject.sid }),
    iat,
    exp: iat + LOGOUT_TOKEN_LIFETIME_IN_SECONDS,
    jti: input.jti,
    events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
  };
}
