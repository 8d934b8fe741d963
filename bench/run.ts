// `npm run bench` (and `npm run bench:quick`): Tessera side by side with better-auth,
// the argon2id ceiling, Tessera under 2× overload, Tessera as an OpenID Connect
// provider, and Tessera at 10k, 100k and 1M users. Prints tables with Tessera ÷ peer
// ratios and writes the raw figures to results/<date>.json. See README.md beside this
// file for the method.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { hash, verify } from '@node-rs/argon2';
import { ARGON2ID_OPTIONS } from './peer/auth.js';
import { startPeer } from './peer/system.js';
import { closedLoop, openLoop, percentiles, type LoopStats, type OpResult } from './lib/load.js';
import { cpuDelta, peakRssMiB, resetPeakRss, snapshot, type CpuDelta } from './lib/proc.js';
import { summarize, type DatabaseCpu } from './lib/summary.js';
import { renderReport, type OidcReport, type OverloadReport, type Report, type SystemReport, type WorkloadResult } from './lib/report.js';
import {
  BENCH_APPLICATION_NAME,
  BackendCpu,
  POSTGRES_URL,
  REDIS_URL,
  STATEMENT_TIMING_PRELOAD,
  collectStatements,
  type StatementTiming,
} from './lib/postgres.js';
import type { Challenge, Store, SystemUnderTest } from './lib/system.js';
import { PASSWORD } from './lib/users.js';
import {
  CODE_LIFETIME_IN_SECONDS,
  OidcPerson,
  checkWithOpenidClient,
  exchangeCode,
  refreshGrant,
  registerBenchApp,
  userinfo,
  type Code,
  type Tokens,
} from './tessera/oidc.js';
import { TESSERA_ROOT, startTessera } from './tessera/system.js';
import { openStore } from '../src/store/database.js';
import { Redis } from 'ioredis';
import pg from 'pg';

const BENCH_ROOT = fileURLToPath(new URL('.', import.meta.url));
const CORES = availableParallelism();

interface Options {
  quick: boolean;
  durationMs: number;
  warmupMs: number;
  users: number;
  growth: number[];
  overloadMs: number;
  ceiling: boolean;
  sideBySide: boolean;
  peer: boolean;
  overload: boolean;
  oidc: boolean;
  keep: boolean;
  /** The stores to run, in order (SQLite alone by default). */
  stores: Store[];
  /** A report of the other store to set beside this one (--compare=FILE). */
  compare: string | null;
  /** Time each statement inside the servers (PostgreSQL only; bench/lib/pg-statements.cjs). */
  pgStatements: boolean;
}

function parseOptions(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const value = (name: string): string | undefined => argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const known = [
    '--quick',
    '--pg-statements',
    '--no-side-by-side',
    '--no-peer',
    '--no-overload',
    '--no-oidc',
    '--no-growth',
    '--only=oidc',
    '--keep',
    '--help',
  ];
  for (const arg of argv) {
    if (
      !known.includes(arg) &&
      !/^--(duration|users|growth|overload-seconds|compare)=/.test(arg) &&
      !/^--store=(sqlite|postgres)(,(sqlite|postgres))?$/.test(arg)
    ) {
      throw new Error(`unknown option ${arg}; see README.md`);
    }
  }
  // --only=oidc: the OpenID Connect workload alone (no ceiling, side by side or growth).
  const onlyOidc = argv.includes('--only=oidc');
  if (onlyOidc && argv.includes('--no-oidc')) throw new Error('--only=oidc and --no-oidc contradict each other');
  if (argv.includes('--help')) {
    process.stdout.write(
      'Usage: npm run bench [-- options]\n  --quick                 ~3 s per workload, small growth sizes (smoke test)\n  --duration=S            seconds per measured workload (default 20, quick 3)\n  --users=N               users seeded for the side-by-side and OpenID Connect runs (default 50000, quick 20000)\n  --growth=N,N,N          Tessera-alone sizes (default 10000,100000,1000000)\n  --overload-seconds=S    length of the 2× overload (default 60, quick 10)\n  --no-side-by-side --no-peer --no-overload --no-oidc --no-growth   skip a part\n  --only=oidc             the OpenID Connect workload alone (code exchange, refresh, userinfo)\n  --store=postgres        Tessera on a fresh PostgreSQL database with its limits in Redis, better-auth on\n                          PostgreSQL with its secondary storage in Redis (--store=sqlite,postgres: both, one after the other)\n  --pg-statements         time each statement inside the servers (PostgreSQL; adds a little work per query)\n  --compare=FILE          a report (results/….json) of the other store to set beside this run\n  --keep                  keep the temporary data directories\n',
    );
    process.exit(0);
  }
  const durationMs = 1000 * Number(value('duration') ?? (quick ? 3 : 20));
  const users = Number(value('users') ?? (quick ? 20_000 : 50_000));
  const growthRaw = value('growth');
  const growth =
    argv.includes('--no-growth') || onlyOidc
      ? []
      : growthRaw
        ? growthRaw.split(',').map(Number)
        : quick
          ? [2_000, 10_000, 40_000]
          : [10_000, 100_000, 1_000_000];
  const overloadMs = 1000 * Number(value('overload-seconds') ?? (quick ? 10 : 60));
  if (!(durationMs > 0) || !(users >= 1000) || growth.some((n) => !(n >= 1000)) || !(overloadMs > 0))
    throw new Error('bad --duration, --users, --growth or --overload-seconds');
  return {
    quick,
    durationMs,
    warmupMs: quick ? 1500 : 5000,
    users,
    growth,
    overloadMs,
    ceiling: !onlyOidc,
    sideBySide: !argv.includes('--no-side-by-side') && !onlyOidc,
    peer: !argv.includes('--no-peer'),
    overload: !argv.includes('--no-overload'),
    oidc: !argv.includes('--no-oidc'),
    keep: argv.includes('--keep'),
    stores: (value('store') ?? 'sqlite').split(',') as Store[],
    compare: value('compare') ?? null,
    pgStatements: argv.includes('--pg-statements'),
  };
}

const started = Date.now();
function log(line: string): void {
  process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
}

/** PostgreSQL's backends serving the system during a measured window (PostgreSQL only). */
/** Warm-up, then the measured closed loop at concurrency 16, with server CPU and peak
 * RSS taken over the measured part only. */
async function measure(
  system: SystemUnderTest | null,
  options: Options,
  op: (worker: number) => Promise<OpResult>,
  settings: { concurrency?: number; maxOps?: number; warmup?: boolean } = {},
): Promise<WorkloadResult> {
  const concurrency = settings.concurrency ?? 16;
  const maxOps = settings.maxOps ?? 5_000_000;
  if (settings.warmup !== false) await closedLoop({ concurrency, durationMs: options.warmupMs, maxOps, op });
  const pid = system?.server.pid ?? null;
  const probe = system?.databaseName ? await BackendCpu.open(system.databaseName) : null;
  let database: DatabaseCpu | null = null;
  let stats: LoopStats;
  let before: ReturnType<typeof snapshot>;
  let after: ReturnType<typeof snapshot>;
  const rssReset = pid !== null && resetPeakRss(pid);
  const statementsFile = timedStatementsFile(system, options);
  let statements: StatementTiming[] | null = null;
  try {
    if (statementsFile && pid !== null) await collectStatements(pid, statementsFile);
    await probe?.start();
    before = snapshot(pid);
    stats = await closedLoop({ concurrency, durationMs: options.durationMs, maxOps, op });
    after = snapshot(pid);
    if (probe) database = await probe.stop();
    if (statementsFile && pid !== null) statements = await collectStatements(pid, statementsFile);
  } finally {
    await probe?.close();
  }
  const cpu = cpuDelta(before, after, CORES);
  const peakRss = pid === null ? null : peakRssMiB(pid);
  const result = summarize(stats, { serverPid: pid, cpu, peakRss, database });
  if (pid !== null && !rssReset) result.note = 'peak RSS is the process lifetime peak (clear_refs not allowed)';
  if (statements) result.statements = statements.slice(0, 15);
  return result;
}

/** Where a server running the statement-timing preload writes its figures, or null. */
function timedStatementsFile(system: SystemUnderTest | null, options: Options): string | null {
  return options.pgStatements && system?.store === 'postgres' ? (process.env.BENCH_PG_STATEMENTS_FILE ?? null) : null;
}

async function argon2Ceiling(options: Options): Promise<WorkloadResult> {
  const stored = await hash(PASSWORD, ARGON2ID_OPTIONS);
  return measure(null, options, async () => ({ ok: await verify(stored, PASSWORD), status: 200 }), { concurrency: CORES });
}

async function runWorkloads(system: SystemUnderTest & { seedSeconds: number }, options: Options): Promise<SystemReport> {
  const credentials: string[] = [];
  log(`${system.label} (${system.users} users): full sign-in`);
  const fullSignIn = await measure(system, options, async () => {
    const result = await system.fullSignIn();
    if (result.credential && credentials.length < 64) credentials.push(result.credential);
    return result;
  });
  log(`  ${fullSignIn.perSecond.toFixed(1)} flows/s, p99 ${fullSignIn.p99.toFixed(0)} ms`);

  log(`${system.label}: second step alone (challenges made beforehand)`);
  const warmCount = system.key === 'tessera' ? (options.quick ? 1500 : 4000) : options.quick ? 150 : 400;
  let queue: Challenge[] = await system.prepareChallenges(warmCount, log);
  let made = queue.length;
  const take = async (): Promise<OpResult> => {
    const challenge = queue.pop();
    if (!challenge) return { ok: false, status: -1, exhausted: true };
    return system.secondStep(challenge);
  };
  const warmStart = performance.now();
  const warm = await closedLoop({ concurrency: 16, durationMs: options.warmupMs, maxOps: warmCount, op: take });
  const estimate = warm.ok / ((performance.now() - warmStart) / 1000);
  for (const left of queue) system.pool.release(left.user);
  // The warm-up underestimates a cheap second step (JIT still warming): Tessera's
  // challenges cost nothing to make, so make plenty; the peer's cost a hash each.
  const wanted =
    system.key === 'tessera' ? Math.ceil(estimate * (options.durationMs / 1000) * 2) + 1000 : Math.ceil(estimate * (options.durationMs / 1000) * 1.3) + 100;
  log(`  warm-up ${estimate.toFixed(0)}/s; making ${wanted} challenges`);
  queue = await system.prepareChallenges(wanted, log);
  made = queue.length;
  const secondStep = { ...(await measure(system, options, take, { warmup: false })), challengesMade: made };
  for (const left of queue) system.pool.release(left.user);
  queue = [];
  log(
    `  ${secondStep.perSecond.toFixed(0)} verifications/s, p99 ${secondStep.p99.toFixed(0)} ms${secondStep.ended === 'exhausted' ? ` (ran out of challenges after ${secondStep.seconds.toFixed(1)} s)` : ''}`,
  );

  log(`${system.label}: session check`);
  let sessionCheck: WorkloadResult;
  let revokedOnNextRequest: boolean | null = null;
  if (credentials.length < 2) {
    sessionCheck = summarize(
      { ok: 0, failed: 0, statuses: {}, elapsedMs: 1, latencies: [], ended: 'exhausted' },
      { serverPid: null, cpu: { serverMs: 0, clientMs: 0, otherShare: 0 }, peakRss: null },
    );
    sessionCheck.note = 'no sessions from the sign-in workload';
  } else {
    const victim = credentials.pop()!;
    sessionCheck = await measure(system, options, (worker) => system.sessionCheck(credentials[worker % credentials.length]!));
    revokedOnNextRequest = await system.revokeAndCheck(victim);
  }
  log(`  ${sessionCheck.perSecond.toFixed(0)} req/s, p99 ${sessionCheck.p99.toFixed(1)} ms; revocation on the next request: ${revokedOnNextRequest}`);
  return { label: system.label, users: system.users, seedSeconds: system.seedSeconds, fullSignIn, secondStep, sessionCheck, revokedOnNextRequest };
}

/** Load stats and CPU of several measured windows, as one. */
class Windows {
  private readonly stats: LoopStats = { ok: 0, failed: 0, statuses: {}, elapsedMs: 0, latencies: [], ended: 'time' };
  private readonly cpu: CpuDelta = { serverMs: 0, clientMs: 0, otherShare: 0 };
  private peakRss: number | null = null;
  private rssReset = true;
  private database: DatabaseCpu | null = null;
  count = 0;
  exhausted = 0;

  constructor(
    private readonly pid: number,
    private readonly databaseName: string | null,
  ) {}

  /** Runs one closed loop with CPU (and, if `rss`, peak RSS) measured over it alone. */
  async run(loop: Parameters<typeof closedLoop>[0], rss = true): Promise<LoopStats> {
    if (rss) this.rssReset = resetPeakRss(this.pid) && this.rssReset;
    const probe = this.databaseName ? await BackendCpu.open(this.databaseName) : null;
    let stats: LoopStats;
    let before: ReturnType<typeof snapshot>;
    let after: ReturnType<typeof snapshot>;
    try {
      await probe?.start();
      before = snapshot(this.pid);
      stats = await closedLoop(loop);
      after = snapshot(this.pid);
      if (probe) {
        const used = await probe.stop();
        this.database = { ms: (this.database?.ms ?? 0) + used.ms, backends: Math.max(this.database?.backends ?? 0, used.backends) };
      }
    } finally {
      await probe?.close();
    }
    const cpu = cpuDelta(before, after, CORES);
    if (rss) this.peakRss = Math.max(this.peakRss ?? 0, peakRssMiB(this.pid));
    this.count += 1;
    if (stats.ended !== 'time') this.exhausted += 1;
    this.stats.ok += stats.ok;
    this.stats.failed += stats.failed;
    for (const [status, n] of Object.entries(stats.statuses)) this.stats.statuses[status] = (this.stats.statuses[status] ?? 0) + n;
    for (const latency of stats.latencies) this.stats.latencies.push(latency);
    // The other processes' share, weighted by each window's length.
    this.cpu.otherShare = (this.cpu.otherShare * this.stats.elapsedMs + cpu.otherShare * stats.elapsedMs) / (this.stats.elapsedMs + stats.elapsedMs || 1);
    this.stats.elapsedMs += stats.elapsedMs;
    this.cpu.serverMs += cpu.serverMs;
    this.cpu.clientMs += cpu.clientMs;
    return stats;
  }

  result(): WorkloadResult {
    const result = summarize(this.stats, { serverPid: this.pid, cpu: this.cpu, peakRss: this.peakRss, database: this.database });
    if (!this.rssReset) result.note = 'peak RSS is the process lifetime peak (clear_refs not allowed)';
    return result;
  }
}

/** People signed in to Tessera, each at their own browser, for the OpenID Connect
 * workload: one per worker, so a worker's refresh tokens are its own. */
const OIDC_PEOPLE = 16;
/** The code exchange is measured in windows of at most this long, each after minting
 * its codes: a code lives 60 s (ttl.AuthorizationCode). */
const EXCHANGE_WINDOW_MS = 10_000;
/** A window's codes are minted and exchanged within this (of the 60 s they live). */
const CODE_AGE_BUDGET_MS = 45_000;

/**
 * Tessera as an OpenID Connect provider (Tessera alone: better-auth has no comparable
 * provider here). A fresh server with `users` users; 16 of them sign in (password and
 * TOTP through the API) and go once through an app's authorization with their session
 * cookie (Tessera's interaction pages, no form: the app is first-party). From then on
 * /oidc/auth answers each of them with a code straight away, which is how the codes
 * are minted: in a batch just before each measured exchange window (see README.md).
 */
async function runOidcWorkloads(options: Options, workDir: string, store: Store): Promise<OidcReport> {
  const system = await startTessera({
    users: options.users,
    workDir,
    logFile: join(workDir, 'tessera-oidc.log'),
    log,
    connections: 1024,
    dataDirName: 'tessera-oidc',
    store,
    keep: options.keep,
  });
  log(`Tessera seeded with ${options.users} users in ${system.seedSeconds.toFixed(1)} s (OpenID Connect)`);
  try {
    const pid = system.server.pid;
    const app = await registerBenchApp(system.databaseUrl);
    const people: OidcPerson[] = [];
    while (people.length < OIDC_PEOPLE) {
      const signedIn = await system.fullSignIn();
      if (!signedIn.ok || !signedIn.credential) throw new Error(`OpenID Connect: a person could not sign in (${signedIn.status})`);
      people.push(new OidcPerson(people.length, system.http, app, signedIn.credential));
    }
    for (const person of people) {
      const first = await person.authorize(12);
      if (!first.code)
        throw new Error(`OpenID Connect: the first authorization of person ${person.index} ended with ${first.status} after ${first.hops} requests`);
      const again = await person.authorize(1);
      if (!again.code) throw new Error(`OpenID Connect: person ${person.index} got no code straight from /oidc/auth (${again.status})`);
    }
    const check = await checkWithOpenidClient(system.http, app, people[0]!);
    log(`  ${check}`);

    const authorizeWindows = new Windows(pid, system.databaseName);
    const mint = async (count: number, withinMs: number, measured: boolean): Promise<Code[]> => {
      const codes: Code[] = [];
      if (count < 1) throw new Error('OpenID Connect: no codes could be minted in time');
      const loop = {
        concurrency: OIDC_PEOPLE,
        durationMs: withinMs,
        maxOps: count,
        op: async (worker: number): Promise<OpResult> => {
          const minted = await people[worker]!.authorize(1);
          if (minted.code) codes.push(minted.code);
          return { ok: minted.code !== null, status: minted.status };
        },
      };
      const stats = measured ? await authorizeWindows.run(loop, false) : await closedLoop(loop);
      if (codes.length === 0) throw new Error(`OpenID Connect: /oidc/auth gave no code (${JSON.stringify(stats.statuses)})`);
      return codes;
    };

    // The latest tokens of each person, from the exchanges: the refresh and userinfo
    // workloads start from them.
    const latest: (Tokens | undefined)[] = new Array(OIDC_PEOPLE);
    let codes: Code[] = [];
    let maxCodeAgeMs = 0;
    const exchange = async (): Promise<OpResult> => {
      // Newest first: the codes left over at the end of a window are the oldest.
      const code = codes.pop();
      if (!code) return { ok: false, status: -1, exhausted: true };
      maxCodeAgeMs = Math.max(maxCodeAgeMs, performance.now() - code.mintedAt);
      const result = await exchangeCode(system.http, app, code);
      if (result.tokens) latest[code.person] = result.tokens;
      return result;
    };

    log('Tessera: OpenID Connect code exchange (codes minted through /oidc/auth just before each window)');
    let t0 = performance.now();
    codes = await mint(options.quick ? 2000 : 6000, CODE_AGE_BUDGET_MS, false);
    // Codes per second the minting reaches: how many a window may ask for in time.
    let authorizeRate = codes.length / ((performance.now() - t0) / 1000);
    const warm = await closedLoop({ concurrency: 16, durationMs: options.warmupMs, maxOps: codes.length, op: exchange });
    let estimate = warm.ok / (warm.elapsedMs / 1000);
    log(`  warm-up: ${authorizeRate.toFixed(0)} codes minted/s, ${estimate.toFixed(0)} exchanges/s`);
    maxCodeAgeMs = 0;
    const exchangeWindows = new Windows(pid, system.databaseName);
    let codesMinted = 0;
    let remaining = options.durationMs;
    for (let window = 1; remaining > 100 && window <= 50; window++) {
      const windowMs = Math.min(EXCHANGE_WINDOW_MS, remaining);
      // Enough for the window at 1.5× the best exchange rate seen, as many as can be
      // minted in time for the oldest to be exchanged within CODE_AGE_BUDGET_MS.
      const wanted = Math.ceil(estimate * (windowMs / 1000) * 1.5) + 200;
      const mintable = Math.floor(authorizeRate * ((CODE_AGE_BUDGET_MS - windowMs) / 1000));
      t0 = performance.now();
      codes = await mint(Math.min(wanted, mintable), CODE_AGE_BUDGET_MS - windowMs, true);
      const mintSeconds = (performance.now() - t0) / 1000;
      authorizeRate = codes.length / mintSeconds;
      codesMinted += codes.length;
      const stats = await exchangeWindows.run({ concurrency: 16, durationMs: windowMs, maxOps: codes.length, op: exchange });
      remaining -= stats.elapsedMs;
      const rate = stats.ok / (stats.elapsedMs / 1000);
      estimate = Math.max(estimate, rate);
      log(
        `  window ${window}: ${stats.ok + stats.failed + codes.length} codes minted in ${mintSeconds.toFixed(1)} s, ${rate.toFixed(0)} exchanges/s for ${(stats.elapsedMs / 1000).toFixed(1)} s${stats.ended === 'time' ? '' : ' (ran out of codes)'}`,
      );
    }
    codes = [];
    const codeExchange = {
      ...exchangeWindows.result(),
      codesMinted,
      windows: exchangeWindows.count,
      windowsRanOut: exchangeWindows.exhausted,
      maxCodeAgeSeconds: maxCodeAgeMs / 1000,
      codeLifetimeSeconds: CODE_LIFETIME_IN_SECONDS,
    };
    const authorize = authorizeWindows.result();
    log(
      `  ${codeExchange.perSecond.toFixed(0)} exchanges/s, p99 ${codeExchange.p99.toFixed(1)} ms; oldest code exchanged ${codeExchange.maxCodeAgeSeconds.toFixed(1)} s old`,
    );

    const chains = latest.map((tokens, person) => {
      if (!tokens) throw new Error(`OpenID Connect: person ${person} has no tokens from the exchanges`);
      return { refreshToken: tokens.refreshToken, accessToken: tokens.accessToken };
    });
    log('Tessera: OpenID Connect refresh grants (each worker chains its own refresh token)');
    const refresh = await measure(system, options, async (worker) => {
      const chain = chains[worker]!;
      const result = await refreshGrant(system.http, app, chain.refreshToken);
      if (result.tokens) {
        chain.refreshToken = result.tokens.refreshToken;
        chain.accessToken = result.tokens.accessToken;
      }
      return result;
    });
    log(`  ${refresh.perSecond.toFixed(0)} refresh grants/s, p99 ${refresh.p99.toFixed(1)} ms, ${refresh.serverCpuMsPerOp.toFixed(2)} ms of server CPU each`);

    log('Tessera: OpenID Connect userinfo (bearer access tokens)');
    const info = await measure(system, options, (worker) => userinfo(system.http, chains[worker]!.accessToken));
    log(`  ${info.perSecond.toFixed(0)} userinfo/s, p99 ${info.p99.toFixed(1)} ms`);

    const records = await countOidcRecords(system.databaseUrl);
    return { users: options.users, people: OIDC_PEOPLE, seedSeconds: system.seedSeconds, check, authorize, codeExchange, refresh, userinfo: info, records };
  } finally {
    await system.stop();
  }
}

/** What oidc_records holds at the end, by model (the server still running). */
async function countOidcRecords(databaseUrl: string): Promise<Record<string, number>> {
  const store = openStore(databaseUrl);
  try {
    const rows = await store.db
      .selectFrom('oidc_records')
      .select((eb) => ['model', eb.fn.countAll().as('n')])
      .groupBy('model')
      .orderBy('model')
      .execute();
    return Object.fromEntries(rows.map((row) => [row.model, Number(row.n)]));
  } finally {
    await store.close();
  }
}

async function scrapeEventLoopP99(origin: string): Promise<number | null> {
  try {
    const response = await fetch(`${origin}/metrics`, { signal: AbortSignal.timeout(10_000) });
    const text = await response.text();
    const match = /^tessera_nodejs_eventloop_lag_p99_seconds(?:\{[^}]*\})?\s+([0-9.eE+-]+)$/m.exec(text);
    return match ? Number(match[1]) * 1000 : null;
  } catch {
    return null;
  }
}

/** Full sign-ins arriving at twice the sustainable rate, whatever the answers. */
async function overload(system: SystemUnderTest, sustainable: number, options: Options): Promise<OverloadReport> {
  const target = 2 * sustainable;
  log(`Tessera overload: ${target.toFixed(1)} sign-ins/s (2 × ${sustainable.toFixed(1)}) for ${options.overloadMs / 1000} s`);
  const idle: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const result = await system.fullSignIn();
    if (result.ok) idle.push(performance.now() - t0);
  }
  const idleFlowMs = percentiles(idle).p50;
  await scrapeEventLoopP99(system.server.origin);
  await sleep(3000);
  const eventLoopP99IdleMs = await scrapeEventLoopP99(system.server.origin);
  const samples: number[] = [];
  let sampling = true;
  const sampler = (async () => {
    await scrapeEventLoopP99(system.server.origin);
    const deadline = Date.now() + options.overloadMs + 200_000;
    while (sampling && Date.now() < deadline) {
      await sleep(2000);
      if (!sampling) break;
      const value = await scrapeEventLoopP99(system.server.origin);
      if (value !== null) samples.push(value);
    }
  })();
  let recoverySeconds: number | null = null;
  let probe: Promise<void> = Promise.resolve();
  const stats = await openLoop({
    ratePerSecond: target,
    durationMs: options.overloadMs,
    maxOutstanding: 2000,
    drainTimeoutMs: 180_000,
    op: () => system.fullSignIn(),
    onArrivalsEnded: () => {
      sampling = false;
      // Recovery: from the end of the overload until one sign-in (sent one after the
      // other) takes at most twice its idle time again. Bounded to 180 s.
      probe = (async () => {
        const end = performance.now();
        while (performance.now() - end < 180_000) {
          const t0 = performance.now();
          const result = await system.fullSignIn();
          if (result.ok && performance.now() - t0 <= 2 * idleFlowMs) {
            recoverySeconds = (performance.now() - end) / 1000;
            return;
          }
          await sleep(100);
        }
      })();
    },
  });
  await probe;
  await sampler;
  const sent = stats.sent;
  const okEvents = stats.events.filter((e) => e.ok);
  const p = percentiles(stats.events.map((e) => e.latency));
  const count = (predicate: (status: number) => boolean) => stats.events.filter((e) => !e.ok && predicate(e.status)).length;
  const sortedSamples = [...samples].sort((a, b) => a - b);
  return {
    sustainablePerSecond: sustainable,
    targetPerSecond: target,
    seconds: options.overloadMs / 1000,
    sent,
    dropped: stats.dropped,
    completedOk: okEvents.length,
    completedPerSecond: okEvents.length / (stats.drainedAt / 1000),
    p50: p.p50,
    p99: p.p99,
    share429: sent ? count((s) => s === 429) / sent : 0,
    share503: sent ? count((s) => s === 503) / sent : 0,
    shareOtherErrors: sent ? count((s) => s !== 429 && s !== 503) / sent : 0,
    eventLoopP99IdleMs,
    eventLoopP99MaxMs: sortedSamples.length ? sortedSamples[sortedSamples.length - 1]! : null,
    eventLoopP99MedianMs: sortedSamples.length ? sortedSamples[Math.floor(sortedSamples.length / 2)]! : null,
    eventLoopSamples: samples.length,
    idleFlowMs,
    drainSeconds: (stats.drainedAt - stats.arrivalsEndedAt) / 1000,
    recoverySeconds,
  };
}

function versionOf(path: string): string {
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The PostgreSQL and Redis servers' versions, for the report's header. */
async function storeVersions(): Promise<Record<string, string>> {
  const client = new pg.Client({ connectionString: `${POSTGRES_URL}/postgres`, application_name: BENCH_APPLICATION_NAME });
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await client.connect();
  await redis.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>('show server_version');
    const redisVersion = /^redis_version:(\S+)/m.exec(await redis.info('server'))?.[1] ?? 'unknown';
    return { postgres: rows[0]!.server_version.split(' ')[0]!, redis: redisVersion };
  } finally {
    await client.end();
    redis.disconnect();
  }
}

/** The newest full SQLite report in results/ with the side-by-side run, to set beside a
 * PostgreSQL run when no --compare is given. */
function latestSqliteReport(resultsDir: string): string | null {
  const files = readdirSync(resultsDir)
    .filter((name) => /^\d{4}-.*Z\.json$/.test(name))
    .sort()
    .reverse();
  for (const name of files) {
    const report = JSON.parse(readFileSync(join(resultsDir, name), 'utf8')) as Report;
    if ((report.store ?? 'sqlite') === 'sqlite' && report.tessera && report.peer && !report.quick) return join(resultsDir, name);
  }
  return null;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  let compare: { file: string; report: Report } | null = null;
  if (options.compare) compare = { file: options.compare, report: JSON.parse(readFileSync(options.compare, 'utf8')) as Report };
  for (const store of options.stores) {
    if (!compare && store === 'postgres') {
      const file = latestSqliteReport(join(BENCH_ROOT, 'results'));
      if (file) compare = { file, report: JSON.parse(readFileSync(file, 'utf8')) as Report };
    }
    const done = await runStore(options, store, compare);
    compare = { file: done.file, report: done.report };
  }
}

async function runStore(options: Options, store: Store, compare: { file: string; report: Report } | null): Promise<{ file: string; report: Report }> {
  // Asked first: a store that cannot be reached leaves no work directory behind.
  const serverVersions = store === 'postgres' ? await storeVersions() : {};
  const workDir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
  const nodeArgsBefore = process.env.BENCH_NODE_ARGS;
  if (options.pgStatements && store === 'postgres') {
    // Both servers load the preload (nodeArgs reads BENCH_NODE_ARGS) and write here.
    process.env.BENCH_NODE_ARGS = `${process.env.BENCH_NODE_ARGS ?? ''} --require ${STATEMENT_TIMING_PRELOAD}`.trim();
    process.env.BENCH_PG_STATEMENTS_FILE = join(workDir, 'statements.json');
  }
  const report: Report = {
    startedAt: new Date().toISOString(),
    store,
    quick: options.quick,
    settings: {
      durationSeconds: options.durationMs / 1000,
      warmupSeconds: options.warmupMs / 1000,
      concurrency: 16,
      users: options.users,
      growth: options.growth,
      overloadSeconds: options.overloadMs / 1000,
      pgStatements: options.pgStatements,
    },
    machine: { cores: CORES, node: process.version, loadAverageAtStart: loadavg(), loadAverageAtEnd: [] },
    versions: {
      tessera: versionOf(join(TESSERA_ROOT, 'package.json')),
      betterAuth: versionOf(join(BENCH_ROOT, 'node_modules/better-auth/package.json')),
      betterSqlite3: versionOf(join(BENCH_ROOT, 'node_modules/better-sqlite3/package.json')),
      argon2: versionOf(join(BENCH_ROOT, 'node_modules/@node-rs/argon2/package.json')),
      ...(store === 'postgres'
        ? {
            ...serverVersions,
            pg: versionOf(join(TESSERA_ROOT, 'node_modules/pg/package.json')),
            ioredis: versionOf(join(TESSERA_ROOT, 'node_modules/ioredis/package.json')),
          }
        : {}),
    },
    compareWith: compare ? { file: relative(BENCH_ROOT, compare.file), report: { ...compare.report, compareWith: null } } : null,
    ceiling: [],
    tessera: null,
    peer: null,
    overload: null,
    oidc: null,
    growth: [],
    notes: [],
  };
  const resultsDir = join(BENCH_ROOT, 'results');
  const stamp = report.startedAt.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
  const base = join(resultsDir, `${options.quick ? 'quick-' : ''}${stamp}${store === 'postgres' ? '-postgres' : ''}`);
  log(
    `store ${store}; work directory ${workDir}; load average ${loadavg()
      .map((n) => n.toFixed(2))
      .join(' ')} on ${CORES} cores`,
  );
  try {
    if (options.ceiling) {
      log('argon2id ceiling (raw @node-rs/argon2 verify, 2 at once)');
      report.ceiling.push(await argon2Ceiling(options));
      log(`  ${report.ceiling[0]!.perSecond.toFixed(1)} verifications/s`);
    }

    if (options.sideBySide) {
      const tessera = await startTessera({
        users: options.users,
        workDir,
        logFile: join(workDir, 'tessera.log'),
        log,
        connections: 1024,
        store,
        keep: options.keep,
      });
      log(`Tessera seeded with ${options.users} users in ${tessera.seedSeconds.toFixed(1)} s`);
      try {
        report.tessera = await runWorkloads(tessera, options);
        if (options.overload) report.overload = await overload(tessera, report.tessera.fullSignIn.perSecond, options);
      } finally {
        await tessera.stop();
      }

      if (options.peer) {
        const peer = await startPeer({ users: options.users, workDir, logFile: join(workDir, 'peer.log'), connections: 1024, store, keep: options.keep });
        log(`better-auth seeded with ${options.users} users in ${peer.seedSeconds.toFixed(1)} s`);
        try {
          report.peer = await runWorkloads(peer, options);
        } finally {
          await peer.stop();
        }
      }
    }

    if (options.ceiling) {
      log('argon2id ceiling again');
      report.ceiling.push(await argon2Ceiling(options));
      log(`  ${report.ceiling[1]!.perSecond.toFixed(1)} verifications/s`);
    }

    if (options.oidc) {
      try {
        report.oidc = await runOidcWorkloads(options, workDir, store);
      } finally {
        if (!options.keep) rmSync(join(workDir, 'tessera-oidc'), { recursive: true, force: true });
      }
    }

    for (const size of options.growth) {
      // Other engineers change src/ while this runs: a size that cannot start is noted
      // and the next one is tried.
      try {
        const setupStart = Date.now();
        const system = await startTessera({
          users: size,
          workDir,
          logFile: join(workDir, `tessera-${size}.log`),
          log,
          connections: 1024,
          store,
          keep: options.keep,
        });
        log(`Tessera seeded with ${size} users in ${system.seedSeconds.toFixed(1)} s (setup ${((Date.now() - setupStart) / 1000).toFixed(0)} s)`);
        try {
          report.growth.push(await runWorkloads(system, options));
        } finally {
          await system.stop();
        }
      } catch (error) {
        const reason = error instanceof Error ? error.message.split('\n')[0]! : String(error);
        report.notes.push(`growth at ${size} users failed: ${reason}`);
        log(`growth at ${size} users failed: ${reason}`);
      } finally {
        if (!options.keep) rmSync(join(workDir, `tessera-${size}`), { recursive: true, force: true });
      }
    }
  } finally {
    report.machine.loadAverageAtEnd = loadavg();
    report.finishedAt = new Date().toISOString();
    mkdirSync(resultsDir, { recursive: true });
    const text = renderReport(report);
    writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(`${base}.md`, text);
    process.stdout.write(`\n${text}\nRaw figures: ${base}.json\n`);
    if (!options.keep) rmSync(workDir, { recursive: true, force: true });
    else log(`kept ${workDir}`);
    // The next store's servers run without the statement timing unless it asks again.
    if (nodeArgsBefore === undefined) delete process.env.BENCH_NODE_ARGS;
    else process.env.BENCH_NODE_ARGS = nodeArgsBefore;
    delete process.env.BENCH_PG_STATEMENTS_FILE;
  }
  return { file: `${base}.json`, report };
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
