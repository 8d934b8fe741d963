import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BACKCHANNEL_LOGOUT_EVENT, logoutTokenClaims } from './logout-token.js';

describe('logout token claims (Back-Channel Logout 1.0 §2.4)', () => {
  const input = { issuer: 'https://sign-in.acme.test', nowInMilliseconds: Date.UTC(2026, 10, 28, 12, 0, 0, 999), jti: 'jti-1' };

  it('names the app, the person and the session, with the logout event, lasting two minutes', () => {
    assert.deepEqual(logoutTokenClaims({ aud: 'grafana', sub: 'user-1', sid: 'session-1' }, input), {
      iss: 'https://sign-in.acme.test',
      aud: 'grafana',
      sub: 'user-1',
      sid: 'session-1',
      iat: Date.UTC(2026, 10, 28, 12, 0, 0) / 1000,
      exp: Date.UTC(2026, 10, 28, 12, 2, 0) / 1000,
      jti: 'jti-1',
      events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
    });
  });

  it('has no sid when none is given, and never a nonce', () => {
    const claims = logoutTokenClaims({ aud: 'grafana', sub: 'user-1' }, input);
    assert.ok(!('sid' in claims));
    assert.ok(!('nonce' in claims));
    assert.equal(BACKCHANNEL_LOGOUT_EVENT, 'http://schemas.openid.net/event/backchannel-logout');
  });
});
