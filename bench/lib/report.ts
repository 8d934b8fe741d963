// The printed report: Markdown tables (readable in a terminal, pasteable in README.md).
import type { StatementTiming } from './postgres.js';
import type { Store } from './system.js';

export interface WorkloadResult {
  ok: number;
  failed: number;
  statuses: Record<string, number>;
  seconds: number;
  ended: 'time' | 'count' | 'exhausted';
  perSecond: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  serverCpuMsPerOp: number;
  clientCpuMsPerOp: number;
  /** CPU used by other processes during the measured window, as a share of all cores. */
  otherLoadShare: number;
  peakRssMiB: number | null;
  /** CPU of the PostgreSQL backends serving the system, per operation (PostgreSQL only). */
  databaseCpuMsPerOp?: number | null;
  /** How many backends used CPU in the window. */
  databaseBackends?: number | null;
  /** Per-statement timing inside the server (`--pg-statements`), busiest first. */
  statements?: StatementTiming[] | null;
  note?: string;
}

export interface SystemReport {
  label: string;
  users: number;
  seedSeconds: number;
  fullSignIn: WorkloadResult;
  secondStep: WorkloadResult & { challengesMade: number };
  sessionCheck: WorkloadResult;
  revokedOnNextRequest: boolean | null;
}

export interface OverloadReport {
  sustainablePerSecond: number;
  targetPerSecond: number;
  seconds: number;
  sent: number;
  dropped: number;
  completedOk: number;
  completedPerSecond: number;
  p50: number;
  p99: number;
  share429: number;
  share503: number;
  shareOtherErrors: number;
  eventLoopP99IdleMs: number | null;
  eventLoopP99MaxMs: number | null;
  eventLoopP99MedianMs: number | null;
  eventLoopSamples: number;
  idleFlowMs: number;
  drainSeconds: number;
  recoverySeconds: number | null;
}

/** Keycloak's sizing guide allots one vCPU per 120 refresh-token grants per second. */
export const KEYCLOAK_REFRESH_GRANTS_PER_VCPU = 120;
/** Issue 21's target: five times that per core, i.e. ≤ 1.67 ms of CPU per refresh grant. */
export const REFRESH_TARGET_FACTOR = 5;

export interface OidcReport {
  users: number;
  /** People signed in, one per worker. */
  people: number;
  seedSeconds: number;
  /** What openid-client checked once before the load. */
  check: string;
  /** The minting of the codes: /oidc/auth with a session, a code and no page. */
  authorize: WorkloadResult;
  codeExchange: WorkloadResult & {
    codesMinted: number;
    windows: number;
    windowsRanOut: number;
    maxCodeAgeSeconds: number;
    codeLifetimeSeconds: number;
  };
  refresh: WorkloadResult;
  userinfo: WorkloadResult;
  /** Rows in oidc_records at the end, by model. */
  records: Record<string, number>;
}

export interface Report {
  startedAt: string;
  /** Missing in reports made before --store existed: SQLite. */
  store?: Store;
  /** The other store's report, set beside this one. */
  compareWith?: { file: string; report: Report } | null;
  finishedAt?: string;
  quick: boolean;
  settings: Record<string, unknown>;
  machine: { cores: number; node: string; loadAverageAtStart: number[]; loadAverageAtEnd: number[] };
  versions: Record<string, string>;
  ceiling: WorkloadResult[];
  tessera: SystemReport | null;
  peer: SystemReport | null;
  overload: OverloadReport | null;
  oidc: OidcReport | null;
  growth: SystemReport[];
  notes: string[];
}

function num(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function ratio(a: number | undefined, b: number | undefined, digits = 2): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '–';
  return `${(a / b).toFixed(digits)}×`;
}

function pct(value: number, digits = 1): string {
  return Number.isFinite(value) ? `${(value * 100).toFixed(digits)}%` : '–';
}

function change(from: number, to: number): string {
  if (!Number.isFinite(from) || !Number.isFinite(to) || from === 0) return '–';
  const delta = (to - from) / from;
  return `${delta >= 0 ? '+' : ''}${(delta * 100).toFixed(0)}%`;
}

function mark(ok: boolean | null): string {
  return ok === null ? '?' : ok ? 'met' : '**missed**';
}

function table(header: string[], rows: string[][]): string {
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
  return lines.join('\n');
}

function short(value: number | undefined): string {
  return value === undefined ? '–' : value >= 1_000_000 ? `${value / 1_000_000}M` : value >= 1000 ? `${value / 1000}k` : String(value);
}

function endedNote(result: WorkloadResult | undefined): string {
  if (!result) return '';
  return result.ended === 'exhausted' ? ` (${result.seconds.toFixed(1)} s: ran out)` : '';
}

function renderOidc(o: OidcReport, cores: number): string[] {
  const out: string[] = [];
  out.push(`### Tessera as an OpenID Connect provider (${num(o.users)} users, ${o.people} people signed in, one per worker)`);
  out.push('');
  out.push(
    'Tessera alone: better-auth has no comparable OpenID Connect provider in this benchmark, so there is no peer column. One confidential, first-party app (client_secret_basic); every code with PKCE (S256).',
  );
  out.push('');
  const row = (label: string, w: WorkloadResult, digits: number): string[] => [
    label,
    num(w.perSecond, digits),
    num(w.p50, 1),
    num(w.p99, 1),
    num(w.serverCpuMsPerOp, 2),
    num(w.clientCpuMsPerOp, 2),
    num(w.peakRssMiB ?? Number.NaN),
    pct(w.otherLoadShare, 0),
  ];
  const x = o.codeExchange;
  out.push(
    table(
      ['Workload', 'ops/s', 'p50 ms', 'p99 ms', 'server CPU ms/op', 'client CPU ms/op', 'peak RSS MiB', 'other processes'],
      [
        row('Code exchange (POST /oidc/token, authorization_code)', x, 0),
        row('Refresh grant (POST /oidc/token, refresh_token, rotated)', o.refresh, 0),
        row('Userinfo (GET /oidc/userinfo, bearer)', o.userinfo, 0),
        row('Minting the codes: GET /oidc/auth, signed in, no page (preparation)', o.authorize, 0),
      ],
    ),
  );
  out.push('');
  const perCoreSecond = 1000 / o.refresh.serverCpuMsPerOp;
  const targetMs = 1000 / (KEYCLOAK_REFRESH_GRANTS_PER_VCPU * REFRESH_TARGET_FACTOR);
  const anchor = KEYCLOAK_REFRESH_GRANTS_PER_VCPU;
  out.push(
    table(
      ['Refresh grants against Keycloak’s sizing (120 per second per vCPU)', 'Value', 'Target (issue 21)'],
      [
        [
          'Refresh grants per second per core of server CPU (1000 ÷ server CPU ms per grant)',
          num(perCoreSecond, 0),
          `≥ ${num(anchor * REFRESH_TARGET_FACTOR)}/s, i.e. ≤ ${num(targetMs, 2)} ms of CPU per grant`,
        ],
        [
          '÷ Keycloak’s 120 per vCPU',
          ratio(perCoreSecond, anchor),
          `≥ ${REFRESH_TARGET_FACTOR}×: ${mark(Number.isFinite(perCoreSecond) ? perCoreSecond >= anchor * REFRESH_TARGET_FACTOR : null)}`,
        ],
        [`Measured refresh grants/s ÷ (120 × ${cores} cores), load client on the same cores`, ratio(o.refresh.perSecond, anchor * cores), 'for scale only'],
      ],
    ),
  );
  out.push('');
  out.push(
    `Codes: minted by the ${o.people} people through GET /oidc/auth with their Tessera and provider session cookies (a 303 to the app's callback with a code, no page), in a batch just before each measured exchange window (${x.windows} window${x.windows === 1 ? '' : 's'}, ${num(x.codesMinted)} codes minted, the newest exchanged first; ${x.windowsRanOut} window${x.windowsRanOut === 1 ? '' : 's'} ran out of codes before its end). The oldest code exchanged was ${num(x.maxCodeAgeSeconds, 1)} s old (they live ${x.codeLifetimeSeconds} s). The minting row is measured over those batches only; the exchange row over the exchange windows only.`,
  );
  out.push('');
  out.push(`Checked before the load with ${o.check}.`);
  out.push('');
  out.push(
    `oidc_records at the end: ${
      Object.entries(o.records)
        .map(([model, n]) => `${model} ${num(n)}`)
        .join(', ') || 'empty'
    }.`,
  );
  const failures = (
    [
      ['code exchange', x],
      ['refresh grant', o.refresh],
      ['userinfo', o.userinfo],
      ['minting', o.authorize],
    ] as const
  )
    .filter(([, w]) => w.failed > 0 || (w !== x && w.ended === 'exhausted'))
    .map(([name, w]) => `${name}: ${w.failed} failed ${JSON.stringify(w.statuses)}${endedNote(w)}`);
  if (failures.length) out.push(`\nFailures or early ends: ${failures.join('; ')}.`);
  out.push('');
  return out;
}

function storeOf(report: Report): Store {
  return report.store ?? 'sqlite';
}

function storeLabel(report: Report): string {
  return storeOf(report) === 'postgres' ? `PostgreSQL ${report.versions.postgres ?? ''} + Redis`.replace('  ', ' ') : 'SQLite';
}

/** Full sign-in against the argon2id ceiling: 0.9× on SQLite (issue 10), 0.85× on
 * PostgreSQL + Redis (issue 25). */
function ceilingTarget(report: Report): number {
  return storeOf(report) === 'postgres' ? 0.85 : 0.9;
}

function meanCeiling(report: Report): number {
  const ceilings = report.ceiling.map((c) => c.perSecond);
  return ceilings.length ? ceilings.reduce((a, b) => a + b, 0) / ceilings.length : Number.NaN;
}

function hasDatabaseCpu(w: WorkloadResult | undefined): boolean {
  return w?.databaseCpuMsPerOp !== undefined && w.databaseCpuMsPerOp !== null;
}

export function renderReport(report: Report): string {
  const out: string[] = [];
  const onPostgres = storeOf(report) === 'postgres';
  const t = report.tessera;
  const p = report.peer;
  const ceilings = report.ceiling.map((c) => c.perSecond);
  const ceiling = ceilings.length ? ceilings.reduce((a, b) => a + b, 0) / ceilings.length : Number.NaN;
  const load = report.machine.loadAverageAtStart;
  const oidcOnly = report.oidc !== null && !t && !p && !report.overload && report.growth.length === 0 && report.ceiling.length === 0;
  out.push(
    `## Tessera ${report.versions.tessera}${oidcOnly ? ': OpenID Connect' : ` vs better-auth ${report.versions.betterAuth}`} on ${storeLabel(report)}${report.quick ? ' (quick run: figures only show that it works)' : ''}`,
  );
  out.push('');
  out.push(
    `${report.startedAt.slice(0, 16).replace('T', ' ')} UTC · ${report.machine.cores} cores · Node ${report.machine.node} · ${onPostgres ? `PostgreSQL ${report.versions.postgres} (pg ${report.versions.pg}), Redis${report.versions.redis ? ` ${report.versions.redis}` : ''} (ioredis ${report.versions.ioredis}), fresh databases dropped afterwards` : `better-sqlite3 ${report.versions.betterSqlite3}`} · @node-rs/argon2 ${report.versions.argon2} · ` +
      `${num(report.settings.users as number)} users with TOTP${oidcOnly ? '' : ' each side'} · closed loop, 16 at once, ${report.settings.durationSeconds} s per workload after ${report.settings.warmupSeconds} s warm-up · ` +
      `load average ${load.map((n) => n.toFixed(1)).join(' / ')} at start, ${report.machine.loadAverageAtEnd.map((n) => n.toFixed(1)).join(' / ')} at end`,
  );
  out.push('');
  if (t) {
    const row = (label: string, get: (s: SystemReport) => number, digits: number, target = ''): string[] => {
      const a = get(t);
      const b = p ? get(p) : Number.NaN;
      return [label, num(a, digits), p ? num(b, digits) : '–', ratio(a, b), target];
    };
    const rows: string[][] = [
      row(
        'Full sign-in, flows/s',
        (s) => s.fullSignIn.perSecond,
        1,
        `≥ ${ceilingTarget(report)} × argon2id ceiling: ${ratio(t.fullSignIn.perSecond, ceiling)} of ${num(ceiling, 1)}/s, ${mark(t.fullSignIn.perSecond >= ceilingTarget(report) * ceiling)}`,
      ),
      row('  p50, ms', (s) => s.fullSignIn.p50, 0),
      row('  p99, ms', (s) => s.fullSignIn.p99, 0),
      row('  peak RSS, MiB', (s) => s.fullSignIn.peakRssMiB ?? Number.NaN, 0),
      row('  server CPU, ms per flow', (s) => s.fullSignIn.serverCpuMsPerOp, 1),
      row(
        'Second step alone, verifications/s',
        (s) => s.secondStep.perSecond,
        0,
        `≥ 10× peer: ${mark(p ? t.secondStep.perSecond >= 10 * p.secondStep.perSecond : null)}`,
      ),
      row('  p99, ms', (s) => s.secondStep.p99, 1),
      row('  server CPU, ms per verification', (s) => s.secondStep.serverCpuMsPerOp, 2),
      ...(onPostgres ? [row('  PostgreSQL CPU, ms per verification', (s) => s.secondStep.databaseCpuMsPerOp ?? Number.NaN, 2)] : []),
      row('  peak RSS, MiB', (s) => s.secondStep.peakRssMiB ?? Number.NaN, 0),
      row(
        'Session check, requests/s',
        (s) => s.sessionCheck.perSecond,
        0,
        `≥ 10× peer: ${mark(p ? t.sessionCheck.perSecond >= 10 * p.sessionCheck.perSecond : null)}`,
      ),
      row('  p99, ms', (s) => s.sessionCheck.p99, 1),
      row('  server CPU, ms per check', (s) => s.sessionCheck.serverCpuMsPerOp, 2),
      ...(onPostgres ? [row('  PostgreSQL CPU, ms per check', (s) => s.sessionCheck.databaseCpuMsPerOp ?? Number.NaN, 2)] : []),
      row('  peak RSS, MiB', (s) => s.sessionCheck.peakRssMiB ?? Number.NaN, 0),
    ];
    if (onPostgres)
      rows.splice(
        5,
        0,
        row('  PostgreSQL CPU, ms per flow', (s) => s.fullSignIn.databaseCpuMsPerOp ?? Number.NaN, 2),
      );
    const peakTessera = Math.max(...[t.fullSignIn, t.secondStep, t.sessionCheck].map((w) => w.peakRssMiB ?? 0));
    rows[3]![4] = `Tessera ≤ 150 MiB in every workload (max ${num(peakTessera)}): ${mark(peakTessera <= 150)}`;
    rows.push([
      'Revocation takes effect on the next request',
      t.revokedOnNextRequest ? 'yes' : 'no',
      p ? (p.revokedOnNextRequest ? 'yes' : 'no') : '–',
      '',
      '',
    ]);
    rows.push([
      'argon2id ceiling (raw verify, 2 at once), /s',
      ceilings.map((c) => num(c, 1)).join(' then '),
      '',
      '',
      'measured before and after the two systems',
    ]);
    out.push(table(['Workload', 'Tessera', 'better-auth', 'Tessera ÷ better-auth', onPostgres ? 'Target (issue 25)' : 'Target (issue 10)'], rows));
    out.push('');
    out.push(
      'Latency ratios: below 1× means Tessera answers faster. CPU is the server process only (utime+stime from /proc, argon2 threads included); peak RSS is VmHWM, reset before each workload.' +
        (onPostgres
          ? " PostgreSQL CPU is the utime+stime of the backends serving the system's own database (pg_stat_activity by datname, client backends, the bench's own connections left out), sampled every 500 ms over the measured window; Redis's CPU is not counted (the Redis server is shared with other work on this host)."
          : ''),
    );
    const noisy = [
      ['Tessera', t],
      ['better-auth', p],
    ]
      .flatMap(([name, s]) =>
        s ? (['fullSignIn', 'secondStep', 'sessionCheck'] as const).map((k) => `${name as string} ${k} ${pct((s as SystemReport)[k].otherLoadShare, 0)}`) : [],
      )
      .join(', ');
    out.push('');
    out.push(`Other processes' share of the machine's CPU during each measured window (noise): ${noisy}.`);
    const failures = [t, p]
      .filter((s): s is SystemReport => s !== null)
      .flatMap((s) =>
        (['fullSignIn', 'secondStep', 'sessionCheck'] as const)
          .filter((k) => s[k].failed > 0 || s[k].ended === 'exhausted')
          .map((k) => `${s.label} ${k}: ${s[k].failed} failed ${JSON.stringify(s[k].statuses)}${endedNote(s[k])}`),
      );
    if (failures.length) out.push(`\nFailures or early ends: ${failures.join('; ')}.`);
    out.push('');
  }
  const o = report.overload;
  if (o) {
    out.push(`### Tessera at 2× its sustainable sign-in rate (${num(o.targetPerSecond, 1)} flows/s arriving for ${o.seconds} s, open loop)`);
    out.push('');
    out.push(
      table(
        ['Figure', 'Value', 'Target'],
        [
          ['Flows sent / dropped by the client (2,000 in flight at most)', `${num(o.sent)} / ${num(o.dropped)}`, ''],
          ['Completed sign-ins/s (until drained)', num(o.completedPerSecond, 1), ''],
          ['Latency p50 / p99 from arrival, ms', `${num(o.p50)} / ${num(o.p99)}`, ''],
          ['Answers 429 / 503 / other errors', `${pct(o.share429)} / ${pct(o.share503)} / ${pct(o.shareOtherErrors)}`, ''],
          [
            'Event-loop delay p99 (tessera_nodejs_eventloop_lag_p99_seconds, 2 s windows): max / median, ms',
            o.eventLoopP99MaxMs === null
              ? 'not exposed'
              : `${num(o.eventLoopP99MaxMs, 1)} / ${num(o.eventLoopP99MedianMs, 1)} (idle ${num(o.eventLoopP99IdleMs, 1)})`,
            `≤ 20 ms: ${mark(o.eventLoopP99MaxMs === null ? null : o.eventLoopP99MaxMs <= 20)}`,
          ],
          ['Drain after the overload, s', num(o.drainSeconds, 1), ''],
          ['Time to recover (a lone sign-in within 2× its idle time), s', o.recoverySeconds === null ? 'not within 180 s' : num(o.recoverySeconds, 1), ''],
        ],
      ),
    );
    out.push('');
  }
  if (report.oidc) out.push(...renderOidc(report.oidc, report.machine.cores));
  if (report.growth.length) {
    const g = report.growth;
    const first = g[0]!;
    const last = g[g.length - 1]!;
    out.push(`### Tessera alone as users grow (${g.map((s) => short(s.users)).join(', ')})`);
    out.push('');
    const rows = g.map((s) => [
      short(s.users),
      num(s.seedSeconds, 0),
      num(s.fullSignIn.perSecond, 1),
      num(s.fullSignIn.p99),
      `${num(s.secondStep.perSecond)}${endedNote(s.secondStep)}`,
      num(s.secondStep.p99, 1),
      num(s.sessionCheck.perSecond),
      num(s.sessionCheck.p99, 1),
      num(Math.max(...[s.fullSignIn, s.secondStep, s.sessionCheck].map((w) => w.peakRssMiB ?? 0))),
    ]);
    const within = (a: number, b: number) => Math.abs((b - a) / a) <= 0.2;
    if (g.length > 1)
      rows.push([
        `change ${short(first.users)} → ${short(last.users)}`,
        '',
        change(first.fullSignIn.perSecond, last.fullSignIn.perSecond),
        change(first.fullSignIn.p99, last.fullSignIn.p99),
        change(first.secondStep.perSecond, last.secondStep.perSecond),
        change(first.secondStep.p99, last.secondStep.p99),
        change(first.sessionCheck.perSecond, last.sessionCheck.perSecond),
        change(first.sessionCheck.p99, last.sessionCheck.p99),
        '',
      ]);
    if (g.length > 1)
      rows.push([
        'target: ≤ 20% change',
        '',
        mark(within(first.fullSignIn.perSecond, last.fullSignIn.perSecond)),
        '',
        mark(within(first.secondStep.perSecond, last.secondStep.perSecond)),
        '',
        mark(within(first.sessionCheck.perSecond, last.sessionCheck.perSecond)),
        '',
        '',
      ]);
    out.push(table(['Users', 'Seeding, s', 'Sign-in/s', 'p99 ms', 'Second step/s', 'p99 ms', 'Session checks/s', 'p99 ms', 'Peak RSS MiB'], rows));
    out.push('');
    // Neither the load client's work per operation nor the hash behind a sign-in
    // depends on the number of users: when they cost more CPU, the machine itself got
    // slower (another tenant of the host), not Tessera's work bigger.
    const workloads = [
      ['Sign-in', (s: SystemReport) => s.fullSignIn, 2],
      ['Second step', (s: SystemReport) => s.secondStep, 3],
      ['Session check', (s: SystemReport) => s.sessionCheck, 3],
    ] as const;
    const cpuRows = g.map((s) => [
      short(s.users),
      ...workloads.flatMap(([, of, digits]) => [
        num(of(s).serverCpuMsPerOp, digits),
        num(of(s).clientCpuMsPerOp, digits),
        ratio(of(s).serverCpuMsPerOp, of(s).clientCpuMsPerOp, 2),
      ]),
    ]);
    if (g.length > 1)
      cpuRows.push([
        `change ${short(first.users)} → ${short(last.users)}`,
        ...workloads.flatMap(([, of]) => [
          change(of(first).serverCpuMsPerOp, of(last).serverCpuMsPerOp),
          change(of(first).clientCpuMsPerOp, of(last).clientCpuMsPerOp),
          change(of(first).serverCpuMsPerOp / of(first).clientCpuMsPerOp, of(last).serverCpuMsPerOp / of(last).clientCpuMsPerOp),
        ]),
      ]);
    out.push(
      "CPU ms per operation, Tessera's server and the load client. The client's work per operation and the sign-in's hash do not depend on the number of users: when they take more CPU, the machine got slower.",
    );
    out.push('');
    out.push(table(['Users', ...workloads.flatMap(([name]) => [`${name}: server`, 'client', 'server ÷ client'])], cpuRows));
    out.push('');
    if (g.some((s) => hasDatabaseCpu(s.fullSignIn))) {
      const dbRows = g.map((s) => [short(s.users), ...workloads.map(([, of, digits]) => num(of(s).databaseCpuMsPerOp ?? Number.NaN, digits))]);
      if (g.length > 1)
        dbRows.push([
          `change ${short(first.users)} → ${short(last.users)}`,
          ...workloads.map(([, of]) => change(of(first).databaseCpuMsPerOp ?? Number.NaN, of(last).databaseCpuMsPerOp ?? Number.NaN)),
        ]);
      out.push("CPU ms per operation of the PostgreSQL backends serving Tessera's database.");
      out.push('');
      out.push(table(['Users', ...workloads.map(([name]) => `${name}: PostgreSQL`)], dbRows));
      out.push('');
    }
  }
  if (onPostgres) out.push(...renderSizing(report), ...renderStatements(report));
  if (report.compareWith) out.push(...renderStores(report, report.compareWith));
  for (const note of report.notes) out.push(`- ${note}`);
  return `${out.join('\n')}\n`;
}

/** Where a workload's database time goes: each statement as the server saw it. */
function renderStatements(report: Report): string[] {
  const out: string[] = [];
  const systems = [report.tessera, report.peer].filter((s): s is SystemReport => s !== null);
  for (const system of systems) {
    for (const [name, w] of [
      ['full sign-in', system.fullSignIn],
      ['second step', system.secondStep],
      ['session check', system.sessionCheck],
    ] as const) {
      if (!w.statements?.length || w.ok === 0) continue;
      if (!out.length) {
        out.push('### Statements per operation, timed inside the servers (--pg-statements)');
        out.push('');
        out.push(
          "Each statement from the call to its answer as node-postgres saw it in the server: the round trip, PostgreSQL's work, and any wait for the server's own event loop (so under load these times are upper bounds). The busiest statements by total time; ms per operation is that total ÷ the operations that succeeded.",
        );
        out.push('');
      }
      const totalMs = w.statements.reduce((sum, x) => sum + x.totalMs, 0);
      out.push(`${system.label}, ${name} (${num(w.perSecond)}/s):`);
      out.push('');
      out.push(
        table(
          ['Statement', 'calls per op', 'mean ms', 'max ms', 'ms per op', 'share'],
          w.statements
            .slice(0, 10)
            .map((x) => [
              `\`${x.text.slice(0, 110).replace(/`/g, "'").replace(/\|/g, '/')}${x.text.length > 110 ? '…' : ''}\``,
              num(x.calls / w.ok, 2),
              num(x.totalMs / x.calls, 2),
              num(x.maxMs, 1),
              num(x.totalMs / w.ok, 2),
              pct(x.totalMs / totalMs, 0),
            ]),
        ),
      );
      out.push('');
    }
  }
  return out;
}

/** Cores per 1,000 operations a second: CPU ms per operation × 1,000 ÷ 1,000 ms. */
function renderSizing(report: Report): string[] {
  const out: string[] = [];
  const rows: string[][] = [];
  const add = (label: string, w: WorkloadResult | undefined) => {
    if (!w) return;
    rows.push([
      label,
      num(w.perSecond, w.perSecond < 200 ? 1 : 0),
      num(w.serverCpuMsPerOp, 2),
      num(w.databaseCpuMsPerOp ?? Number.NaN, 2),
      num(w.databaseBackends ?? Number.NaN),
    ]);
  };
  const t = report.tessera;
  const p = report.peer;
  const g = report.growth.length ? report.growth[report.growth.length - 1] : undefined;
  add('Tessera: full sign-in (password + TOTP)', t?.fullSignIn);
  add('Tessera: second step alone', t?.secondStep);
  add('Tessera: session check', t?.sessionCheck);
  if (g && g !== t) {
    add(`Tessera, ${short(g.users)} users: full sign-in`, g.fullSignIn);
    add(`Tessera, ${short(g.users)} users: second step alone`, g.secondStep);
    add(`Tessera, ${short(g.users)} users: session check`, g.sessionCheck);
  }
  if (report.oidc) {
    add('Tessera: OpenID Connect code exchange', report.oidc.codeExchange);
    add('Tessera: OpenID Connect refresh grant', report.oidc.refresh);
    add('Tessera: OpenID Connect userinfo', report.oidc.userinfo);
  }
  add('better-auth: full sign-in', p?.fullSignIn);
  add('better-auth: second step alone', p?.secondStep);
  add('better-auth: session check', p?.sessionCheck);
  if (!rows.length) return out;
  out.push(`### Sizing on ${storeLabel(report)}: cores per 1,000 operations a second`);
  out.push('');
  out.push(
    "CPU ms per operation is also the number of cores that 1,000 operations a second keep busy (ms per operation × 1,000 per second ÷ 1,000 ms per core-second). Measured on this host's cores with the load client beside them; the server's figure includes its argon2id threads. Redis's CPU is not in either column.",
  );
  out.push('');
  out.push(table(['Workload', 'ops/s here', 'server: cores per 1,000/s', 'PostgreSQL: cores per 1,000/s', 'backends busy'], rows));
  out.push('');
  return out;
}

/** This run beside the other store's report: the same figures, both stores. */
function renderStores(report: Report, other: { file: string; report: Report }): string[] {
  const out: string[] = [];
  const a = other.report;
  const b = report;
  const la = storeLabel(a);
  const lb = storeLabel(b);
  const rows: string[][] = [];
  const add = (label: string, get: (r: Report) => number | undefined | null, digits: number, relative = true) => {
    const x = get(a) ?? Number.NaN;
    const y = get(b) ?? Number.NaN;
    rows.push([label, num(x, digits), num(y, digits), relative ? ratio(y, x) : '']);
  };
  const ratioOf = (x: number | undefined, y: number | undefined) => (x !== undefined && y !== undefined && y !== 0 ? x / y : Number.NaN);
  add('argon2id ceiling, verifications/s (mean of before and after)', meanCeiling, 1);
  const workloads = [
    ['Full sign-in', (s: SystemReport) => s.fullSignIn, 1],
    ['Second step alone', (s: SystemReport) => s.secondStep, 0],
    ['Session check', (s: SystemReport) => s.sessionCheck, 0],
  ] as const;
  for (const [name, of, digits] of workloads) {
    add(`${name}: Tessera, ops/s`, (r) => (r.tessera ? of(r.tessera).perSecond : undefined), digits);
    add(`  Tessera p99, ms`, (r) => (r.tessera ? of(r.tessera).p99 : undefined), 1);
    add(`  Tessera server CPU, ms per op`, (r) => (r.tessera ? of(r.tessera).serverCpuMsPerOp : undefined), 2);
    add(`  Tessera PostgreSQL CPU, ms per op`, (r) => (r.tessera ? of(r.tessera).databaseCpuMsPerOp : undefined), 2, false);
    add(`  Tessera peak RSS, MiB`, (r) => (r.tessera ? of(r.tessera).peakRssMiB : undefined), 0);
    add(`  better-auth, ops/s`, (r) => (r.peer ? of(r.peer).perSecond : undefined), digits);
    add(`  better-auth server CPU, ms per op`, (r) => (r.peer ? of(r.peer).serverCpuMsPerOp : undefined), 2);
    add(`  better-auth PostgreSQL CPU, ms per op`, (r) => (r.peer ? of(r.peer).databaseCpuMsPerOp : undefined), 2, false);
    add(`  Tessera ÷ better-auth`, (r) => ratioOf(r.tessera ? of(r.tessera).perSecond : undefined, r.peer ? of(r.peer).perSecond : undefined), 2, false);
  }
  add('Full sign-in ÷ argon2id ceiling', (r) => ratioOf(r.tessera?.fullSignIn.perSecond, meanCeiling(r)), 2, false);
  add('Event-loop delay p99 at 2× overload (max of 2-s windows), ms', (r) => r.overload?.eventLoopP99MaxMs, 1);
  for (const [name, of] of workloads) {
    add(
      `Growth ${short(a.growth[0]?.users ?? b.growth[0]?.users)} → ${short(a.growth.at(-1)?.users ?? b.growth.at(-1)?.users)}: ${name.toLowerCase()} rate change, %`,
      (r) => (r.growth.length > 1 ? 100 * (of(r.growth.at(-1)!).perSecond / of(r.growth[0]!).perSecond - 1) : undefined),
      0,
      false,
    );
  }
  add(
    'Growth: peak RSS, max over sizes and workloads, MiB',
    (r) => (r.growth.length ? Math.max(...r.growth.flatMap((s) => workloads.map(([, of]) => of(s).peakRssMiB ?? 0))) : undefined),
    0,
  );
  add('OpenID Connect refresh grants/s', (r) => r.oidc?.refresh.perSecond, 0);
  add('  server CPU, ms per refresh grant', (r) => r.oidc?.refresh.serverCpuMsPerOp, 2);
  add('  PostgreSQL CPU, ms per refresh grant', (r) => r.oidc?.refresh.databaseCpuMsPerOp, 2, false);
  out.push(`### The two stores side by side: ${la} (${other.file}) and ${lb} (this run)`);
  out.push('');
  out.push(
    `Two runs at different times on a shared host: compare each run's ratios (Tessera ÷ better-auth, ÷ the ceiling) rather than raw rates. The ${la} run's load average at start was ${a.machine.loadAverageAtStart.map((n) => n.toFixed(1)).join(' / ')}, this run's ${b.machine.loadAverageAtStart.map((n) => n.toFixed(1)).join(' / ')}.`,
  );
  out.push('');
  out.push(table(['Figure', la, lb, `${lb} ÷ ${la}`], rows));
  out.push('');
  return out;
}
