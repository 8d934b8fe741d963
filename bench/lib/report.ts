// The printed report: Markdown tables (readable in a terminal, pasteable in README.md).

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

export function renderReport(report: Report): string {
  const out: string[] = [];
  const t = report.tessera;
  const p = report.peer;
  const ceilings = report.ceiling.map((c) => c.perSecond);
  const ceiling = ceilings.length ? ceilings.reduce((a, b) => a + b, 0) / ceilings.length : Number.NaN;
  const load = report.machine.loadAverageAtStart;
  const oidcOnly = report.oidc !== null && !t && !p && !report.overload && report.growth.length === 0 && report.ceiling.length === 0;
  out.push(
    `## Tessera ${report.versions.tessera}${oidcOnly ? ': OpenID Connect' : ` vs better-auth ${report.versions.betterAuth}`}${report.quick ? ' (quick run: figures only show that it works)' : ''}`,
  );
  out.push('');
  out.push(
    `${report.startedAt.slice(0, 16).replace('T', ' ')} UTC · ${report.machine.cores} cores · Node ${report.machine.node} · better-sqlite3 ${report.versions.betterSqlite3} · @node-rs/argon2 ${report.versions.argon2} · ` +
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
        `≥ 0.9 × argon2id ceiling: ${ratio(t.fullSignIn.perSecond, ceiling)} of ${num(ceiling, 1)}/s, ${mark(t.fullSignIn.perSecond >= 0.9 * ceiling)}`,
      ),
      row('  p50, ms', (s) => s.fullSignIn.p50, 0),
      row('  p99, ms', (s) => s.fullSignIn.p99, 0),
      row('  server CPU, ms per flow', (s) => s.fullSignIn.serverCpuMsPerOp, 1),
      row('  peak RSS, MiB', (s) => s.fullSignIn.peakRssMiB ?? Number.NaN, 0),
      row(
        'Second step alone, verifications/s',
        (s) => s.secondStep.perSecond,
        0,
        `≥ 10× peer: ${mark(p ? t.secondStep.perSecond >= 10 * p.secondStep.perSecond : null)}`,
      ),
      row('  p99, ms', (s) => s.secondStep.p99, 1),
      row('  server CPU, ms per verification', (s) => s.secondStep.serverCpuMsPerOp, 2),
      row('  peak RSS, MiB', (s) => s.secondStep.peakRssMiB ?? Number.NaN, 0),
      row(
        'Session check, requests/s',
        (s) => s.sessionCheck.perSecond,
        0,
        `≥ 10× peer: ${mark(p ? t.sessionCheck.perSecond >= 10 * p.sessionCheck.perSecond : null)}`,
      ),
      row('  p99, ms', (s) => s.sessionCheck.p99, 1),
      row('  server CPU, ms per check', (s) => s.sessionCheck.serverCpuMsPerOp, 2),
      row('  peak RSS, MiB', (s) => s.sessionCheck.peakRssMiB ?? Number.NaN, 0),
    ];
    const peakTessera = Math.max(...[t.fullSignIn, t.secondStep, t.sessionCheck].map((w) => w.peakRssMiB ?? 0));
    rows[4]![4] = `Tessera ≤ 150 MiB in every workload (max ${num(peakTessera)}): ${mark(peakTessera <= 150)}`;
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
    out.push(table(['Workload', 'Tessera', 'better-auth', 'Tessera ÷ better-auth', 'Target (issue 10)'], rows));
    out.push('');
    out.push(
      'Latency ratios: below 1× means Tessera answers faster. CPU is the server process only (utime+stime from /proc, argon2 threads included); peak RSS is VmHWM, reset before each workload.',
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
  }
  for (const note of report.notes) out.push(`- ${note}`);
  return `${out.join('\n')}\n`;
}
