// Forward-auth (DESIGN.md row 17): a reverse proxy asks, before each request to a host
// an admin registered as a proxy app, whether the browser's person may go on. The
// answer never changes anything: whatever method or path the proxy reports, this is a
// read of the session and the app.
import { acrSatisfies, parseAcr, storedAcr } from '../domain/sign-in-decision.js';
import type { App } from '../store/schema.js';
import type { ServiceDeps } from './deps.js';
import { keptGuardedHost, readGuardedHost, type GuardedApp } from './guarded-hosts.js';
import { appRefusal, type AppRefusal } from './oidc.js';
import { authenticateForwardAuth, type SignedIn } from './sessions.js';

export type { GuardedApp } from './guarded-hosts.js';

export type ForwardAuthAnswer =
  | { kind: 'not_guarded' }
  | ({ kind: 'signed_out' } & GuardedApp)
  | ({ kind: 'refused'; reason: AppRefusal | 'stronger_sign_in'; signedIn: SignedIn } & GuardedApp)
  | ({ kind: 'allowed'; signedIn: SignedIn } & GuardedApp);

/** The proxy app guarding an address: its host with the port, else without. `kept`:
 * as read a few seconds ago at most (guarded-hosts.ts), for the check on every request. */
export async function findGuardedApp(deps: Pick<ServiceDeps, 'db' | 'now'>, url: URL, options: { kept?: boolean } = {}): Promise<GuardedApp | null> {
  const candidates = [...new Set([url.host.toLowerCase(), url.hostname.toLowerCase()])];
  for (const host of candidates) {
    const guarded = options.kept ? await keptGuardedHost(deps, host) : await readGuardedHost(deps, host);
    if (guarded) return guarded;
  }
  return null;
}

/** Why a guarded app refuses a signed-in person, or null when it lets them in. */
export function proxyRefusal(app: App, signedIn: SignedIn): AppRefusal | 'stronger_sign_in' | null {
  const refusal = appRefusal(app, signedIn.user);
  if (refusal !== null) return refusal;
  return acrSatisfies(parseAcr(signedIn.session.acr), storedAcr(app.required_acr)) ? null : 'stronger_sign_in';
}

export async function checkForwardAuth(deps: ServiceDeps, input: { token: string | null; url: URL }): Promise<ForwardAuthAnswer> {
  const guarded = await findGuardedApp(deps, input.url, { kept: true });
  if (!guarded) return { kind: 'not_guarded' };
  const signedIn = input.token ? await authenticateForwardAuth(deps, input.token) : null;
  if (!signedIn) return { kind: 'signed_out', ...guarded };
  const reason = proxyRefusal(guarded.app, signedIn);
  return reason === null ? { kind: 'allowed', signedIn, ...guarded } : { kind: 'refused', reason, signedIn, ...guarded };
}

/**
 * Where a person may be sent back to after signing in for a guarded app (`rd`): an
 * absolute http(s) address on a registered proxy host, nothing else. A backslash, a
 * control character, a user name, a relative or scheme-relative address (`//evil`) or
 * a look-alike host (`grafana.example.com.evil.net`) is refused, never "fixed".
 */
export async function guardedReturnAddress(deps: Pick<ServiceDeps, 'db' | 'config' | 'now'>, raw: unknown): Promise<({ url: URL } & GuardedApp) | null> {
  if (typeof raw !== 'string' || raw.length > 8192 || !/^[\x21-\x7e]+$/.test(raw) || raw.includes('\\')) return null;
  if (!/^https?:\/\/[^/]/i.test(raw)) return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  if (url.username !== '' || url.password !== '') return null;
  // Plain http only when Tessera itself is served so (development, tests).
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && deps.config.baseUrl.startsWith('http:'))) return null;
  // Read now, not kept: `rd` follows the apps as they are this moment.
  const guarded = await findGuardedApp(deps, url);
  return guarded ? { url, ...guarded } : null;
}
