// What an account admin may register as an app (DESIGN.md rows 16 and 17): an OpenID
// Connect client (confidential or public) or a host guarded by forward-auth (proxy).
// Pure checks over what was sent; the service adds what needs the database (a host
// taken by another app).
import { fail, ok, type Result } from './failures.js';
import { ROLES, isRole, isValidDisplayName, normalizeDisplayName } from './identity.js';
import { ACR, type Acr } from './sign-in-decision.js';
import type { Role } from './types.js';

export const APP_TYPES = ['confidential', 'public', 'proxy'] as const;
export type AppType = (typeof APP_TYPES)[number];

/** An app's settings, checked and normalised. */
export interface AppSettings {
  name: string;
  type: AppType;
  /** Kept exactly as given: oidc-provider matches a redirect URI character for
   * character (SECURITY.md, other apps: exact redirect URI match). */
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  backchannelLogoutUri: string | null;
  /** A proxy app's host name, lower-case, with its port when it has one. */
  host: string | null;
  /** Trusted by the account: no consent screen. */
  firstParty: boolean;
  allowedRoles: Role[];
  requiredAcr: Acr | null;
}

/** The fields an admin sends, as received; a field left out is undefined. */
export interface AppFieldsInput {
  name?: unknown;
  type?: unknown;
  redirect_uris?: unknown;
  post_logout_redirect_uris?: unknown;
  backchannel_logout_uri?: unknown;
  host?: unknown;
  first_party?: unknown;
  allowed_roles?: unknown;
  required_acr?: unknown;
}

export const DEFAULT_ALLOWED_ROLES: readonly Role[] = ['admin', 'agent'];
export const MAX_REDIRECT_URIS = 10;
export const MAX_POST_LOGOUT_REDIRECT_URIS = 10;
export const MAX_URI_LENGTH = 2000;
export const ACR_VALUES: readonly Acr[] = [ACR.password, ACR.twoFactor, ACR.phishingResistant];

/** Plain http only reaches the person's own computer (RFC 8252 §7.3, native apps on
 * loopback); everything else must be https (RFC 6749 §3.1.2.1, RFC 9700 §2.1). The
 * same hosts may take a webhook over http (automation.ts). */
export const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '[::1]']);

type UriKind = 'redirect_uris' | 'post_logout_redirect_uris' | 'backchannel_logout_uri';

const URI_WORDS: Record<UriKind, string> = {
  redirect_uris: 'redirect URI',
  post_logout_redirect_uris: 'post-logout redirect URI',
  backchannel_logout_uri: 'back-channel logout URI',
};

/** A URI as a message quotes it: shortened, so a 2000-character one does not fill the page. */
function quoted(uri: string): string {
  return uri.length > 80 ? `"${uri.slice(0, 77)}…"` : `"${uri}"`;
}

/** One URI an app gives Tessera to send people (or logout tokens) to. It is matched
 * exactly, so it is kept as given: what would be changed by parsing (spaces, other
 * characters than printable ASCII) is refused, not cleaned. */
export function checkAppUri(raw: unknown, kind: UriKind): Result<string> {
  const words = URI_WORDS[kind];
  if (typeof raw !== 'string' || raw === '')
    return fail('invalid_request', {
      field: kind,
      message: `Each ${words} must be a URL such as https://app.example.com/callback.`,
      detail: { key: 'detail.app.uriMissing', values: { kind } },
    });
  if (raw.length > MAX_URI_LENGTH)
    return fail('invalid_request', {
      field: kind,
      message: `A ${words} may be at most ${MAX_URI_LENGTH} characters.`,
      detail: { key: 'detail.app.uriTooLong', values: { kind, max: MAX_URI_LENGTH } },
    });
  // Each problem names the URI; `key` words it in other languages (http/errors.ts).
  const problem = (text: string, key: string) =>
    fail<string>('invalid_request', { field: kind, message: `The ${words} ${quoted(raw)} ${text}`, detail: { key, values: { kind, uri: quoted(raw) } } });
  // Printable ASCII only: a space or a character a browser would encode differently
  // would never match what the app sends (international names as punycode).
  if (!/^[\x21-\x7e]+$/.test(raw))
    return problem(
      'holds a space or a character outside ASCII: percent-encode it (and write an international host name in punycode).',
      'detail.app.uriNotAscii',
    );
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(raw)?.[1]?.toLowerCase();
  if (scheme === undefined) return problem('is not a full URL: write it with https:// in front.', 'detail.app.uriNoScheme');
  if (scheme !== 'https' && scheme !== 'http')
    return problem('must start with https:// (or http:// for 127.0.0.1, localhost or [::1]).', 'detail.app.uriScheme');
  if (raw.includes('#')) return problem('cannot hold a fragment (#).', 'detail.app.uriFragment');
  // Browsers read a backslash in a URL as a slash, so what it names is not what it shows.
  if (raw.includes('\\')) return problem('cannot hold a backslash.', 'detail.app.uriBackslash');
  const authority = /^[A-Za-z]+:\/\/([^/?]*)/.exec(raw)?.[1];
  if (authority === undefined || authority === '')
    return problem('is not a full URL: write it with https:// and a host name in front.', 'detail.app.uriNoHost');
  if (authority.includes('@')) return problem('cannot hold a user name or password (user@host).', 'detail.app.uriUserInfo');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return problem('is not a valid URL.', 'detail.app.uriInvalid');
  }
  if (scheme === 'http' && !LOOPBACK_HOSTS.has(url.hostname))
    return problem('must use https: http:// is only for 127.0.0.1, localhost or [::1].', 'detail.app.uriNotHttps');
  return ok(raw);
}

function checkUriList(raw: unknown, kind: Exclude<UriKind, 'backchannel_logout_uri'>, min: number, max: number): Result<string[]> {
  const words = URI_WORDS[kind];
  if (!Array.isArray(raw))
    return fail('invalid_request', { field: kind, message: `Give the ${words}s as a list.`, detail: { key: 'detail.app.uriList', values: { kind } } });
  if (raw.length < min)
    return fail('invalid_request', {
      field: kind,
      message: `Give at least ${min} ${words}: where the app receives people back after they sign in.`,
      detail: { key: 'detail.app.uriTooFew', values: { kind, min } },
    });
  if (raw.length > max)
    return fail('invalid_request', {
      field: kind,
      message: `An app may have at most ${max} ${words}s.`,
      detail: { key: 'detail.app.uriTooMany', values: { kind, max } },
    });
  const uris: string[] = [];
  for (const item of raw) {
    const checked = checkAppUri(item, kind);
    if (!checked.ok) return checked;
    if (uris.includes(checked.value))
      return fail('invalid_request', {
        field: kind,
        message: `The ${words} ${quoted(checked.value)} is listed twice.`,
        detail: { key: 'detail.app.uriTwice', values: { kind, uri: quoted(checked.value) } },
      });
    uris.push(checked.value);
  }
  return ok(uris);
}

const HOST_LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const HOST_NAME = new RegExp(`^${HOST_LABEL}(?:\\.${HOST_LABEL})*$`);

/** A proxy app's host: a DNS name (any case, kept lower-case) with an optional port,
 * as the reverse proxy's X-Forwarded-Host carries it. */
export function checkAppHost(raw: unknown): Result<string> {
  const invalid = fail<string>('invalid_request', {
    field: 'host',
    message: 'The host must be a host name such as grafana.example.com, with a port if it has one (grafana.example.com:8443); no https:// and no path.',
  });
  if (typeof raw !== 'string') return invalid;
  const host = raw.trim().toLowerCase();
  if (host === '')
    return fail('invalid_request', { field: 'host', message: 'A proxy app needs the host name your reverse proxy guards, such as grafana.example.com.' });
  const match = /^([^:]+)(?::(\d{1,5}))?$/.exec(host);
  if (!match || match[1]!.length > 253 || !HOST_NAME.test(match[1]!)) return invalid;
  if (match[2] !== undefined && (match[2].startsWith('0') || Number(match[2]) > 65535)) return invalid;
  return ok(host);
}

function checkName(raw: unknown): Result<string> {
  const name = typeof raw === 'string' ? normalizeDisplayName(raw) : '';
  return isValidDisplayName(name) ? ok(name) : fail('invalid_request', { field: 'name', message: "The app's name must be 1 to 100 characters." });
}

function checkType(raw: unknown): Result<AppType> {
  return typeof raw === 'string' && (APP_TYPES as readonly string[]).includes(raw)
    ? ok(raw as AppType)
    : fail('invalid_request', { field: 'type', message: "Choose the app's type: confidential, public or proxy." });
}

function checkRoles(raw: unknown): Result<Role[]> {
  const invalid = fail<Role[]>('invalid_request', { field: 'allowed_roles', message: 'Allow at least one role: admin, agent or end_user.' });
  if (!Array.isArray(raw) || raw.length === 0 || !raw.every(isRole)) return invalid;
  // In one order, each once: the list is a set.
  return ok(ROLES.filter((role) => raw.includes(role)));
}

function checkAcr(raw: unknown): Result<Acr | null> {
  if (raw === null) return ok(null);
  return typeof raw === 'string' && (ACR_VALUES as readonly string[]).includes(raw)
    ? ok(raw as Acr)
    : fail('invalid_request', {
        field: 'required_acr',
        message: `The required sign-in strength must be ${ACR_VALUES.join(', ')}, or null for any.`,
        detail: { key: 'detail.app.acrChoice', values: { values: ACR_VALUES.join(', ') } },
      });
}

function checkFirstParty(raw: unknown): Result<boolean> {
  return typeof raw === 'boolean' ? ok(raw) : fail('invalid_request', { field: 'first_party', message: 'first_party must be true or false.' });
}

/** The settings as they will be: every field sent checked, every field left out kept
 * from `current` (a new app starts from the defaults), and then the rules of the type. */
function merge(current: AppSettings, input: AppFieldsInput, type: AppType): Result<AppSettings> {
  const oidc = type !== 'proxy';
  const name = input.name === undefined ? ok(current.name) : checkName(input.name);
  if (!name.ok) return name;
  const redirectUris =
    input.redirect_uris === undefined
      ? ok(current.redirectUris)
      : checkUriList(input.redirect_uris, 'redirect_uris', oidc ? 1 : 0, oidc ? MAX_REDIRECT_URIS : 0);
  if (!redirectUris.ok)
    return oidc ? redirectUris : fail('invalid_request', { field: 'redirect_uris', message: 'A proxy app has no redirect URIs: give its host instead.' });
  if (oidc && redirectUris.value.length === 0)
    return fail('invalid_request', { field: 'redirect_uris', message: 'Give at least 1 redirect URI: where the app receives people back after they sign in.' });
  const postLogout =
    input.post_logout_redirect_uris === undefined
      ? ok(current.postLogoutRedirectUris)
      : checkUriList(input.post_logout_redirect_uris, 'post_logout_redirect_uris', 0, oidc ? MAX_POST_LOGOUT_REDIRECT_URIS : 0);
  if (!postLogout.ok)
    return oidc ? postLogout : fail('invalid_request', { field: 'post_logout_redirect_uris', message: 'A proxy app has no post-logout redirect URIs.' });
  const backchannel =
    input.backchannel_logout_uri === undefined
      ? ok(current.backchannelLogoutUri)
      : input.backchannel_logout_uri === null
        ? ok(null)
        : checkAppUri(input.backchannel_logout_uri, 'backchannel_logout_uri');
  if (!backchannel.ok) return backchannel;
  if (!oidc && backchannel.value !== null)
    return fail('invalid_request', { field: 'backchannel_logout_uri', message: 'A proxy app has no back-channel logout URI.' });
  let host = current.host;
  if (input.host !== undefined && input.host !== null) {
    if (oidc) return fail('invalid_request', { field: 'host', message: 'Only a proxy app has a host; this app signs people in with OpenID Connect.' });
    const checked = checkAppHost(input.host);
    if (!checked.ok) return checked;
    host = checked.value;
  } else if (input.host === null) {
    host = null;
  }
  if (!oidc && host === null)
    return fail('invalid_request', { field: 'host', message: 'A proxy app needs the host name your reverse proxy guards, such as grafana.example.com.' });
  const firstParty = input.first_party === undefined ? ok(current.firstParty) : checkFirstParty(input.first_party);
  if (!firstParty.ok) return firstParty;
  const roles = input.allowed_roles === undefined ? ok(current.allowedRoles) : checkRoles(input.allowed_roles);
  if (!roles.ok) return roles;
  const acr = input.required_acr === undefined ? ok(current.requiredAcr) : checkAcr(input.required_acr);
  if (!acr.ok) return acr;
  return ok({
    name: name.value,
    type,
    redirectUris: redirectUris.value,
    postLogoutRedirectUris: postLogout.value,
    backchannelLogoutUri: backchannel.value,
    host: oidc ? null : host,
    firstParty: firstParty.value,
    allowedRoles: roles.value,
    requiredAcr: acr.value,
  });
}

/** A new app's settings: name and type required, the rest defaulted (no consent
 * skipped, staff only, any sign-in strength). */
export function checkNewApp(input: AppFieldsInput): Result<AppSettings> {
  const name = checkName(input.name);
  if (!name.ok) return name;
  const type = checkType(input.type);
  if (!type.ok) return type;
  const defaults: AppSettings = {
    name: '',
    type: type.value,
    redirectUris: [],
    postLogoutRedirectUris: [],
    backchannelLogoutUri: null,
    host: null,
    firstParty: false,
    allowedRoles: [...DEFAULT_ALLOWED_ROLES],
    requiredAcr: null,
  };
  return merge(defaults, input, type.value);
}

/** An app's settings after a change; fields left out keep their value. The type is
 * fixed at creation: a client's secret, its PKCE rule and a proxy's host all hang on
 * it, so another type is another app. */
export function checkAppChange(current: AppSettings, input: AppFieldsInput): Result<AppSettings> {
  if (input.type !== undefined && input.type !== current.type) {
    const type = checkType(input.type);
    if (!type.ok) return type;
    return fail('invalid_request', { field: 'type', message: "An app's type cannot change: add a new app of the other type, then remove this one." });
  }
  return merge(current, input, current.type);
}
