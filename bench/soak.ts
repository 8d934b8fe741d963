// `npm run soak` (issue #11, "Soak"): Tessera alone under mixed traffic at half of its
// capacity for 10 minutes (by default), one line per minute: server RSS (VmRSS at the
// end of the minute, VmHWM within it), event-loop delay (prom-client's histogram read
// from /metrics once a minute, so each reading covers that minute), latency, errors;
// then whether the first and last minutes are flat. See README.md, "Soak".
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { HttpClient } from './lib/http.js';
import { closedLoop, openLoop, percentiles, type OpResult } from './lib/load.js';
import { cpuMs, machineBusyMs, peakRssMiB, resetPeakRss, rssMiB } from './lib/proc.js';
import { base32Decode, hotp, stepAt } from './lib/totp.js';
import { ACCOUNT_SLUG, PASSWORD } from './lib/users.js';
import { startTessera } from './tessera/system.js';

const BENCH_ROOT = fileURLToPath(new URL('.', import.meta.url));
const CORES = availableParallelism();

interface Options {
  minutes: number;
  rate: number | null;
  users: number;
  newUsers: number;
  capacitySeconds: number;
  keep: boolean;
}

function parseOptions(argv: string[]): Options {
  const value = (name: string): string | undefined => argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  for (const arg of argv) {
    if (!['--keep', '--help'].includes(arg) && !/^--(minutes|rate|users|new-users|capacity-seconds)=/.test(arg))
      throw new Error(`unknown option ${arg}; see README.md`);
  }
  if (argv.includes('--help')) {
    process.stdout.write(
      'Usage: npm run soak [-- options]\n  --minutes=N             length of the soak (default 10)\n  --rate=R                mixed operations per second (default: half the capacity, measured first)\n  --capacity-seconds=S    length of the capacity measurement (default 20)\n  --users=N               users seeded with an authenticator app (default 20000)\n  --new-users=N           users without 2FA, for enrolments (default 3000)\n  --keep                  keep the temporary data directory\n',
    );
    process.exit(0);
  }
  const options = {
    minutes: Number(value('minutes') ?? 10),
    rate: value('rate') === undefined ? null : Number(value('rate')),
    users: Number(value('users') ?? 20_000),
    newUsers: Number(value('new-users') ?? 3000),
    capacitySeconds: Number(value('capacity-seconds') ?? 20),
    keep: argv.includes('--keep'),
  };
  if (
    !(options.minutes >= 1) ||
    !Number.isInteger(options.minutes) ||
    (options.rate !== null && !(options.rate > 0)) ||
    !(options.users >= 1000) ||
    !(options.newUsers >= 0) ||
    !(options.capacitySeconds >= 5)
  ) {
    throw new Error('bad --minutes (a whole number ≥ 1), --rate, --users (≥ 1000), --new-users or --capacity-seconds (≥ 5)');
  }
  return options;
}

const started = Date.now();
function log(line: string): void {
  process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

/** The soak runs Tessera on SQLite (startTessera's default). */
function sqliteFileOf(system: { databasePath: string | null }): string {
  if (!system.databasePath) throw new Error('the soak runs Tessera on SQLite');
  return system.databasePath;
}

/** Users with a password and no 2FA, for the enrolments: copies of the template
 * user's row (made by the real CLI and API) with 2FA off. */
function addUnenrolledUsers(databasePath: string, count: number): string[] {
  const database = new Database(databasePath);
  database.pragma('busy_timeout = 5000');
  try {
    const template = database.prepare("select * from users where email = 'template@bench.test'").get() as Record<string, unknown>;
    const columns = Object.keys(template);
    const insert = database.prepare(`insert into users (${columns.map((c) => `"${c}"`).join(', ')}) values (${columns.map(() => '?').join(', ')})`);
    const emails: string[] = [];
    database.transaction(() => {
      for (let i = 0; i < count; i++) {
        const email = `new${i}@bench.test`;
        const row = {
          ...template,
          id: `soak-new-user-${String(i).padStart(8, '0')}`,
          email,
          name: `New User ${i}`,
          two_factor_enabled: 0,
          two_factor_enabled_at: null,
          preferred_method: null,
          last_passcode_used_at: null,
          last_sign_in_at: null,
        };
        insert.run(columns.map((c) => (row as Record<string, unknown>)[c]));
        emails.push(email);
      }
    })();
    return emails;
  } finally {
    database.close();
  }
}

/** The mixed traffic: what a day of a team's sign-ins looks like, roughly. */
class Mix {
  /** Sessions from recent sign-ins, for the session checks (a ring). */
  private readonly sessions: string[] = [];
  private sessionCursor = 0;
  /** Unused recovery codes of people enrolled during the soak. */
  private readonly recoveryCodes: { email: string; code: string }[] = [];
  private readonly newEmails: string[];
  readonly counts: Record<string, number> = {};

  constructor(
    private readonly system: Awaited<ReturnType<typeof startTessera>>,
    newEmails: string[],
  ) {
    this.newEmails = [...newEmails];
  }

  private get http(): HttpClient {
    return this.system.http;
  }

  private keep(session: string | undefined): void {
    if (!session) return;
    if (this.sessions.length < 2000) this.sessions.push(session);
    else this.sessions[this.sessionCursor++ % 2000] = session;
  }

  private async signInWithTotp(): Promise<OpResult> {
    const result = await this.system.fullSignIn();
    this.keep(result.credential);
    return result;
  }

  private async checkSession(): Promise<OpResult> {
    if (this.sessions.length === 0) return this.signInWithTotp();
    return this.system.sessionCheck(this.sessions[Math.floor(Math.random() * this.sessions.length)]!);
  }

  /** Password sign-in (no 2FA yet), authenticator app, code: ten recovery codes. */
  private async enrol(): Promise<OpResult> {
    const email = this.newEmails.pop();
    if (!email) return this.signInWithTotp();
    const signIn = await this.http.request('POST', '/api/v1/sign-in', { json: { account: ACCOUNT_SLUG, email, password: PASSWORD } });
    const token = asRecord(signIn.body).session_token;
    if (signIn.status !== 200 || typeof token !== 'string') return { ok: false, status: signIn.status === 200 ? -2 : signIn.status };
    const auth = { authorization: `Bearer ${token}` };
    const start = await this.http.request('POST', '/api/v1/me/two-factor/totp', { headers: auth, json: {} });
    const secret = asRecord(start.body).secret;
    if (start.status !== 200 || typeof secret !== 'string') return { ok: false, status: start.status === 200 ? -2 : start.status };
    const verify = await this.http.request('POST', '/api/v1/me/two-factor/totp/verify', {
      headers: auth,
      json: { code: hotp(base32Decode(secret), stepAt(Date.now())) },
    });
    const codes = asRecord(verify.body).recovery_codes;
    if (verify.status !== 200 || !Array.isArray(codes)) return { ok: false, status: verify.status === 200 ? -2 : verify.status };
    for (const code of codes.slice(0, 5)) this.recoveryCodes.push({ email, code: String(code) });
    this.keep(token);
    return { ok: true, status: 200 };
  }

  private async signInWithRecoveryCode(): Promise<OpResult> {
    const taken = this.recoveryCodes.splice(Math.floor(Math.random() * this.recoveryCodes.length), 1)[0];
    if (!taken) return this.signInWithTotp();
    const first = await this.http.request('POST', '/api/v1/sign-in', { json: { account: ACCOUNT_SLUG, email: taken.email, password: PASSWORD } });
    const challenge = asRecord(first.body).challenge_token;
    if (first.status !== 200 || typeof challenge !== 'string') return { ok: false, status: first.status === 200 ? -2 : first.status };
    const second = await this.http.request('POST', '/api/v1/sign-in/two-factor', {
      json: { challenge_token: challenge, method: 'recovery_code', code: taken.code },
    });
    const session = asRecord(second.body).session_token;
    this.keep(typeof session === 'string' ? session : undefined);
    return { ok: second.status === 200 && typeof session === 'string', status: second.status };
  }

  /** 45% sign-ins with TOTP, 40% session checks, 8% enrolments, 7% recovery codes. */
  op = async (): Promise<OpResult> => {
    const roll = Math.random();
    const name = roll < 0.45 ? 'sign-in (TOTP)' : roll < 0.85 ? 'session check' : roll < 0.93 ? 'enrolment' : 'sign-in (recovery code)';
    this.counts[name] = (this.counts[name] ?? 0) + 1;
    if (name === 'sign-in (TOTP)') return this.signInWithTotp();
    if (name === 'session check') return this.checkSession();
    if (name === 'enrolment') return this.enrol();
    return this.signInWithRecoveryCode();
  };
}

interface EventLoopReading {
  p99Ms: number | null;
  maxMs: number | null;
}

/** prom-client resets its event-loop histogram at each scrape, so one scrape a minute
 * reads that minute's delays. */
async function scrapeEventLoop(origin: string): Promise<EventLoopReading> {
  const read = (text: string, name: string): number | null => {
    const match = new RegExp(`^${name}(?:\\{[^}]*\\})?\\s+([0-9.eE+-]+)$`, 'm').exec(text);
    return match ? Number(match[1]) * 1000 : null;
  };
  try {
    const response = await fetch(`${origin}/metrics`, { signal: AbortSignal.timeout(10_000) });
    const text = await response.text();
    return { p99Ms: read(text, 'tessera_nodejs_eventloop_lag_p99_seconds'), maxMs: read(text, 'tessera_nodejs_eventloop_lag_max_seconds') };
  } catch {
    return { p99Ms: null, maxMs: null };
  }
}

interface Minute {
  minute: number;
  sent: number;
  ok: number;
  errors: number;
  dropped: number;
  statuses: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  rssMiB: number;
  peakRssMiB: number;
  eventLoopP99Ms: number | null;
  eventLoopMaxMs: number | null;
  serverCpuShare: number;
  otherLoadShare: number;
}

const fixed = (value: number | null, digits = 1): string => (value === null || !Number.isFinite(value) ? '–' : value.toFixed(digits));

function minuteRow(m: Minute): string {
  return `| ${m.minute} | ${m.ok} | ${m.errors} | ${fixed(m.p50Ms)} | ${fixed(m.p99Ms)} | ${fixed(m.rssMiB)} | ${fixed(m.peakRssMiB)} | ${fixed(m.eventLoopP99Ms)} | ${fixed(m.eventLoopMaxMs)} | ${(100 * m.serverCpuShare).toFixed(0)}% | ${(100 * m.otherLoadShare).toFixed(0)}% |`;
}

/** Flat: the last minute within 10% (+5 MiB) of the first for RSS, within 50% (+2 ms)
 * for the event-loop p99 (its 10 ms sampling floor makes smaller changes noise). */
function verdict(first: Minute, last: Minute): { rssFlat: boolean; eventLoopFlat: boolean; noErrors: boolean } {
  return {
    rssFlat: last.rssMiB <= first.rssMiB * 1.1 + 5,
    eventLoopFlat: first.eventLoopP99Ms === null || last.eventLoopP99Ms === null ? false : last.eventLoopP99Ms <= first.eventLoopP99Ms * 1.5 + 2,
    noErrors: true,
  };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const workDir = mkdtempSync(join(tmpdir(), 'tessera-soak-'));
  log(
    `soak: ${options.minutes} min on ${CORES} cores, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}; work dir ${workDir}`,
  );
  const system = await startTessera({ users: options.users, workDir, logFile: join(workDir, 'tessera.log'), log, connections: 64 });
  try {
    const newEmails = addUnenrolledUsers(sqliteFileOf(system), options.newUsers);
    const mix = new Mix(system, newEmails);
    let rate = options.rate;
    let capacity: number | null = null;
    if (rate === null) {
      log(`measuring capacity: the mix in a closed loop of 16 for ${options.capacitySeconds} s`);
      await closedLoop({ concurrency: 16, durationMs: 3000, maxOps: 1_000_000, op: mix.op });
      const stats = await closedLoop({ concurrency: 16, durationMs: options.capacitySeconds * 1000, maxOps: 10_000_000, op: mix.op });
      capacity = stats.ok / (stats.elapsedMs / 1000);
      rate = capacity / 2;
      log(`  capacity ${capacity.toFixed(1)} ops/s (${stats.failed} failed): the soak runs at ${rate.toFixed(1)} ops/s`);
    }
    const pid = system.server.pid;
    await scrapeEventLoop(system.server.origin); // starts the first minute's histogram
    const minutes: Minute[] = [];
    for (let minute = 1; minute <= options.minutes; minute++) {
      resetPeakRss(pid);
      const cpuBefore = cpuMs(pid);
      const machineBefore = machineBusyMs();
      const clientBefore = process.cpuUsage();
      const t0 = performance.now();
      const stats = await openLoop({ ratePerSecond: rate, durationMs: 60_000, maxOutstanding: 500, drainTimeoutMs: 30_000, op: mix.op });
      const wall = performance.now() - t0;
      const eventLoop = await scrapeEventLoop(system.server.origin);
      const serverCpu = cpuMs(pid) - cpuBefore;
      const clientUsage = process.cpuUsage(clientBefore);
      const clientCpu = (clientUsage.user + clientUsage.system) / 1000;
      const other = machineBusyMs() - machineBefore - serverCpu - clientCpu;
      const ok = stats.events.filter((e) => e.ok);
      const statuses: Record<string, number> = {};
      for (const event of stats.events) statuses[String(event.status)] = (statuses[String(event.status)] ?? 0) + 1;
      const latency = percentiles(ok.map((e) => e.latency));
      const row: Minute = {
        minute,
        sent: stats.sent,
        ok: ok.length,
        errors: stats.events.length - ok.length + stats.dropped + (stats.sent - stats.events.length),
        dropped: stats.dropped,
        statuses,
        p50Ms: latency.p50,
        p99Ms: latency.p99,
        rssMiB: rssMiB(pid),
        peakRssMiB: peakRssMiB(pid),
        eventLoopP99Ms: eventLoop.p99Ms,
        eventLoopMaxMs: eventLoop.maxMs,
        serverCpuShare: serverCpu / (wall * CORES),
        otherLoadShare: Math.max(0, other) / (wall * CORES),
      };
      minutes.push(row);
      log(
        `minute ${minute}: ${row.ok} ok, ${row.errors} errors, p99 ${fixed(row.p99Ms)} ms, RSS ${fixed(row.rssMiB)} MiB (peak ${fixed(row.peakRssMiB)}), event loop p99 ${fixed(row.eventLoopP99Ms)} ms, other load ${(100 * row.otherLoadShare).toFixed(0)}%`,
      );
    }
    const first = minutes[0]!;
    const last = minutes[minutes.length - 1]!;
    const errors = minutes.reduce((sum, m) => sum + m.errors, 0);
    const flat = { ...verdict(first, last), noErrors: errors === 0 };
    const rssSlope = minutes.length > 1 ? (last.rssMiB - first.rssMiB) / (minutes.length - 1) : 0;
    const lines = [
      `# Tessera soak, ${new Date(started).toISOString()}`,
      '',
      `${options.minutes} min of mixed traffic (45% sign-ins with TOTP, 40% session checks, 8% enrolments, 7% sign-ins with a recovery code) at ${rate.toFixed(1)} ops/s${capacity === null ? ' (--rate)' : `, half of the ${capacity.toFixed(1)} ops/s measured first`}; ${options.users} users with an authenticator app, ${options.newUsers} without; ${CORES} cores, load average at the end ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}.`,
      `Operations: ${Object.entries(mix.counts)
        .map(([name, count]) => `${name} ${count}`)
        .join(', ')}.`,
      '',
      '| min | ok | errors | p50 ms | p99 ms | RSS MiB | peak RSS MiB | event loop p99 ms | event loop max ms | server CPU | other load |',
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...minutes.map(minuteRow),
      '',
      `First minute: RSS ${fixed(first.rssMiB)} MiB, event-loop p99 ${fixed(first.eventLoopP99Ms)} ms, ${first.errors} errors.`,
      `Last minute:  RSS ${fixed(last.rssMiB)} MiB, event-loop p99 ${fixed(last.eventLoopP99Ms)} ms, ${last.errors} errors.`,
      `RSS ${flat.rssFlat ? 'flat' : 'NOT flat'} (${rssSlope >= 0 ? '+' : ''}${rssSlope.toFixed(2)} MiB/min), event loop ${flat.eventLoopFlat ? 'flat' : 'NOT flat'}, ${flat.noErrors ? 'no error' : `${errors} ERRORS`}.`,
      '',
    ];
    process.stdout.write(`\n${lines.join('\n')}`);
    const resultsDir = join(BENCH_ROOT, 'results');
    mkdirSync(resultsDir, { recursive: true });
    const base = join(
      resultsDir,
      `${options.minutes < 10 ? 'quick-' : ''}soak-${new Date(started)
        .toISOString()
        .replace(/:/g, '-')
        .replace(/\.\d+Z$/, 'Z')}`,
    );
    writeFileSync(`${base}.md`, lines.join('\n'));
    writeFileSync(`${base}.json`, `${JSON.stringify({ options, rate, capacity, counts: mix.counts, minutes, flat }, null, 2)}\n`);
    log(`wrote ${base}.md and .json`);
    if (!flat.rssFlat || !flat.eventLoopFlat || !flat.noErrors) process.exitCode = 1;
  } finally {
    await system.stop();
    if (!options.keep) rmSync(workDir, { recursive: true, force: true });
  }
}

await main();
