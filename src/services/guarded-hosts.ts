// Which proxy app guards a host (forward-auth, DESIGN.md row 17). A reverse proxy asks
// before every request a guarded app serves, so the host's app and account are kept
// in process for a few seconds instead of being read twice per request (bench/README.md,
// "Forward-auth"); the session is still read on every check, so signing out, a
// suspension or a reset holds on the very next request. An app added, changed or
// removed is seen at once by the instance that made the change (it forgets what it
// kept) and within GUARDED_HOST_CACHE_MILLISECONDS by every other instance.
import { findAccountById } from '../store/accounts.js';
import { findAppByHost } from '../store/apps.js';
import type { Account, App } from '../store/schema.js';
import type { ServiceDeps } from './deps.js';

export interface GuardedApp {
  app: App;
  account: Account;
}

/** How long an instance goes on using what it read of a host's app. */
export const GUARDED_HOST_CACHE_MILLISECONDS = 5_000;
/** Hosts kept at most (a proxy reports only the hosts it serves; this bounds the rest). */
const MAX_HOSTS_KEPT = 1_000;

interface HostCache {
  /** Moves on at each forget(): a read begun before it is not kept. */
  generation: number;
  entries: Map<string, { at: number; guarded: GuardedApp | null }>;
}

/** One per database handle, so that two runtimes in one process (tests) never share. */
const caches = new WeakMap<object, HostCache>();

function cacheOf(db: object): HostCache {
  let cache = caches.get(db);
  if (!cache) {
    cache = { generation: 0, entries: new Map() };
    caches.set(db, cache);
  }
  return cache;
}

/** The proxy app registered for exactly this host (with its port if it has one), read now. */
export async function readGuardedHost(deps: Pick<ServiceDeps, 'db'>, host: string): Promise<GuardedApp | null> {
  const app = await findAppByHost(deps.db, host);
  if (!app || app.kind !== 'proxy') return null;
  const account = await findAccountById(deps.db, app.account_id);
  return account ? { app, account } : null;
}

/** The same, as read at most GUARDED_HOST_CACHE_MILLISECONDS ago (a host with no app too). */
export async function keptGuardedHost(deps: Pick<ServiceDeps, 'db' | 'now'>, host: string): Promise<GuardedApp | null> {
  const cache = cacheOf(deps.db);
  const now = deps.now();
  const kept = cache.entries.get(host);
  if (kept && now >= kept.at && now - kept.at < GUARDED_HOST_CACHE_MILLISECONDS) return kept.guarded;
  const generation = cache.generation;
  const guarded = await readGuardedHost(deps, host);
  if (cache.generation === generation) {
    cache.entries.delete(host);
    if (cache.entries.size >= MAX_HOSTS_KEPT) cache.entries.delete(cache.entries.keys().next().value!);
    cache.entries.set(host, { at: now, guarded });
  }
  return guarded;
}

/** After an app is added, changed or removed: this instance reads every host again. */
export function forgetGuardedHosts(deps: Pick<ServiceDeps, 'db'>): void {
  const cache = caches.get(deps.db);
  if (!cache) return;
  cache.generation += 1;
  cache.entries.clear();
}
