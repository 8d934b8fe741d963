// `npm run bench:forward-auth` (issue 22, "Measure"): the forward-auth check a reverse
// proxy makes before every request to a guarded app, beside the session check
// (`GET /api/v1/me`) it must cost no more than. One Tessera server (as run.ts starts it,
// seeded the same way), measured like run.ts's session check: a closed loop of 16
// workers after a warm-up, server CPU from /proc over the measured window. The two
// workloads alternate (`--rounds`), so that a drift of the machine touches both.
// See README.md, "Forward-auth".
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newId } from '../src/crypto/tokens.js';
import { openStore } from '../src/store/database.js';
import { insertApp } from '../src/store/apps.js';
import { cookiePairs } from './lib/http.js';
import { summarize } from './lib/summary.js';
import { closedLoop, type OpResult } from './lib/load.js';
import { cpuDelta, peakRssMiB, resetPeakRss, snapshot } from './lib/proc.js';
import type { WorkloadResult } from './lib/report.js';
import { ACCOUNT_SLUG } from './lib/users.js';
import { startTessera } from './tessera/system.js';

const BENCH_ROOT = fileURLToPath(new URL('.', import.meta.url));
const CORES = availableParallelism();
const CONCURRENCY = 16;

/** As in production: Tessera on https (so the cookies are __Host- and __Secure-), the
 * guarded app under the same parent domain, the proxy on 127.0.0.1. */
const BASE_URL = 'https://auth.bench.test';
const COOKIE_DOMAIN = 'bench.test';
const GUARDED_HOST = 'app.bench.test';
const GUARDED_URI = '/d/abc?x=1&y=2';
const FORWARD_AUTH_COOKIE = '__Secure-tessera_forward_auth';
const SESSION_COOKIE = '__Host-tessera_session';
const SESSIONS = 64;

interface Options {
  quick: boolean;
  durationMs: number;
  warmupMs: number;
  users: number;
  rounds: number;
  keep: boolean;
}

function parseOptions(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const value = (name: string): string | undefined => argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  for (const arg of argv) {
    if (!['--quick', '--keep', '--help'].includes(arg) && !/^--(duration|users|rounds)=/.test(arg)) throw new Error(`unknown option ${arg}; see README.md`);
  }
  if (argv.includes('--help')) {
    process.stdout.write(
      'Usage: npm run bench:forward-auth [-- options]\n  --quick        3 s per workload, 20,000 users (a smoke test)\n  --duration=S   seconds per measured workload (default 20, quick 3)\n  --users=N      users seeded (default 50000, quick 20000)\n  --rounds=N     session check and forward-auth check, one after the other, N times (default 2)\n  --keep         keep the temporary data directory\n',
    );
    process.exit(0);
  }
  const options = {
    quick,
    durationMs: 1000 * Number(value('duration') ?? (quick ? 3 : 20)),
    warmupMs: quick ? 1500 : 5000,
    users: Number(value('users') ?? (quick ? 20_000 : 50_000)),
    rounds: Number(value('rounds') ?? 2),
    keep: argv.includes('--keep'),
  };
  if (!(options.durationMs > 0) || !(options.users >= 1000) || !Number.isInteger(options.rounds) || !(options.rounds >= 1))
    throw new Error('bad --duration, --users (≥ 1000) or --rounds (≥ 1)');
  return options;
}

const started = Date.now();
function log(line: string): void {
  process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
}

/** As run.ts measures: a warm-up, then the measured closed loop with the server's CPU
 * and peak RSS over the measured part only. */
async function measure(pid: number, options: Options, op: (worker: number) => Promise<OpResult>): Promise<WorkloadResult> {
  const maxOps = 5_000_000;
  await closedLoop({ concurrency: CONCURRENCY, durationMs: options.warmupMs, maxOps, op });
  const rssReset = resetPeakRss(pid);
  const before = snapshot(pid);
  const stats = await closedLoop({ concurrency: CONCURRENCY, durationMs: options.durationMs, maxOps, op });
  const after = snapshot(pid);
  const result = summarize(stats, { serverPid: pid, cpu: cpuDelta(before, after, CORES), peakRss: peakRssMiB(pid) });
  return rssReset ? result : { ...result, note: 'peak RSS is the process lifetime peak (clear_refs not allowed)' };
}

const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;

function render(report: {
  startedAt: string;
  settings: Record<string, unknown>;
  rounds: { sessionCheck: WorkloadResult; forwardAuth: WorkloadResult }[];
  revokedOnNextRequest: boolean;
}): string {
  const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : '—');
  const thousands = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '—');
  const row = (label: string, pick: (w: WorkloadResult) => number, format: (v: number) => string) => {
    const sessions = report.rounds.map((r) => pick(r.sessionCheck));
    const checks = report.rounds.map((r) => pick(r.forwardAuth));
    const cells = report.rounds.map((_, i) => `${format(sessions[i]!)} / ${format(checks[i]!)}`);
    return `| ${label} | ${cells.join(' | ')} | ${format(mean(sessions))} / ${format(mean(checks))} | ${fixed(mean(checks) / mean(sessions), 2)}× |`;
  };
  const header = `| session check / forward-auth check | ${report.rounds.map((_, i) => `round ${i + 1}`).join(' | ')} | mean | forward-auth ÷ session |`;
  const rule = `|---|${report.rounds.map(() => '---:|').join('')}---:|---:|`;
  return [
    `# Forward-auth check vs session check (${report.startedAt})`,
    '',
    `Settings: ${JSON.stringify(report.settings)}`,
    '',
    header,
    rule,
    row('requests/s', (w) => w.perSecond, thousands),
    row(
      'p50, ms',
      (w) => w.p50,
      (v) => fixed(v, 2),
    ),
    row(
      'p99, ms',
      (w) => w.p99,
      (v) => fixed(v, 2),
    ),
    row(
      'server CPU, ms per check',
      (w) => w.serverCpuMsPerOp,
      (v) => fixed(v, 3),
    ),
    row(
      'client CPU, ms per check',
      (w) => w.clientCpuMsPerOp,
      (v) => fixed(v, 3),
    ),
    row(
      'peak RSS, MiB',
      (w) => w.peakRssMiB ?? Number.NaN,
      (v) => fixed(v, 0),
    ),
    row(
      'other processes, share of the CPU',
      (w) => 100 * w.otherLoadShare,
      (v) => `${fixed(v, 0)}%`,
    ),
    row('failed', (w) => w.failed, thousands),
    '',
    `Signed out: the next forward-auth check is sent to sign in (302): ${report.revokedOnNextRequest ? 'yes' : '**no**'}.`,
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const workDir = mkdtempSync(join(tmpdir(), 'tessera-bench-forward-auth-'));
  const startedAt = new Date().toISOString();
  log(
    `work directory ${workDir}; load average ${loadavg()
      .map((n) => n.toFixed(2))
      .join(' ')} on ${CORES} cores`,
  );
  try {
    const tessera = await startTessera({
      users: options.users,
      workDir,
      logFile: join(workDir, 'tessera.log'),
      log,
      connections: 1024,
      env: { TESSERA_BASE_URL: BASE_URL, TESSERA_COOKIE_DOMAIN: COOKIE_DOMAIN, TESSERA_TRUST_PROXY: '127.0.0.1' },
    });
    log(`Tessera seeded with ${options.users} users in ${tessera.seedSeconds.toFixed(1)} s`);
    try {
      // The guarded host, registered as createApp stores a proxy app (what an admin's
      // "Add an app" makes): admins and agents, any sign-in strength.
      const store = openStore(tessera.databaseUrl);
      try {
        const account = await store.db.selectFrom('accounts').select('id').where('slug', '=', ACCOUNT_SLUG).executeTakeFirstOrThrow();
        const now = Date.now();
        await insertApp(store.db, {
          id: newId(),
          account_id: account.id,
          name: 'Dashboards',
          kind: 'proxy',
          redirect_uris: '[]',
          post_logout_redirect_uris: '[]',
          backchannel_logout_uri: null,
          host: GUARDED_HOST,
          first_party: 0,
          allowed_roles: JSON.stringify(['admin', 'agent']),
          required_acr: null,
          secret_hash: null,
          created_by_user_id: null,
          created_at: now,
          updated_at: now,
        });
      } finally {
        await store.close();
      }

      // Signed-in people: sessions from full sign-ins (password and TOTP), each with the
      // forward-auth cookie its browser gets on the way back to the guarded host.
      log(`signing in ${SESSIONS} people`);
      const sessions: { token: string; cookie: string }[] = [];
      while (sessions.length < SESSIONS) {
        const signedIn = await tessera.fullSignIn();
        if (!signedIn.ok || !signedIn.credential) throw new Error(`sign-in failed: ${signedIn.status}`);
        const handOver = await tessera.http.request('GET', `/proxy/continue?rd=${encodeURIComponent(`https://${GUARDED_HOST}${GUARDED_URI}`)}`, {
          headers: { cookie: `${SESSION_COOKIE}=${signedIn.credential}` },
        });
        const cookie = cookiePairs(handOver.setCookies).get(FORWARD_AUTH_COOKIE);
        if (handOver.status !== 200 || !cookie)
          throw new Error(`no forward-auth cookie from /proxy/continue: ${handOver.status} ${JSON.stringify(handOver.body)}`);
        sessions.push({ token: signedIn.credential, cookie: `${FORWARD_AUTH_COOKIE}=${cookie}` });
      }
      /** What Caddy and Traefik send (nginx's X-Original-URL is read the same way). */
      const forwardAuthCheck = async (cookie: string): Promise<OpResult> => {
        const response = await tessera.http.request('GET', '/api/v1/forward-auth', {
          headers: {
            cookie,
            'x-forwarded-method': 'GET',
            'x-forwarded-proto': 'https',
            'x-forwarded-host': GUARDED_HOST,
            'x-forwarded-uri': GUARDED_URI,
            'x-forwarded-for': '198.51.100.7',
          },
        });
        return { ok: response.status === 200, status: response.status };
      };
      const first = await forwardAuthCheck(sessions[0]!.cookie);
      if (!first.ok) throw new Error(`the forward-auth check answered ${first.status}, not 200`);

      const victim = sessions.pop()!;
      const rounds: { sessionCheck: WorkloadResult; forwardAuth: WorkloadResult }[] = [];
      for (let round = 1; round <= options.rounds; round++) {
        log(`round ${round}: session check (GET /api/v1/me)`);
        const sessionCheck = await measure(tessera.server.pid, options, (worker) => tessera.sessionCheck(sessions[worker % sessions.length]!.token));
        log(`  ${sessionCheck.perSecond.toFixed(0)} req/s, p99 ${sessionCheck.p99.toFixed(2)} ms, ${sessionCheck.serverCpuMsPerOp.toFixed(3)} ms CPU each`);
        log(`round ${round}: forward-auth check (GET /api/v1/forward-auth)`);
        const forwardAuth = await measure(tessera.server.pid, options, (worker) => forwardAuthCheck(sessions[worker % sessions.length]!.cookie));
        log(`  ${forwardAuth.perSecond.toFixed(0)} req/s, p99 ${forwardAuth.p99.toFixed(2)} ms, ${forwardAuth.serverCpuMsPerOp.toFixed(3)} ms CPU each`);
        rounds.push({ sessionCheck, forwardAuth });
      }

      // Signing out ends the forward-auth cookie on the very next check.
      const out = await tessera.http.request('POST', '/api/v1/sign-out', { headers: { authorization: `Bearer ${victim.token}` }, json: {} });
      const after = await forwardAuthCheck(victim.cookie);
      const revokedOnNextRequest = out.status === 200 && after.status === 302;

      const report = {
        startedAt,
        finishedAt: new Date().toISOString(),
        quick: options.quick,
        settings: {
          durationSeconds: options.durationMs / 1000,
          warmupSeconds: options.warmupMs / 1000,
          concurrency: CONCURRENCY,
          users: options.users,
          sessions: SESSIONS,
        },
        machine: { cores: CORES, node: process.version, loadAverageAtEnd: loadavg() },
        rounds,
        revokedOnNextRequest,
      };
      const text = render(report);
      const resultsDir = join(BENCH_ROOT, 'results');
      mkdirSync(resultsDir, { recursive: true });
      const base = join(resultsDir, `${options.quick ? 'quick-' : ''}forward-auth-${startedAt.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z')}`);
      writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
      writeFileSync(`${base}.md`, text);
      process.stdout.write(`\n${text}\nRaw figures: ${base}.json\n`);
    } finally {
      await tessera.stop();
    }
  } finally {
    if (!options.keep) rmSync(workDir, { recursive: true, force: true });
    else log(`kept ${workDir}`);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
