// The rules of an app's registration, one row per rule (DESIGN.md rows 16 and 17;
// SECURITY.md, other apps).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkAppChange, checkAppHost, checkAppUri, checkNewApp, type AppFieldsInput, type AppSettings } from './apps.js';
import { ACR } from './sign-in-decision.js';

const CONFIDENTIAL: AppFieldsInput = { name: 'Grafana', type: 'confidential', redirect_uris: ['https://grafana.example.com/login/generic_oauth'] };

describe('redirect, post-logout and back-channel URIs', () => {
  const accepted: [string, string][] = [
    ['https with a path and a query', 'https://app.example.com/callback?tenant=acme'],
    ['https with a port', 'https://app.example.com:8443/cb'],
    ['http on 127.0.0.1', 'http://127.0.0.1:8080/callback'],
    ['http on localhost', 'http://localhost/callback'],
    ['http on [::1]', 'http://[::1]:3000/cb'],
    ['an upper-case scheme (kept as given)', 'HTTPS://App.Example.com/Callback'],
    ['an @ in the path', 'https://app.example.com/users/@me'],
  ];
  for (const [name, uri] of accepted) {
    it(`accepts ${name}, exactly as given`, () => {
      assert.deepEqual(checkAppUri(uri, 'redirect_uris'), { ok: true, value: uri });
    });
  }

  const refused: [string, unknown, RegExp][] = [
    ['http to any other host', 'http://app.example.com/cb', /must use https/],
    ['http to a look-alike of localhost', 'http://localhost.evil.example/cb', /must use https/],
    ['http to 127.0.0.1 as a subdomain', 'http://127.0.0.1.evil.example/cb', /must use https/],
    ['a fragment', 'https://app.example.com/cb#done', /fragment/],
    ['an empty fragment', 'https://app.example.com/cb#', /fragment/],
    ['a relative path', '/callback', /not a full URL/],
    ['a scheme-relative URL', '//app.example.com/cb', /not a full URL/],
    ['javascript:', 'javascript:alert(1)', /must start with https/],
    ['data:', 'data:text/html,hi', /must start with https/],
    ['a custom scheme', 'com.example.app:/callback', /must start with https/],
    ['a user name and password', 'https://user:secret@app.example.com/cb', /user name or password/],
    ['an empty user name', 'https://@app.example.com/cb', /user name or password/],
    ['a backslash', 'https://app.example.com\\@evil.example/cb', /backslash/],
    ['no host', 'https:///cb', /not a full URL/],
    ['one slash', 'https:/app.example.com/cb', /not a full URL/],
    ['a space', 'https://app.example.com/call back', /space/],
    ['a leading space', ' https://app.example.com/cb', /space/],
    ['a non-ASCII host', 'https://exämple.com/cb', /outside ASCII/],
    ['more than 2000 characters', `https://app.example.com/${'a'.repeat(2000)}`, /at most 2000/],
    ['an empty string', '', /must be a URL/],
    ['a number', 42, /must be a URL/],
    ['a bad port', 'https://app.example.com:99999/cb', /not a valid URL/],
  ];
  for (const [name, uri, message] of refused) {
    it(`refuses ${name}`, () => {
      const result = checkAppUri(uri, 'redirect_uris');
      assert.equal(result.ok, false);
      if (!result.ok) {
        assert.equal(result.failure.code, 'invalid_request');
        assert.equal(result.failure.field, 'redirect_uris');
        assert.match(result.failure.message!, message);
      }
    });
  }

  it('names the list the URI is in', () => {
    const result = checkAppUri('http://app.example.com/', 'backchannel_logout_uri');
    assert.ok(!result.ok && result.failure.field === 'backchannel_logout_uri' && /back-channel logout URI/.test(result.failure.message!));
  });
});

describe('proxy hosts', () => {
  const accepted: [string, string][] = [
    ['grafana.example.com', 'grafana.example.com'],
    ['Grafana.Example.COM', 'grafana.example.com'],
    [' wiki.example.com ', 'wiki.example.com'],
    ['grafana.example.com:8443', 'grafana.example.com:8443'],
    ['intranet', 'intranet'],
    ['a-b.c-d.example', 'a-b.c-d.example'],
  ];
  for (const [raw, host] of accepted) {
    it(`accepts ${JSON.stringify(raw)} as ${host}`, () => assert.deepEqual(checkAppHost(raw), { ok: true, value: host }));
  }
  for (const raw of [
    '',
    'https://grafana.example.com',
    'grafana.example.com/path',
    'grafana.example.com.',
    '-grafana.example.com',
    'grafana_.example.com',
    'grafana.example.com:0',
    'grafana.example.com:080',
    'grafana.example.com:65536',
    'user@grafana.example.com',
    '*.example.com',
    '[::1]',
    `${'a'.repeat(64)}.example.com`,
    'grafäna.example.com',
    42,
  ]) {
    it(`refuses ${JSON.stringify(raw)}`, () => {
      const result = checkAppHost(raw);
      assert.ok(!result.ok && result.failure.field === 'host', JSON.stringify(result));
    });
  }
});

describe('a new app', () => {
  it('takes the defaults: staff only, any sign-in strength, the consent screen shown', () => {
    assert.deepEqual(checkNewApp(CONFIDENTIAL), {
      ok: true,
      value: {
        name: 'Grafana',
        type: 'confidential',
        redirectUris: ['https://grafana.example.com/login/generic_oauth'],
        postLogoutRedirectUris: [],
        backchannelLogoutUri: null,
        host: null,
        firstParty: false,
        allowedRoles: ['admin', 'agent'],
        requiredAcr: null,
      },
    });
  });

  it('trims and normalises the name; keeps roles once each, in one order', () => {
    const result = checkNewApp({ ...CONFIDENTIAL, name: '  Grafana \n  Ops ', allowed_roles: ['end_user', 'admin', 'end_user'] });
    assert.ok(result.ok);
    assert.equal(result.value.name, 'Grafana Ops');
    assert.deepEqual(result.value.allowedRoles, ['admin', 'end_user']);
  });

  it('takes every field an OpenID Connect client has', () => {
    const result = checkNewApp({
      name: 'Tool',
      type: 'public',
      redirect_uris: ['http://127.0.0.1:5173/cb', 'https://tool.example.com/cb'],
      post_logout_redirect_uris: ['https://tool.example.com/bye'],
      backchannel_logout_uri: 'https://tool.example.com/backchannel',
      first_party: true,
      allowed_roles: ['end_user'],
      required_acr: ACR.phishingResistant,
    });
    assert.ok(result.ok);
    assert.deepEqual(result.value.postLogoutRedirectUris, ['https://tool.example.com/bye']);
    assert.equal(result.value.backchannelLogoutUri, 'https://tool.example.com/backchannel');
    assert.equal(result.value.firstParty, true);
    assert.equal(result.value.requiredAcr, 'urn:tessera:acr:phishing-resistant');
  });

  const refused: [string, AppFieldsInput, string, RegExp][] = [
    ['no name', { ...CONFIDENTIAL, name: undefined }, 'name', /1 to 100/],
    ['a blank name', { ...CONFIDENTIAL, name: '   ' }, 'name', /1 to 100/],
    ['a 101-character name', { ...CONFIDENTIAL, name: 'x'.repeat(101) }, 'name', /1 to 100/],
    ['no type', { ...CONFIDENTIAL, type: undefined }, 'type', /confidential, public or proxy/],
    ['an unknown type', { ...CONFIDENTIAL, type: 'implicit' }, 'type', /confidential, public or proxy/],
    ['no redirect URI', { ...CONFIDENTIAL, redirect_uris: undefined }, 'redirect_uris', /at least 1/],
    ['an empty list of redirect URIs', { ...CONFIDENTIAL, redirect_uris: [] }, 'redirect_uris', /at least 1/],
    ['11 redirect URIs', { ...CONFIDENTIAL, redirect_uris: Array.from({ length: 11 }, (_, i) => `https://a.example/${i}`) }, 'redirect_uris', /at most 10/],
    ['the same redirect URI twice', { ...CONFIDENTIAL, redirect_uris: ['https://a.example/cb', 'https://a.example/cb'] }, 'redirect_uris', /twice/],
    ['redirect URIs not in a list', { ...CONFIDENTIAL, redirect_uris: 'https://a.example/cb' }, 'redirect_uris', /as a list/],
    ['a bad post-logout URI', { ...CONFIDENTIAL, post_logout_redirect_uris: ['http://a.example/bye'] }, 'post_logout_redirect_uris', /https/],
    [
      '11 post-logout URIs',
      { ...CONFIDENTIAL, post_logout_redirect_uris: Array.from({ length: 11 }, (_, i) => `https://a.example/${i}`) },
      'post_logout_redirect_uris',
      /at most 10/,
    ],
    ['a bad back-channel URI', { ...CONFIDENTIAL, backchannel_logout_uri: 'https://a.example/#x' }, 'backchannel_logout_uri', /fragment/],
    ['no role', { ...CONFIDENTIAL, allowed_roles: [] }, 'allowed_roles', /at least one role/],
    ['an unknown role', { ...CONFIDENTIAL, allowed_roles: ['admin', 'owner'] }, 'allowed_roles', /at least one role/],
    ['an unknown acr', { ...CONFIDENTIAL, required_acr: 'urn:tessera:acr:magic' }, 'required_acr', /sign-in strength/],
    ['an acr of another provider', { ...CONFIDENTIAL, required_acr: 'phr' }, 'required_acr', /sign-in strength/],
    ['first_party as text', { ...CONFIDENTIAL, first_party: 'yes' }, 'first_party', /true or false/],
    ['a host on an OpenID Connect app', { ...CONFIDENTIAL, host: 'grafana.example.com' }, 'host', /Only a proxy app/],
    ['a proxy app without a host', { name: 'Wiki', type: 'proxy' }, 'host', /needs the host/],
    [
      'a proxy app with redirect URIs',
      { name: 'Wiki', type: 'proxy', host: 'wiki.example.com', redirect_uris: ['https://wiki.example.com/cb'] },
      'redirect_uris',
      /no redirect URIs/,
    ],
    [
      'a proxy app with a back-channel URI',
      { name: 'Wiki', type: 'proxy', host: 'wiki.example.com', backchannel_logout_uri: 'https://wiki.example.com/bc' },
      'backchannel_logout_uri',
      /no back-channel/,
    ],
  ];
  for (const [name, input, field, message] of refused) {
    it(`refuses ${name}`, () => {
      const result = checkNewApp(input);
      assert.equal(result.ok, false, JSON.stringify(result));
      if (!result.ok) {
        assert.equal(result.failure.code, 'invalid_request');
        assert.equal(result.failure.field, field);
        assert.match(result.failure.message!, message);
      }
    });
  }

  it('a proxy app is its host, roles and sign-in strength; empty URI lists are fine', () => {
    const result = checkNewApp({ name: 'Wiki', type: 'proxy', host: 'Wiki.Example.com', redirect_uris: [], required_acr: ACR.twoFactor });
    assert.ok(result.ok);
    assert.equal(result.value.host, 'wiki.example.com');
    assert.deepEqual(result.value.redirectUris, []);
    assert.equal(result.value.requiredAcr, 'urn:tessera:acr:two-factor');
  });
});

describe('a change', () => {
  const current = (): AppSettings => {
    const result = checkNewApp({ ...CONFIDENTIAL, post_logout_redirect_uris: ['https://grafana.example.com/bye'], required_acr: ACR.twoFactor });
    assert.ok(result.ok);
    return result.value;
  };

  it('keeps every field left out', () => {
    assert.deepEqual(checkAppChange(current(), {}), { ok: true, value: current() });
    const renamed = checkAppChange(current(), { name: 'Grafana (ops)' });
    assert.ok(renamed.ok);
    assert.deepEqual({ ...renamed.value, name: 'Grafana' }, current());
  });

  it('clears what is sent as null or empty', () => {
    const result = checkAppChange(current(), { required_acr: null, post_logout_redirect_uris: [], backchannel_logout_uri: null });
    assert.ok(result.ok);
    assert.equal(result.value.requiredAcr, null);
    assert.deepEqual(result.value.postLogoutRedirectUris, []);
  });

  it('never leaves an OpenID Connect app without a redirect URI', () => {
    const result = checkAppChange(current(), { redirect_uris: [] });
    assert.ok(!result.ok && result.failure.field === 'redirect_uris');
  });

  it('refuses another type, and accepts the same one', () => {
    const other = checkAppChange(current(), { type: 'public' });
    assert.ok(!other.ok && result(other).field === 'type' && /cannot change/.test(result(other).message!));
    assert.ok(checkAppChange(current(), { type: 'confidential' }).ok);
    const unknown = checkAppChange(current(), { type: 'robot' });
    assert.ok(!unknown.ok && /confidential, public or proxy/.test(result(unknown).message!));
  });

  it("changes a proxy app's host, never to none", () => {
    const proxy = checkNewApp({ name: 'Wiki', type: 'proxy', host: 'wiki.example.com' });
    assert.ok(proxy.ok);
    const moved = checkAppChange(proxy.value, { host: 'docs.example.com:8443' });
    assert.ok(moved.ok && moved.value.host === 'docs.example.com:8443');
    const gone = checkAppChange(proxy.value, { host: null });
    assert.ok(!gone.ok && result(gone).field === 'host');
  });
});

function result(value: { ok: boolean; failure?: { field?: string; message?: string } }): { field?: string; message?: string } {
  return value.failure ?? {};
}
