// `npm run bench:webhooks` (issue 26, "Measure"): webhook deliveries from one Tessera
// instance to a receiver on this machine. Two figures:
// - the delay from an action to its delivery: an admin script (an API token) invites
//   people at a steady rate; each invitation's `user.invited` event is timed from the
//   API's answer to the receiver's arrival (p50, p99);
// - deliveries per second: a backlog of deliveries written straight into the database
//   (as queued actions leave them), drained by the server's webhook worker, with the
//   server's CPU per delivery.
// The receiver checks nothing and answers 200 at once. Tessera runs as `npm start`
// runs it, in production mode, on SQLite in a temporary directory.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { newId } from '../src/crypto/tokens.js';
import { openStore } from '../src/store/database.js';
import { percentiles } from './lib/load.js';
import { cpuDelta, peakRssMiB, snapshot, stopServer, type Server } from './lib/proc.js';
import { freePort } from './lib/system.js';
import { ACCOUNT_SLUG, PASSWORD } from './lib/users.js';
import { prepareTessera, tesseraEnv } from './tessera/system.js';

const BENCH_ROOT = fileURLToPath(new URL('.', import.meta.url));
const CORES = availableParallelism();
const ADMIN = 'admin@bench.test';

interface Options {
  quick: boolean;
  /** Invitations a second while the delay is measured. */
  rate: number;
  seconds: number;
  backlog: number;
  keep: boolean;
}

function parseOptions(argv: string[]): Options {
  const value = (name: string): string | undefined => argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  for (const arg of argv) {
    if (!['--quick', '--keep', '--help'].includes(arg) && !/^--(rate|seconds|backlog)=/.test(arg)) throw new Error(`unknown option ${arg}; see README.md`);
  }
  if (argv.includes('--help')) {
    process.stdout.write(
      'Usage: npm run bench:webhooks [-- options]\n  --quick       a smoke test (5 s of actions, a backlog of 1,000)\n  --rate=N      actions a second while the delay is measured (default 20)\n  --seconds=S   seconds of actions (default 30, quick 5)\n  --backlog=N   deliveries drained for the rate (default 10000, quick 1000)\n  --keep        keep the temporary data directory\n',
    );
    process.exit(0);
  }
  const quick = argv.includes('--quick');
  const options = {
    quick,
    rate: Number(value('rate') ?? 20),
    seconds: Number(value('seconds') ?? (quick ? 5 : 30)),
    backlog: Number(value('backlog') ?? (quick ? 1000 : 10_000)),
    keep: argv.includes('--keep'),
  };
  if (!(options.rate > 0) || !(options.seconds > 0) || !(options.backlog >= 100)) throw new Error('bad --rate, --seconds or --backlog (≥ 100)');
  return options;
}

const started = Date.now();
function log(line: string): void {
  process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
}

/** The receiver: when each delivery arrived, by its webhook-id and by the invited email. */
class Receiver {
  readonly byId = new Map<string, number>();
  readonly byEmail = new Map<string, number>();
  requests = 0;
  private readonly server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const at = performance.now();
      this.requests += 1;
      const id = String(request.headers['webhook-id']);
      if (!this.byId.has(id)) this.byId.set(id, at);
      try {
        const email = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data?: { user?: { email?: string } } }).data?.user?.email;
        if (email && !this.byEmail.has(email)) this.byEmail.set(email, at);
      } catch {
        // a body that is not JSON still counts as arrived
      }
      response.writeHead(204).end();
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

async function api(origin: string, method: string, path: string, body: unknown, token?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${origin}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await sleep(5);
  }
  return true;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const workDir = mkdtempSync(join(tmpdir(), 'tessera-bench-webhooks-'));
  const startedAt = new Date().toISOString();
  const load = loadavg().map((n) => n.toFixed(2));
  log(`work directory ${workDir}; load average ${load.join(' ')} on ${CORES} cores`);
  const receiver = new Receiver();
  const receiverUrl = await receiver.start();
  const dataDir = join(workDir, 'tessera');
  mkdirSync(dataDir);
  const port = await freePort();
  const keys = { encryptionKeys: `k1:${randomBytes(32).toString('base64')}`, hmacKey: randomBytes(32).toString('base64') };
  const env = { ...tesseraEnv(dataDir, port, keys), TESSERA_OUTBOUND_ALLOW: '127.0.0.1/32' };
  let server: Server | null = null;
  try {
    const serve = await prepareTessera({ env, port, logFile: join(workDir, 'tessera.log'), person: { email: ADMIN, role: 'admin', name: 'Bench Admin' } });
    server = await serve();
    const origin = server.origin;
    const session = (await api(origin, 'POST', '/api/v1/sign-in', { account: ACCOUNT_SLUG, email: ADMIN, password: PASSWORD })).json.session_token as string;
    const confirm = { method: 'password', code: PASSWORD };
    const token = (await api(origin, 'POST', '/api/v1/admin/api-tokens', { name: 'bench', scopes: ['users:write'], expires_in_days: 1, ...confirm }, session))
      .json.token as string;
    const webhook = await api(origin, 'POST', '/api/v1/admin/webhooks', { url: receiverUrl, events: ['user.invited'], ...confirm }, session);
    if (webhook.status !== 200 || typeof token !== 'string') throw new Error(`set-up failed: ${JSON.stringify(webhook.json)}`);

    // 1. Delay: invitations at a steady rate, each timed from its answer to its delivery.
    log(`delay: ${options.rate} invitations a second for ${options.seconds} s`);
    const acknowledged = new Map<string, number>();
    const total = Math.round(options.rate * options.seconds);
    const t0 = performance.now();
    const sends: Promise<void>[] = [];
    for (let i = 0; i < total; i += 1) {
      const due = t0 + (i * 1000) / options.rate;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const email = `invited${i}@bench.test`;
      sends.push(
        api(origin, 'POST', '/api/v1/admin/users', { email, role: 'agent' }, token).then((response) => {
          if (response.status === 200) acknowledged.set(email, performance.now());
        }),
      );
    }
    await Promise.all(sends);
    await until(() => [...acknowledged.keys()].every((email) => receiver.byEmail.has(email)), 60_000);
    const delays = [...acknowledged].flatMap(([email, at]) => (receiver.byEmail.has(email) ? [receiver.byEmail.get(email)! - at] : []));
    const delay = percentiles(delays);

    // 2. Rate: a backlog written straight into the database, drained by the server.
    log(`rate: a backlog of ${options.backlog} deliveries`);
    const store = openStore(`sqlite:${join(dataDir, 'tessera.db')}`);
    const before = receiver.requests;
    let drain: { seconds: number; delivered: number; cpuMsPerDelivery: number; otherShare: number };
    try {
      const template = await store.db.selectFrom('webhook_deliveries').selectAll().limit(1).executeTakeFirstOrThrow();
      const now = Date.now();
      const rows = Array.from({ length: options.backlog }, () => ({
        ...template,
        id: newId(),
        event_id: `msg_${newId()}`,
        status: 'pending' as const,
        attempts: 0,
        next_attempt_at: now,
        claimed_until: null,
        last_response_status: null,
        last_error: null,
        delivered_at: null,
        created_at: now,
      }));
      const cpuBefore = snapshot(server.pid);
      const drainStart = performance.now();
      for (let i = 0; i < rows.length; i += 500)
        await store.db
          .insertInto('webhook_deliveries')
          .values(rows.slice(i, i + 500))
          .execute();
      const done = await until(() => receiver.requests - before >= options.backlog, 600_000);
      const seconds = (performance.now() - drainStart) / 1000;
      const cpuAfter = snapshot(server.pid);
      const cpu = cpuDelta(cpuBefore, cpuAfter, CORES);
      const delivered = receiver.requests - before;
      if (!done) log(`only ${delivered} of ${options.backlog} arrived within 10 minutes`);
      drain = { seconds, delivered, cpuMsPerDelivery: cpu.serverMs / delivered, otherShare: cpu.otherShare };
    } finally {
      await store.close();
    }
    const rss = peakRssMiB(server.pid);

    const report = [
      `# Webhook deliveries from one instance (${startedAt})`,
      '',
      `Settings: ${JSON.stringify({ ...options, cores: CORES, loadAverageAtStart: load.join(' ') })}`,
      '',
      '| Measure | Value |',
      '|---|---:|',
      `| Actions (invitations through an API token) | ${total} at ${options.rate}/s, ${acknowledged.size} answered 200 |`,
      `| Delay from the answer to the delivery, p50 | ${delay.p50.toFixed(0)} ms |`,
      `| Delay, p90 | ${delay.p90.toFixed(0)} ms |`,
      `| Delay, p99 | ${delay.p99.toFixed(0)} ms |`,
      `| Delay, max | ${delay.max.toFixed(0)} ms |`,
      `| Backlog drained | ${drain.delivered} deliveries in ${drain.seconds.toFixed(1)} s |`,
      `| Deliveries per second | ${(drain.delivered / drain.seconds).toFixed(0)} |`,
      `| Server CPU per delivery | ${drain.cpuMsPerDelivery.toFixed(2)} ms |`,
      `| Other processes, share of the CPU while draining | ${(100 * drain.otherShare).toFixed(0)}% |`,
      `| Server peak RSS | ${rss.toFixed(0)} MiB |`,
      '',
    ].join('\n');
    process.stdout.write(`\n${report}\n`);
    if (!options.quick) {
      const resultsDir = join(BENCH_ROOT, 'results');
      mkdirSync(resultsDir, { recursive: true });
      const file = join(resultsDir, `webhooks-${startedAt.replace(/[:.]/g, '-').replace(/-\d{3}Z$/, 'Z')}.md`);
      writeFileSync(file, report);
      log(`report written to ${file}`);
    }
  } finally {
    if (server) await stopServer(server);
    await receiver.close();
    if (!options.keep) rmSync(workDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
